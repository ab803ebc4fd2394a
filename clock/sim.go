package clock

import (
	"sync"
	"sync/atomic"
	"time"
)

// Sim is a deterministic clock for simulation and tests. It starts at a given
// instant and moves only through Set and Add; nothing about it depends on the
// wall clock or on goroutine scheduling. It may be moved backwards, as an NTP
// correction would. Sim is safe for concurrent use; reading it costs one
// atomic load.
//
// Sim is also a Waiter: After registers a deadline that Set and Add fire,
// synchronously, when the clock reaches it. BlockUntil, Waiters and Next let
// a test see what the code under test is waiting for, so that it can move the
// clock exactly when and as far as it means to, with no real-time sleeps.
type Sim struct {
	nanos atomic.Int64 // Unix nanoseconds: covers 1678 to 2262

	// mu orders every move of the clock with every registration, so that a
	// waiter is never registered with a deadline the clock has already
	// passed without firing it. Now does not take it.
	mu      sync.Mutex
	waiters waitHeap
	seq     uint64        // registration counter: breaks deadline ties
	added   chan struct{} // closed and replaced by every registration
}

// NewSim returns a Sim reading start.
func NewSim(start time.Time) *Sim {
	s := &Sim{}
	s.Set(start)
	return s
}

// Now returns the current simulated instant, in UTC.
func (s *Sim) Now() time.Time { return time.Unix(0, s.nanos.Load()).UTC() }

// Set moves the clock to t, forwards or backwards, then fires every waiter
// whose deadline is at or before t. Moving backwards fires nothing.
func (s *Sim) Set(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nanos.Store(t.UnixNano())
	s.fire()
}

// Add moves the clock by d, which may be negative, then fires every waiter
// whose deadline is at or before the new reading.
func (s *Sim) Add(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nanos.Add(int64(d))
	s.fire()
}

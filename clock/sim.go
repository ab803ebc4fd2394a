package clock

import (
	"sync/atomic"
	"time"
)

// Sim is a deterministic clock for simulation and tests. It starts at a given
// instant and moves only through Set and Add; nothing about it depends on the
// wall clock or on goroutine scheduling. It may be moved backwards, as an NTP
// correction would. Sim is safe for concurrent use; reading it costs one
// atomic load.
type Sim struct {
	nanos atomic.Int64 // Unix nanoseconds: covers 1678 to 2262
}

// NewSim returns a Sim reading start.
func NewSim(start time.Time) *Sim {
	s := &Sim{}
	s.Set(start)
	return s
}

// Now returns the current simulated instant, in UTC.
func (s *Sim) Now() time.Time { return time.Unix(0, s.nanos.Load()).UTC() }

// Set moves the clock to t, forwards or backwards.
func (s *Sim) Set(t time.Time) { s.nanos.Store(t.UnixNano()) }

// Add moves the clock by d, which may be negative.
func (s *Sim) Add(d time.Duration) { s.nanos.Add(int64(d)) }

package clock

import (
	"container/heap"
	"context"
	"math"
	"time"

	bclock "github.com/benbjohnson/clock"
)

// Waiter is a Clock that code can also wait on. Background tasks take a
// Waiter rather than calling time.After so that a test can drive their
// schedule with a Sim: the task waits on simulated time, the test moves it.
type Waiter interface {
	Clock
	// After returns a channel that receives one value once d has passed on
	// this clock. The channel is buffered, so the clock never blocks on a
	// receiver that has gone away.
	After(d time.Duration) <-chan time.Time
}

// Compile-time checks that the real clock, benbjohnson/clock's Mock and Sim
// can be waited on.
var (
	_ Waiter = bclock.New()
	_ Waiter = (*bclock.Mock)(nil)
	_ Waiter = (*Sim)(nil)
)

// After returns a channel that receives a value when the clock reaches
// now+d. A d of zero or less fires at once, without registering. Otherwise
// the waiter stays registered until a Set or Add reaches its deadline, which
// then sends the deadline itself (not the clock's final reading), as if the
// clock had stopped there on its way; waiters reached by one move fire in
// deadline order, ties in registration order. A waiter whose receiver has
// given up stays registered until it fires, and counts in Waiters.
func (s *Sim) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nanos.Load()
	if d <= 0 {
		ch <- time.Unix(0, now).UTC()
		return ch
	}
	deadline := now + int64(d)
	if deadline < now { // past 2262: a deadline the clock can still reach
		deadline = math.MaxInt64
	}
	s.seq++
	heap.Push(&s.waiters, waiter{deadline: deadline, seq: s.seq, ch: ch})
	if s.added != nil {
		close(s.added)
		s.added = nil
	}
	return ch
}

// Waiters returns how many waiters are registered and not yet fired.
func (s *Sim) Waiters() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}

// Next returns the earliest pending deadline, and false if nothing waits.
// Setting the clock to it fires exactly the waiters due first.
func (s *Sim) Next() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, s.waiters[0].deadline).UTC(), true
}

// BlockUntil returns once at least n waiters are registered, or ctx's error
// if ctx ends first. It is the handshake that makes a test deterministic:
// once it returns, the goroutine under test has reached its wait (and done
// everything before it), so the test can move the clock knowing what it will
// fire. It is woken by registrations, never by polling.
func (s *Sim) BlockUntil(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if len(s.waiters) >= n {
			s.mu.Unlock()
			return nil
		}
		if s.added == nil {
			s.added = make(chan struct{})
		}
		added := s.added
		s.mu.Unlock()
		select {
		case <-added:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fire sends to and forgets every waiter whose deadline the clock has
// reached. The caller holds s.mu.
func (s *Sim) fire() {
	now := s.nanos.Load()
	for len(s.waiters) > 0 && s.waiters[0].deadline <= now {
		w := heap.Pop(&s.waiters).(waiter)
		w.ch <- time.Unix(0, w.deadline).UTC() // buffered, sent once: never blocks
	}
}

// waiter is one pending After.
type waiter struct {
	deadline int64 // Unix nanoseconds
	seq      uint64
	ch       chan time.Time
}

// waitHeap orders waiters by deadline, then registration.
type waitHeap []waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].deadline != h[j].deadline {
		return h[i].deadline < h[j].deadline
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *waitHeap) Push(x any)   { *h = append(*h, x.(waiter)) }
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = waiter{} // drop the channel for the collector
	*h = old[:len(old)-1]
	return w
}

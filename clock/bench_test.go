package clock_test

import (
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
)

// Now is read by every store operation the simulator makes; it must stay one
// atomic load.
func BenchmarkSimNow(b *testing.B) {
	s := clock.NewSim(w0)
	for b.Loop() {
		_ = s.Now()
	}
}

// Add is called on every clock step of a simulation: with no waiters it
// costs an uncontended lock on top of the atomic add.
func BenchmarkSimAdd(b *testing.B) {
	s := clock.NewSim(w0)
	for b.Loop() {
		s.Add(time.Microsecond)
	}
}

// One After and the Add that fires it: what a paced sweeper costs per step.
func BenchmarkSimAfterFire(b *testing.B) {
	s := clock.NewSim(w0)
	for b.Loop() {
		c := s.After(time.Millisecond)
		s.Add(time.Millisecond)
		<-c
	}
}

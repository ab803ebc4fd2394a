package clock_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hourglass-go/hourglass/clock"
)

var w0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fired returns what c holds, without waiting: Sim fires synchronously, so
// whatever a move fired is already in the channel when the move returns.
func fired(c <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-c:
		return t, true
	default:
		return time.Time{}, false
	}
}

func TestAfterFiresAtDeadlineNotBefore(t *testing.T) {
	s := clock.NewSim(w0)
	c := s.After(time.Second)
	s.Add(time.Second - time.Nanosecond)
	if got, ok := fired(c); ok {
		t.Fatalf("fired at %v, 1ns before its deadline", got)
	}
	s.Add(time.Nanosecond)
	got, ok := fired(c)
	if !ok || !got.Equal(w0.Add(time.Second)) {
		t.Fatalf("at the deadline got (%v, %v), want (%v, true)", got, ok, w0.Add(time.Second))
	}
	if _, ok := fired(c); ok {
		t.Fatal("a waiter fired twice")
	}
}

func TestAddPastSeveralDeadlines(t *testing.T) {
	s := clock.NewSim(w0)
	d := []time.Duration{3 * time.Second, time.Second, 10 * time.Second, 2 * time.Second}
	cs := make([]<-chan time.Time, len(d))
	for i, di := range d {
		cs[i] = s.After(di)
	}
	if n := s.Waiters(); n != 4 {
		t.Fatalf("Waiters() = %d, want 4", n)
	}
	s.Add(5 * time.Second)
	for i, di := range d {
		got, ok := fired(cs[i])
		if di > 5*time.Second {
			if ok {
				t.Errorf("waiter for %v fired at +5s", di)
			}
			continue
		}
		// Each receives its own deadline, not the clock's final reading.
		if !ok || !got.Equal(w0.Add(di)) {
			t.Errorf("waiter for %v: got (%v, %v), want (%v, true)", di, got, ok, w0.Add(di))
		}
	}
	if n := s.Waiters(); n != 1 {
		t.Fatalf("Waiters() = %d after firing three, want 1", n)
	}
	if next, ok := s.Next(); !ok || !next.Equal(w0.Add(10*time.Second)) {
		t.Fatalf("Next() = (%v, %v), want (%v, true)", next, ok, w0.Add(10*time.Second))
	}
	if !s.Now().Equal(w0.Add(5 * time.Second)) {
		t.Fatalf("Now() = %v, want %v", s.Now(), w0.Add(5*time.Second))
	}
}

// Stepping to Next each time fires waiters one deadline at a time, in order.
func TestNextStepsThroughDeadlinesInOrder(t *testing.T) {
	s := clock.NewSim(w0)
	d := []time.Duration{5, 1, 4, 2, 3}
	cs := make(map[time.Duration]<-chan time.Time)
	for _, di := range d {
		cs[di*time.Second] = s.After(di * time.Second)
	}
	for want := time.Second; want <= 5*time.Second; want += time.Second {
		next, ok := s.Next()
		if !ok || !next.Equal(w0.Add(want)) {
			t.Fatalf("Next() = (%v, %v), want (%v, true)", next, ok, w0.Add(want))
		}
		s.Set(next)
		for di, c := range cs {
			_, ok := fired(c)
			if ok != (di == want) {
				t.Fatalf("at +%v the waiter for %v fired = %v", want, di, ok)
			}
		}
	}
	if next, ok := s.Next(); ok {
		t.Fatalf("Next() = %v with nothing pending", next)
	}
}

func TestBackwardsSetFiresNothing(t *testing.T) {
	s := clock.NewSim(w0)
	c := s.After(time.Second)
	s.Set(w0.Add(-time.Hour))
	s.Add(-time.Minute)
	if _, ok := fired(c); ok {
		t.Fatal("moving backwards fired a waiter")
	}
	// The deadline is absolute: it is still w0+1s, now an hour and more away.
	if next, ok := s.Next(); !ok || !next.Equal(w0.Add(time.Second)) {
		t.Fatalf("Next() = (%v, %v), want (%v, true)", next, ok, w0.Add(time.Second))
	}
	// A waiter registered now counts from the new, earlier reading.
	early := s.After(time.Second)
	s.Set(w0)
	if got, ok := fired(early); !ok || !got.Equal(w0.Add(-time.Hour-time.Minute+time.Second)) {
		t.Fatalf("early waiter got (%v, %v)", got, ok)
	}
	if _, ok := fired(c); ok {
		t.Fatal("the waiter for w0+1s fired at w0")
	}
	s.Set(w0.Add(time.Second))
	if _, ok := fired(c); !ok {
		t.Fatal("the waiter for w0+1s did not fire on reaching it")
	}
}

func TestAfterNonPositiveFiresAtOnce(t *testing.T) {
	s := clock.NewSim(w0)
	for _, d := range []time.Duration{0, -time.Second} {
		got, ok := fired(s.After(d))
		if !ok || !got.Equal(w0) {
			t.Fatalf("After(%v): got (%v, %v), want (%v, true)", d, got, ok, w0)
		}
	}
	if n := s.Waiters(); n != 0 {
		t.Fatalf("Waiters() = %d, want 0: a waiter fired at once is not registered", n)
	}
}

// A deadline past what int64 nanoseconds can hold is clamped, not wrapped
// into the past.
func TestAfterDeadlineOverflowClamps(t *testing.T) {
	s := clock.NewSim(time.Date(2260, 1, 1, 0, 0, 0, 0, time.UTC))
	c := s.After(time.Duration(math.MaxInt64))
	s.Add(time.Hour)
	if _, ok := fired(c); ok {
		t.Fatal("an overflowing deadline fired")
	}
	if next, ok := s.Next(); !ok || next.UnixNano() != math.MaxInt64 {
		t.Fatalf("Next() = (%v, %v), want the last representable instant", next, ok)
	}
}

func TestBlockUntilWaitsForAGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := clock.NewSim(w0)
		woke := make(chan time.Time)
		go func() {
			for range 3 {
				woke <- <-s.After(time.Minute)
			}
			close(woke)
		}()
		for i := range 3 {
			if err := s.BlockUntil(ctx, 1); err != nil {
				t.Fatal(err)
			}
			s.Add(time.Minute)
			if got, want := <-woke, w0.Add(time.Duration(i+1)*time.Minute); !got.Equal(want) {
				t.Fatalf("wake %d at %v, want %v", i, got, want)
			}
		}
		if _, ok := <-woke; ok {
			t.Fatal("goroutine woke a fourth time")
		}
		if n := s.Waiters(); n != 0 {
			t.Fatalf("Waiters() = %d, want 0", n)
		}
	})
}

func TestBlockUntilReturnsAtOnceWhenEnoughWait(t *testing.T) {
	s := clock.NewSim(w0)
	s.After(time.Second)
	s.After(time.Second)
	if err := s.BlockUntil(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	if err := s.BlockUntil(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
}

func TestBlockUntilEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := clock.NewSim(w0)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error)
		go func() { errc <- s.BlockUntil(ctx, 1) }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("BlockUntil = %v, want context.Canceled", err)
		}
	})
}

// Many goroutines register while the clock moves and is read: every waiter
// fires exactly once, at its deadline. Run with -race.
func TestWaitersUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, rounds = 8, 50
		ctx := t.Context()
		s := clock.NewSim(w0)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for r := range rounds {
					got := <-s.After(time.Millisecond)
					if want := w0.Add(time.Duration(r+1) * time.Millisecond); !got.Equal(want) {
						errs <- errors.New("woke at " + got.String() + ", want " + want.String())
						return
					}
					_ = s.Now()
				}
			})
		}
		for range rounds {
			if err := s.BlockUntil(ctx, workers); err != nil {
				t.Fatal(err)
			}
			s.Add(time.Millisecond)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

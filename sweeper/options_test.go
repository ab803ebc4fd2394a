package sweeper_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/sweeper"
)

func TestInvalidOptionsStartNothing(t *testing.T) {
	cases := []struct {
		name  string
		opts  sweeper.Options
		field string
		limit bool // also store.ErrInvalidLimit
		msg   string
	}{
		{"zero interval", sweeper.Options{}, "Interval", false,
			"sweeper: invalid options: Interval is 0s, want > 0"},
		{"negative interval", sweeper.Options{Interval: -time.Second}, "Interval", false,
			"sweeper: invalid options: Interval is -1s, want > 0"},
		{"negative batch", sweeper.Options{Interval: time.Minute, Batch: -1}, "Batch", true,
			"sweeper: invalid options: Batch is -1, want > 0 (or 0 for 1000)"},
		{"negative pause", sweeper.Options{Interval: time.Minute, Pause: -time.Millisecond}, "Pause", false,
			"sweeper: invalid options: Pause is -1ms, want >= 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// In a bubble, so that a goroutine started by mistake would be
			// seen waiting on the clock, and reported as leaked at the end.
			synctest.Test(t, func(t *testing.T) {
				clk := clock.NewSim(t0)
				fs := &flaky{Store: memstore.New(memstore.Options{Clock: clk}), fail: func(int) error { return nil }}
				c.opts.Clock = clk
				w, err := sweeper.Start(t.Context(), fs, c.opts)
				if w != nil {
					t.Fatal("Start returned a Sweeper with an error")
				}
				if !errors.Is(err, sweeper.ErrInvalidOptions) {
					t.Fatalf("err = %v, want ErrInvalidOptions", err)
				}
				if errors.Is(err, store.ErrInvalidLimit) != c.limit {
					t.Fatalf("errors.Is(%v, store.ErrInvalidLimit) = %v, want %v", err, !c.limit, c.limit)
				}
				var oe *sweeper.OptionError
				if !errors.As(err, &oe) || oe.Field != c.field {
					t.Fatalf("err = %#v, want an *OptionError for %s", err, c.field)
				}
				if err.Error() != c.msg {
					t.Fatalf("message %q, want %q", err.Error(), c.msg)
				}
				synctest.Wait()
				if n := clk.Waiters(); n != 0 {
					t.Fatalf("%d waiters on the clock: something started", n)
				}
				if n := fs.Calls(); n != 0 {
					t.Fatalf("the store was called %d times", n)
				}
			})
		})
	}
}

func TestNilStore(t *testing.T) {
	w, err := sweeper.Start(t.Context(), nil, sweeper.Options{Interval: time.Minute})
	if w != nil || !errors.Is(err, sweeper.ErrNilStore) {
		t.Fatalf("Start(nil store) = (%v, %v), want (nil, ErrNilStore)", w, err)
	}
}

// Batch 0 means DefaultBatch, which a paced run's steps show.
func TestZeroBatchMeansDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 2*sweeper.DefaultBatch+1, 0)
		w, err := sweeper.Start(t.Context(), ms, sweeper.Options{
			Interval: time.Minute, Pause: time.Second, Clock: clk, Logger: (&logBuffer{}).logger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		for _, want := range []int{sweeper.DefaultBatch + 1, 1, 0} {
			advance(t, clk)
			if n := ms.Len(); n != want {
				t.Fatalf("Len() = %d, want %d", n, want)
			}
		}
		wantStats(t, counts(w.Stats()), sweeperStats{Runs: 1, Steps: 3, Removed: 2*sweeper.DefaultBatch + 1})
	})
}

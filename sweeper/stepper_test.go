package sweeper_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/sweeper"
)

// stepping is a memstore whose sweep is taken a batch at a time through
// store.Stepper, counting how the sweeper calls it.
type stepping struct {
	*memstore.Store
	sweeps, nexts, deletes atomic.Int32
}

func (s *stepping) DeleteExpired(ctx context.Context, limit int) (int, error) {
	s.deletes.Add(1)
	return s.Store.DeleteExpired(ctx, limit)
}

func (s *stepping) NewSweep() store.SweepSteps {
	s.sweeps.Add(1)
	return steps{s}
}

type steps struct{ s *stepping }

func (w steps) Next(ctx context.Context, batch int) (int, bool, error) {
	w.s.nexts.Add(1)
	n, err := w.s.Store.DeleteExpired(ctx, batch)
	return n, n < batch, err
}

// A paced run on a backend that is a store.Stepper takes one sweep, batch
// by batch (pgstore's resume where the last batch ended), rather than
// calling DeleteExpired, on the same schedule.
func TestPacedRunUsesTheBackendsSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 2500, 0)
		s := &stepping{Store: ms}
		w, err := sweeper.Start(t.Context(), s, sweeper.Options{Interval: time.Minute, Batch: 1000, Pause: time.Second, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		start := clk.Now()
		for range 3 {
			advance(t, clk)
		}
		settle(t, clk)
		if gone := clk.Now(); !gone.Equal(start.Add(time.Minute + 2*time.Second)) {
			t.Fatalf("backlog gone at %v, want start+1m2s", gone.Sub(start))
		}
		wantStats(t, counts(w.Stats()), sweeperStats{Runs: 1, Steps: 3, Removed: 2500})
		if s.sweeps.Load() != 1 || s.nexts.Load() != 3 || s.deletes.Load() != 0 {
			t.Fatalf("sweeps %d, nexts %d, DeleteExpired calls %d; want 1, 3, 0", s.sweeps.Load(), s.nexts.Load(), s.deletes.Load())
		}
		if ms.Len() != 0 {
			t.Fatalf("Len() = %d, want 0", ms.Len())
		}
	})
}

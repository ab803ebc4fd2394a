package sweeper_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/sweeper"
)

// Like every test here that starts a sweeper, these run in a synctest
// bubble: if Stop or Wait hung, every goroutine would be blocked and
// synctest would fail the test at once, and a goroutine still running when
// the test function returns fails it too. That is the leak check.

func TestStopWhileWaitingForTheInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 10, 0)
		var logs logBuffer
		w, err := sweeper.Start(t.Context(), ms, sweeper.Options{Interval: time.Minute, Clock: clk, Logger: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		settle(t, clk)
		w.Stop()
		w.Wait() // returns at once once stopped
		w.Stop() // idempotent
		clk.Add(time.Hour)
		if n := ms.Len(); n != 10 {
			t.Fatalf("a stopped sweeper removed records: Len() = %d", n)
		}
		wantStats(t, counts(w.Stats()), sweeperStats{})
		wantLines(t, logs.lines())
	})
}

func TestContextEndStopsTheSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 10, 0)
		ctx, cancel := context.WithCancel(t.Context())
		w, err := sweeper.Start(ctx, ms, sweeper.Options{Interval: time.Minute, Clock: clk, Logger: (&logBuffer{}).logger()})
		if err != nil {
			t.Fatal(err)
		}
		settle(t, clk)
		cancel()
		w.Wait()
		wantStats(t, counts(w.Stats()), sweeperStats{})
	})
}

// Stopping during a pause ends the run there: what it removed is counted,
// but it is neither a finished run nor an error.
func TestStopDuringAPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 3000, 0)
		var logs logBuffer
		var rl runLog
		w, err := sweeper.Start(t.Context(), ms, sweeper.Options{
			Interval: time.Minute, Batch: 1000, Pause: time.Second, Clock: clk, Logger: logs.logger(), OnRun: rl.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		advance(t, clk) // first step, then the pause
		w.Stop()
		wantStats(t, counts(w.Stats()), sweeperStats{Steps: 1, Removed: 1000})
		if st := w.Stats(); st.LastErr != nil {
			t.Fatalf("LastErr = %v, want nil: stopping is not a failure", st.LastErr)
		}
		if runs := rl.get(); len(runs) != 0 {
			t.Fatalf("OnRun saw %+v for a run cut short", runs)
		}
		wantLines(t, logs.lines(), `level=DEBUG msg="hourglass sweeper: run stopped" removed=1000 steps=1`)
	})
}

// blocking is a store whose DeleteExpired blocks until its context ends, as
// a call to an unresponsive database would.
type blocking struct {
	store.Store
	entered chan struct{}
}

func (b *blocking) DeleteExpired(ctx context.Context, limit int) (int, error) {
	b.entered <- struct{}{}
	<-ctx.Done()
	return 0, ctx.Err()
}

// Stop cancels a store call in flight and does not wait for the database.
func TestStopCancelsAStoreCallInFlight(t *testing.T) {
	for _, pause := range []time.Duration{0, time.Second} {
		synctest.Test(t, func(t *testing.T) {
			clk := clock.NewSim(t0)
			bs := &blocking{Store: memstore.New(memstore.Options{Clock: clk}), entered: make(chan struct{})}
			var logs logBuffer
			w, err := sweeper.Start(t.Context(), bs, sweeper.Options{
				Interval: time.Minute, Pause: pause, Clock: clk, Logger: logs.logger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			settle(t, clk)
			clk.Add(time.Minute)
			<-bs.entered
			w.Stop()
			wantStats(t, counts(w.Stats()), sweeperStats{Steps: 1})
			wantLines(t, logs.lines(), `level=DEBUG msg="hourglass sweeper: run stopped" removed=0 steps=1`)
		})
	}
}

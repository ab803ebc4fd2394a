package sweeper_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/sweeper"
)

// A failing run is counted and logged, and the sweeper tries again one
// Interval later, neither sooner nor never.
func TestFailedRunsAreCountedLoggedAndRetriedNextInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 2500, 3)
		start := clk.Now()
		reset := store.Ambiguous(errors.New("connection reset"))
		fs := &flaky{Store: ms, fail: func(call int) error {
			if call <= 2 {
				return reset
			}
			return nil
		}}
		var logs logBuffer
		w, err := sweeper.Start(t.Context(), fs, sweeper.Options{
			Interval: time.Minute, Batch: 1000, Clock: clk, Logger: logs.logger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)

		const warn = `level=WARN msg="hourglass sweeper: run failed" removed=0 steps=1 ` +
			`error="outcome unknown (may have been applied): connection reset" ambiguous=true retry_in=1m0s`
		for i := 1; i <= 2; i++ {
			at := advance(t, clk)
			if want := start.Add(time.Duration(i) * time.Minute); !at.Equal(want) {
				t.Fatalf("run %d at %v, want %v", i, at, want)
			}
			if n := fs.Calls(); n != i {
				t.Fatalf("after run %d the store was called %d times, want %d", i, n, i)
			}
			wantNext(t, clk, at.Add(time.Minute))
			st := w.Stats()
			wantStats(t, counts(st), sweeperStats{Runs: i, Errors: i, Steps: i})
			if st.LastErr != reset || st.Last.Err != reset {
				t.Fatalf("LastErr %v, Last.Err %v, want %v", st.LastErr, st.Last.Err, reset)
			}
			if n := ms.Len(); n != 2503 {
				t.Fatalf("Len() = %d, want 2503", n)
			}
		}
		wantLines(t, logs.lines(), warn, warn)

		advance(t, clk) // the store has recovered
		if n := ms.Len(); n != 3 {
			t.Fatalf("Len() = %d after the store recovered, want 3", n)
		}
		st := w.Stats()
		wantStats(t, counts(st), sweeperStats{Runs: 3, Errors: 2, Steps: 3, Removed: 2500})
		if st.LastErr != reset || st.Last.Err != nil {
			t.Fatalf("LastErr %v, Last.Err %v: want the old error kept and the last run clean", st.LastErr, st.Last.Err)
		}
		wantLines(t, logs.lines(), warn, warn,
			`level=DEBUG msg="hourglass sweeper: run" removed=2500 steps=1 took=0s`)
	})
}

// A step failing in the middle of a paced run ends the run, with what the
// earlier steps removed in the log; the next run comes an Interval after the
// failure and finishes the job.
func TestFailedStepEndsPacedRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 5000, 0)
		start := clk.Now()
		refused := errors.New("too many connections")
		fs := &flaky{Store: ms, fail: func(call int) error {
			if call == 3 {
				return refused
			}
			return nil
		}}
		var logs logBuffer
		w, err := sweeper.Start(t.Context(), fs, sweeper.Options{
			Interval: time.Minute, Batch: 1000, Pause: 100 * time.Millisecond, Clock: clk, Logger: logs.logger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)

		for range 3 {
			advance(t, clk)
		}
		failed := start.Add(time.Minute + 200*time.Millisecond)
		if !clk.Now().Equal(failed) {
			t.Fatalf("third step at %v, want %v", clk.Now(), failed)
		}
		if n := ms.Len(); n != 3000 {
			t.Fatalf("Len() = %d, want 3000", n)
		}
		wantNext(t, clk, failed.Add(time.Minute))
		wantStats(t, counts(w.Stats()), sweeperStats{Runs: 1, Errors: 1, Steps: 3, Removed: 2000})
		wantLines(t, logs.lines(), `level=WARN msg="hourglass sweeper: run failed" removed=2000 steps=3 `+
			`error="too many connections" ambiguous=false retry_in=1m0s`)

		for _, want := range []int{2000, 1000, 0, 0} {
			advance(t, clk)
			if n := ms.Len(); n != want {
				t.Fatalf("Len() = %d, want %d", n, want)
			}
		}
		wantNext(t, clk, failed.Add(time.Minute+300*time.Millisecond+time.Minute))
		wantStats(t, counts(w.Stats()), sweeperStats{Runs: 2, Errors: 1, Steps: 7, Removed: 5000})
	})
}

// A store that always fails is tried once per Interval, never in a loop.
func TestAlwaysFailingStoreIsTriedOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 10, 0)
		start := clk.Now()
		down := errors.New("database is down")
		fs := &flaky{Store: ms, fail: func(int) error { return down }}
		for _, pause := range []time.Duration{0, time.Second} {
			w, err := sweeper.Start(t.Context(), fs, sweeper.Options{
				Interval: 5 * time.Minute, Pause: pause, Clock: clk, Logger: (&logBuffer{}).logger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			before := fs.Calls()
			from := clk.Now()
			for i := 1; i <= 10; i++ {
				at := advance(t, clk)
				if want := from.Add(time.Duration(i) * 5 * time.Minute); !at.Equal(want) {
					t.Fatalf("pause %v: try %d at start+%v, want start+%v", pause, i, at.Sub(start), want.Sub(start))
				}
				if n := fs.Calls() - before; n != i {
					t.Fatalf("pause %v: %d calls after %d runs", pause, n, i)
				}
			}
			wantStats(t, counts(w.Stats()), sweeperStats{Runs: 10, Errors: 10, Steps: 10})
			w.Stop()
			// The stopped sweeper's wait stays registered on the Sim: move past it
			// so the next sweeper is the clock's only waiter.
			next, _ := clk.Next()
			clk.Set(next)
		}
	})
}

package sweeper_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hourglass-go/hourglass/sweeper"
)

func counts(s sweeper.Stats) sweeperStats {
	return sweeperStats{Runs: s.Runs, Errors: s.Errors, Steps: s.Steps, Removed: s.Removed}
}

// runLog keeps what OnRun reports; OnRun runs on the sweeper's goroutine.
type runLog struct {
	mu   sync.Mutex
	runs []sweeper.Run
}

func (l *runLog) add(r sweeper.Run) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, r)
}

func (l *runLog) get() []sweeper.Run {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sweeper.Run(nil), l.runs...)
}

// The acceptance test: a backlog of 100,000 expired records, Interval 1m,
// Batch 1000, Pause 100ms. The first run starts at start+1m and takes 100
// full steps with a pause after each: step k runs at start+1m+(k-1)*100ms,
// so the backlog is gone at start+1m+9.9s and not one step before; a 101st
// step at +10s finds nothing and ends the run, and the next run is due an
// Interval later.
func TestPacedRunClearsBacklogExactlyOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const expired, live, batch = 100_000, 7, 1000
		const pause = 100 * time.Millisecond
		ms, clk := backlog(t, expired, live)
		start := clk.Now()
		var rl runLog
		var logs logBuffer
		w, err := sweeper.Start(t.Context(), ms, sweeper.Options{
			Interval: time.Minute, Batch: batch, Pause: pause,
			Clock: clk, Logger: logs.logger(), OnRun: rl.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)

		settle(t, clk)
		first := start.Add(time.Minute)
		wantNext(t, clk, first)
		clk.Set(first.Add(-time.Nanosecond))
		if n := ms.Len(); n != expired+live {
			t.Fatalf("1ns before the first run Len() = %d, want %d", n, expired+live)
		}

		for k := 1; k <= expired/batch; k++ {
			at := advance(t, clk)
			if want := first.Add(time.Duration(k-1) * pause); !at.Equal(want) {
				t.Fatalf("step %d at %v, want %v", k, at, want)
			}
			if n, want := ms.Len(), expired+live-k*batch; n != want {
				t.Fatalf("after step %d (at start+%v) Len() = %d, want %d", k, at.Sub(start), n, want)
			}
			// A full step is followed by a pause, including the last full one:
			// only a short step shows the backlog is gone.
			wantNext(t, clk, at.Add(pause))
			if k == expired/batch-1 {
				// One step before the end, exactly one batch remains, and
				// stays until the pause is over to the nanosecond.
				if want := start.Add(time.Minute + 9800*time.Millisecond); !at.Equal(want) {
					t.Fatalf("step 99 at %v, want %v", at, want)
				}
				clk.Set(at.Add(pause - time.Nanosecond))
				if n := ms.Len(); n != batch+live {
					t.Fatalf("1ns before the last step Len() = %d, want %d", n, batch+live)
				}
			}
		}
		if gone, want := clk.Now(), start.Add(time.Minute+9900*time.Millisecond); !gone.Equal(want) {
			t.Fatalf("backlog gone at %v, want %v", gone, want)
		}
		if got := counts(w.Stats()); got != (sweeperStats{}) {
			t.Fatalf("stats %+v before the run ended, want zero", got)
		}

		end := advance(t, clk) // the 101st step: nothing left, the run ends
		if want := start.Add(time.Minute + 10*time.Second); !end.Equal(want) {
			t.Fatalf("run ended at %v, want %v", end, want)
		}
		if n := ms.Len(); n != live {
			t.Fatalf("Len() = %d, want the %d live records", n, live)
		}
		wantNext(t, clk, end.Add(time.Minute))
		wantStats(t, counts(w.Stats()), sweeperStats{Runs: 1, Steps: 101, Removed: expired})
		runs := rl.get()
		want := sweeper.Run{Start: first, End: end, Steps: 101, Removed: expired}
		if len(runs) != 1 || runs[0] != want {
			t.Fatalf("OnRun saw %+v, want [%+v]", runs, want)
		}
		wantLines(t, logs.lines(), `level=DEBUG msg="hourglass sweeper: run" removed=100000 steps=101 took=10s`)

		// The next run finds nothing: one short step, and the live records stay.
		advance(t, clk)
		wantNext(t, clk, end.Add(2*time.Minute))
		wantStats(t, counts(w.Stats()), sweeperStats{Runs: 2, Steps: 102, Removed: expired})
		if n := ms.Len(); n != live {
			t.Fatalf("Len() = %d, want %d", n, live)
		}
	})
}

// With no Pause a run is one store.Sweep: the backlog is gone at start+1m.
func TestUnpacedRunClearsBacklogAtTheInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const expired, live = 100_000, 7
		ms, clk := backlog(t, expired, live)
		start := clk.Now()
		w, err := sweeper.Start(t.Context(), ms, sweeper.Options{
			Interval: time.Minute, Batch: 1000, Clock: clk, Logger: (&logBuffer{}).logger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)

		settle(t, clk)
		wantNext(t, clk, start.Add(time.Minute))
		clk.Set(start.Add(time.Minute - time.Nanosecond))
		if n := ms.Len(); n != expired+live {
			t.Fatalf("1ns before the run Len() = %d, want %d", n, expired+live)
		}
		at := advance(t, clk)
		if !at.Equal(start.Add(time.Minute)) {
			t.Fatalf("run at %v, want %v", at, start.Add(time.Minute))
		}
		if n := ms.Len(); n != live {
			t.Fatalf("after the run Len() = %d, want %d", n, live)
		}
		wantNext(t, clk, at.Add(time.Minute))
		wantStats(t, counts(w.Stats()), sweeperStats{Runs: 1, Steps: 1, Removed: expired})
		if last := w.Stats().Last; !last.Start.Equal(at) || !last.End.Equal(at) || last.Err != nil {
			t.Fatalf("last run %+v, want one instant at %v, no error", last, at)
		}
	})
}

// Records that expire between runs are left for the next run, which comes
// an Interval after the previous one ended.
func TestLaterRunsTakeWhatExpiredSince(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, clk := backlog(t, 1500, 0)
		start := clk.Now()
		w, err := sweeper.Start(t.Context(), ms, sweeper.Options{
			Interval: time.Minute, Batch: 1000, Pause: time.Second, Clock: clk, Logger: (&logBuffer{}).logger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		advance(t, clk) // start+1m: 1000
		advance(t, clk) // start+1m+1s: 500, short, the run ends
		if n := ms.Len(); n != 0 {
			t.Fatalf("Len() = %d, want 0", n)
		}
		for i := range 2500 {
			if err := ms.Create(t.Context(), idOf("y", i), nil, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		wantNext(t, clk, start.Add(2*time.Minute+time.Second))
		for _, want := range []int{1500, 500, 0} {
			advance(t, clk)
			if n := ms.Len(); n != want {
				t.Fatalf("at start+%v Len() = %d, want %d", clk.Now().Sub(start), n, want)
			}
		}
		// Second run: 1000, 1000, 500 (short) from start+2m+1s to start+2m+3s.
		wantNext(t, clk, start.Add(3*time.Minute+3*time.Second))
		wantStats(t, counts(w.Stats()), sweeperStats{Runs: 2, Steps: 5, Removed: 4000})
	})
}

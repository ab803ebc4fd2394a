package storetest_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/storetest"
)

// The concurrent phase catches every planted race bug in at least 19 of
// 20 runs. Each run is the phase as storetest.Run runs it; what varies
// between runs is only how the goroutines are scheduled.
func TestConcurrentPhaseCatchesRaceBugs(t *testing.T) {
	const runs = 20
	for _, bug := range mutant.RaceBugs() {
		t.Run(bug.String(), func(t *testing.T) {
			f := func(env sim.Env) (store.Store, error) { return mutant.New(env.Clock, env.Limits, bug), nil }
			caught := 0
			var took []time.Duration
			report := ""
			for range runs {
				begin := time.Now() // for the log only
				ok, msg, err := storetest.CaughtByConcurrentPhase(f)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					caught++
					took = append(took, time.Since(begin))
					report = msg
				}
			}
			if caught < runs-1 {
				t.Fatalf("caught in %d of %d runs, want at least %d", caught, runs, runs-1)
			}
			slices.Sort(took)
			t.Logf("caught in %d of %d runs, median %v to catch; last report:\n%s", caught, runs, took[len(took)/2], report)
		})
	}
}

// A correct backend never fails the phase (TestRunPassesCorrectBackend runs
// it once; this runs it as often as the catch rate above).
func TestConcurrentPhaseHasNoFalseAlarm(t *testing.T) {
	f := func(env sim.Env) (store.Store, error) { return mutant.New(env.Clock, env.Limits, mutant.None), nil }
	for range 20 {
		if ok, msg, err := storetest.CaughtByConcurrentPhase(f); ok || err != nil {
			t.Fatalf("a correct backend failed the concurrent phase (%v):\n%s", err, msg)
		}
	}
}

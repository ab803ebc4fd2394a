package storetest_test

import (
	"flag"
	"testing"

	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/storetest"
)

// The plain reference backend passes the whole suite.
func TestRunPassesCorrectBackend(t *testing.T) {
	storetest.Run(t, func(env sim.Env) (store.Store, error) {
		return mutant.New(env.Clock, env.Limits, mutant.None), nil
	})
}

// The rapid property fails a broken backend: every planted bug is found.
// (The simulation phase is shown catching them in package sim's tests.)
//
// rapid's seed is fixed so the test is deterministic, its fail files are
// turned off because these failures are the point, and it gets 1000 checks
// (rapid's default 100 finds each bug in some runs, not all).
func TestPropertyCatchesBugs(t *testing.T) {
	setFlag(t, "rapid.seed", "1")
	setFlag(t, "rapid.checks", "1000")
	setFlag(t, "rapid.nofailfile", "true")
	for _, bug := range mutant.Bugs() {
		f := func(env sim.Env) (store.Store, error) { return mutant.New(env.Clock, env.Limits, bug), nil }
		failed, msg := propertyFails(t, f)
		if !failed {
			t.Errorf("rapid property did not catch %s", bug)
			continue
		}
		t.Logf("%s caught by rapid: %.200s", bug, msg)
	}
}

// setFlag sets a command-line flag for the duration of the test.
func setFlag(t *testing.T, name, value string) {
	t.Helper()
	old := flag.Lookup(name).Value.String()
	if err := flag.Set(name, value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set(name, old) })
}

// Package storetest verifies a session store backend against the contract
// with one call, as testing/fstest.TestFS does for file systems:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(env sim.Env) (store.Store, error) {
//			return mybackend.New(env.Clock, env.Limits), nil
//		})
//	}
//
// Run drives the simulator (package sim) over many seeds, holding every
// answer of the backend to the reference model, then runs a rapid property
// over traces rapid generates and shrinks itself, then records many short
// histories of 8 clients at once over one to three IDs and checks each for
// linearizability (sim.Record, sim.Check). Every phase includes the
// operations of the optional capabilities the backend has (store.Owners,
// store.Toucher, store.Versioner with its versions, store.Scanner), and
// only those, so a backend without one is checked as it always was. A
// keyed backend (store.Keyer) is held to the orders and handles of its
// stored IDs. A divergence fails the test
// with the seed, what the model expected, what the backend did, and a
// shrunk trace that replays the failure with `go run ./cmd/simrun -replay
// FILE`; a history that is not linearizable fails it with the smallest
// part that shows it, and is saved for `go run ./cmd/simrun -check FILE`.
package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"

	"github.com/hourglass-go/hourglass/sim"
)

// Factory makes an empty backend reading clk and enforcing limits. Run calls
// it for every simulated run and every shrinking step, so make it cheap (an
// in-memory map, a truncated table). A returned store implementing io.Closer
// is closed after its run.
type Factory = sim.Factory

// Options tune Run. The zero value gives the defaults.
type Options struct {
	// Seeds is how many seeds to simulate (default 100).
	Seeds int
	// FirstSeed is the first of them (default 1).
	FirstSeed uint64
	// Ops is the number of operations per seed (default 500).
	Ops int
	// Config is passed to the generator; Ops above takes precedence.
	Config sim.GenConfig
	// Histories is how many concurrent histories the concurrent phase
	// checks (default 400), each of 8 clients running 12 operations on
	// average, seeds FirstSeed onwards.
	Histories int
	// SkipRapid and SkipConcurrency leave out those phases, for backends
	// too slow for them.
	SkipRapid, SkipConcurrency bool
}

func (o Options) withDefaults() Options {
	if o.Seeds <= 0 {
		o.Seeds = 100
	}
	if o.FirstSeed == 0 {
		o.FirstSeed = 1
	}
	if o.Ops > 0 {
		o.Config.Ops = o.Ops
	}
	if o.Histories <= 0 {
		o.Histories = defaultHistories
	}
	return o
}

// Run checks the backend newStore makes against the contract.
func Run(t *testing.T, newStore Factory) { RunWith(t, newStore, Options{}) }

// RunWith is Run with options.
func RunWith(t *testing.T, newStore Factory, opts Options) {
	t.Helper()
	opts = opts.withDefaults()
	// The optional capabilities the backend has are checked too: the
	// generator makes their operations only for a backend that has them.
	cfg, err := sim.Probe(opts.Config, newStore)
	if err != nil {
		t.Fatal(err)
	}
	opts.Config = cfg
	t.Run("Simulation", func(t *testing.T) { simulate(t, newStore, opts) })
	if !opts.SkipRapid {
		t.Run("Rapid", func(t *testing.T) { rapid.Check(t, Property(newStore)) })
	}
	if !opts.SkipConcurrency {
		t.Run("Concurrency", func(t *testing.T) { concurrency(t, newStore, opts) })
	}
}

func simulate(t *testing.T, newStore Factory, opts Options) {
	ctx := context.Background()
	total := 0
	for i := 0; i < opts.Seeds; i++ {
		seed := opts.FirstSeed + uint64(i)
		f, n, err := sim.CheckSeed(ctx, seed, opts.Config, newStore)
		total += n
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if f != nil {
			t.Fatalf("%s\n%s", f, replayHint(t, f))
		}
	}
	t.Logf("%d seeds, %d operations, no divergence", opts.Seeds, total)
}

// replayHint saves the shrunk trace where the user can replay it: in
// $HOURGLASS_TRACE_DIR if set, else in the test's temporary directory (which
// the testing package removes, so the trace is printed above as well).
func replayHint(t *testing.T, f *sim.Failure) string {
	dir := os.Getenv("HOURGLASS_TRACE_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("seed-%d.trace", f.Seed))
	w, err := os.Create(path)
	if err != nil {
		return "could not save the trace: " + err.Error()
	}
	defer w.Close()
	if err := f.Trace.WriteHistory(w, f.Result); err != nil {
		return "could not save the trace: " + err.Error()
	}
	return "shrunk trace saved to " + path + "; replay with: go run ./cmd/simrun -replay " + path + " (set HOURGLASS_TRACE_DIR to keep it)"
}

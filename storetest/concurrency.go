package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hourglass-go/hourglass/sim"
)

// The concurrent phase: many short histories of several clients over very
// few IDs, so that operations collide, each checked for linearizability
// against the model (sim.Record, sim.Check). A backend that does an
// operation in two steps (check, then write) passes every sequential run
// and fails here.
const (
	defaultHistories = 400
	historyClients   = 8
	historyOps       = 12 // per client
)

// concurrentFailure is a history the phase could not pass.
type concurrentFailure struct {
	seed    uint64
	history *sim.History
	check   *sim.Checked
}

func (f *concurrentFailure) String() string {
	return fmt.Sprintf("concurrent history of seed %d (%d clients): %s", f.seed, historyClients, f.check)
}

// concurrentPhase records and checks opts.Histories histories and returns
// the first that is not linearizable, or whose check gave up.
func concurrentPhase(ctx context.Context, newStore Factory, opts Options) (*concurrentFailure, int, error) {
	total := 0
	for i := 0; i < opts.Histories; i++ {
		seed := opts.FirstSeed + uint64(i)
		cfg := opts.Config
		cfg.Clients, cfg.Ops = historyClients, historyOps
		cfg.IDs = 1 + int(seed%3) // one to three IDs: everything collides
		h, err := sim.Record(ctx, sim.Generate(seed, cfg), newStore)
		if err != nil {
			return nil, total, fmt.Errorf("seed %d: %w", seed, err)
		}
		total += len(h.Events)
		if r := sim.Check(h, sim.CheckOptions{}); r.Verdict != sim.Linearizable {
			return &concurrentFailure{seed: seed, history: h, check: r}, total, nil
		}
	}
	return nil, total, nil
}

func concurrency(t *testing.T, newStore Factory, opts Options) {
	f, total, err := concurrentPhase(context.Background(), newStore, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f != nil {
		t.Fatalf("%s\n%s", f, saveHistory(t, f))
	}
	t.Logf("%d histories of %d clients, %d operations, all linearizable", opts.Histories, historyClients, total)
}

// saveHistory saves a failing history where the user can check it again:
// in $HOURGLASS_TRACE_DIR if set, else in the test's temporary directory.
func saveHistory(t *testing.T, f *concurrentFailure) string {
	dir := os.Getenv("HOURGLASS_TRACE_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("seed-%d-clients-%d.history", f.seed, historyClients))
	if err := os.WriteFile(path, []byte(f.history.String()), 0o644); err != nil {
		return "could not save the history: " + err.Error()
	}
	return "history saved to " + path + "; check it again with: go run ./cmd/simrun -check " + path +
		" [-html FILE] (set HOURGLASS_TRACE_DIR to keep it)"
}

package hashid_test

import (
	"context"
	"testing"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/hashid"
	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// layerOps is the method set of the layer over memstore: every capability
// but store.Scanner.
type layerOps interface {
	view.Base
	view.OwnerOps
	view.TouchOps
	view.VersionOps
}

// changeIDTargetUnhashed is the layer with a planted bug: ChangeID hashes
// the session's current ID but moves it to the new ID as given, unhashed.
// Everything else is the real layer's, StoredID included, so the model the
// simulator builds for it is the model of the real layer.
type changeIDTargetUnhashed struct {
	layerOps
	inner store.Store
}

func (m changeIDTargetUnhashed) ChangeID(ctx context.Context, old, new store.ID) error {
	if err := old.Validate(); err != nil {
		return err
	}
	if err := new.Validate(); err != nil {
		return err
	}
	return m.inner.ChangeID(ctx, store.StoredID(m.layerOps, old), new)
}

func mutantFactory(env sim.Env) (store.Store, error) {
	mem := memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits})
	l, err := hashid.New(mem, hashid.Options{})
	if err != nil {
		return nil, err
	}
	return changeIDTargetUnhashed{layerOps: l.(layerOps), inner: mem}, nil
}

// TestSimulatorCatchesUnhashedTarget: the simulator, holding the layer to
// the model of a keyed backend, passes the real layer and catches the
// planted bug, over the same seeds.
func TestSimulatorCatchesUnhashedTarget(t *testing.T) {
	const seeds = 20
	cfg, err := sim.Probe(sim.GenConfig{Ops: 300}, overMemstore(nil))
	if err != nil {
		t.Fatal(err)
	}
	env := sim.Env{Clock: clock.NewSim(t0)}
	real, _ := overMemstore(nil)(env)
	mutant, _ := mutantFactory(env)
	if view.Has(mutant) != view.Has(real) {
		t.Fatalf("the mutant has capabilities %04b, the layer %04b", view.Has(mutant), view.Has(real))
	}
	for seed := range uint64(seeds) {
		f, _, err := sim.CheckSeed(t.Context(), seed, cfg, overMemstore(nil))
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			t.Fatalf("seed %d: false alarm on the real layer:\n%s", seed, f)
		}
	}
	caught := 0
	for seed := range uint64(seeds) {
		f, _, err := sim.CheckSeed(t.Context(), seed, cfg, mutantFactory)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			if caught == 0 {
				t.Logf("caught at seed %d, shrunk to %d operations:\n%s", seed, len(f.Trace.Ops), f)
			}
			caught++
		}
	}
	if caught == 0 {
		t.Fatalf("the unhashed ChangeID target was not caught in %d seeds", seeds)
	}
	t.Logf("caught in %d of %d seeds", caught, seeds)
}

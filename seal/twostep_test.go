package seal_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// The planted bug of a re-encrypting ChangeID done in two steps: it reads
// the session and re-seals its state for the new ID, then moves it with
// that state whatever was written in between (ChangeIDIf at the version
// it finds then, not the one it read). One operation at a time it is
// right, versions included; a write between its two steps is lost. Only
// the concurrent checker can see that, and it must.

// full is everything seal's view over memstore offers.
type full interface {
	store.Owners
	store.Toucher
	store.Versioner
	store.Scanner
	store.Sweeper
	store.CapabilityReporter
	store.Keyer
}

type twoStep struct {
	full
	inner *memstore.Store
	l     *seal.Layer
}

func (w twoStep) ChangeID(ctx context.Context, old, new store.ID) error {
	if err := old.Validate(); err != nil {
		return err
	}
	if err := new.Validate(); err != nil {
		return err
	}
	// Step 1: read and re-seal.
	rec, err := w.inner.Load(ctx, old)
	if err != nil {
		return err
	}
	state, _, err := w.l.Open(old, rec.State)
	if err != nil {
		return store.ErrNotFound
	}
	blob, err := w.l.Seal(new, state)
	if err != nil {
		return err
	}
	// The round trip between two statements, where other clients run.
	runtime.Gosched()
	// Step 2: move, at whatever version the session is at by now.
	now, err := w.inner.Load(ctx, old)
	if err != nil {
		return err
	}
	_, err = w.inner.ChangeIDIf(ctx, old, new, now.Version, blob)
	return err
}

func twoStepFactory(t *testing.T, planted bool) sim.Factory {
	ring := ringOf(t, 2, 1, 2)
	return func(env sim.Env) (store.Store, error) {
		inner := memstore.New(memstore.Options{Clock: env.Clock, Limits: innerLimits(env.Limits)})
		l, err := seal.New(inner, ring, seal.Options{Namespace: "two-step", Limits: env.Limits})
		if err != nil {
			return nil, err
		}
		if !planted {
			return l.Store(), nil
		}
		return twoStep{full: l.Store().(full), inner: inner, l: l}, nil
	}
}

// TestTwoStepChangeIDIsCaught records 8-client histories over one to
// three IDs (the storetest concurrent phase's shape) until one of the
// planted bug is not linearizable, and checks the real layer passes the
// same seeds; the planted bug also passes a sequential run.
func TestTwoStepChangeIDIsCaught(t *testing.T) {
	ctx := context.Background()
	cfg, err := sim.Probe(sim.GenConfig{}, twoStepFactory(t, true))
	if err != nil {
		t.Fatal(err)
	}
	seqCfg := cfg
	seqCfg.Ops = 300
	for seed := range uint64(20) {
		res, err := sim.Run(ctx, sim.Generate(seed, seqCfg), twoStepFactory(t, true))
		if err != nil {
			t.Fatal(err)
		}
		if res.Divergence != nil {
			t.Fatalf("seed %d: one operation at a time the planted bug must look right: %v", seed, res.Divergence)
		}
	}
	cfg.Clients, cfg.Ops = 8, 12
	caught := uint64(0)
	for seed := uint64(1); seed <= 300 && caught == 0; seed++ {
		cfg.IDs = 1 + int(seed%3)
		h, err := sim.Record(ctx, sim.Generate(seed, cfg), twoStepFactory(t, true))
		if err != nil {
			t.Fatal(err)
		}
		if r := sim.Check(h, sim.CheckOptions{}); r.Verdict == sim.NotLinearizable {
			caught = seed
		}
	}
	if caught == 0 {
		t.Fatal("the concurrent checker passed a two-step re-encrypting ChangeID in 300 histories")
	}
	t.Logf("two-step ChangeID caught at seed %d", caught)
	for seed := uint64(1); seed <= caught; seed++ {
		cfg.IDs = 1 + int(seed%3)
		h, err := sim.Record(ctx, sim.Generate(seed, cfg), twoStepFactory(t, false))
		if err != nil {
			t.Fatal(err)
		}
		if r := sim.Check(h, sim.CheckOptions{}); r.Verdict != sim.Linearizable {
			t.Fatalf("seed %d: the real layer: %v", seed, r)
		}
	}
}

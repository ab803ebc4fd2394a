package memstore_test

import (
	"context"
	"testing"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// newMem lets the simulator open a second, skewed instance.
func newMem(env sim.Env) (store.Store, error) {
	m := memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits})
	return sim.Instances(m, func(c clock.Clock) store.Store { return m.WithClock(c) }), nil
}

// The memory backend under every fault profile: no false alarm, and the
// faults really fire.
func TestFaultProfiles(t *testing.T) {
	for _, name := range faults.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			p, err := faults.LookupProfile(name, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			fired := 0
			for seed := uint64(1); seed <= 200; seed++ {
				tr := sim.Generate(seed, sim.GenConfig{Faults: p})
				res, err := sim.Run(context.Background(), tr, newMem)
				if err != nil {
					t.Fatal(err)
				}
				if res.Divergence != nil {
					var b []byte
					t.Fatalf("seed %d: false alarm:\n%s%s", seed, res.Divergence.Error(), append(b, tr.String()...))
				}
				for _, n := range res.Faults {
					fired += n
				}
			}
			switch {
			case name == "server" && fired != 0:
				t.Fatalf("server faults fired %d times on an in-process store, which has no server", fired)
			case name != "server" && name != "none" && fired == 0:
				t.Fatalf("profile %s: no fault fired in 200 seeds", name)
			}
			t.Logf("profile %s: %d faults fired", name, fired)
		})
	}
}

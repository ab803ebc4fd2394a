package sim_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// users is the generator's configuration with every optional capability.
var users = sim.GenConfig{Owners: true, Touch: true}

func withUsers(cfg sim.GenConfig) sim.GenConfig {
	cfg.Owners, cfg.Touch = true, true
	return cfg
}

func TestUserTracesRoundTrip(t *testing.T) {
	for seed := uint64(0); seed < 40; seed++ {
		tr := sim.Generate(seed, withUsers(sim.GenConfig{Ops: 200, Clients: 1 + int(seed%4), Faults: profile(t, "all")}))
		text := tr.String()
		back, err := sim.ParseTrace(strings.NewReader(text))
		if err != nil {
			t.Fatalf("seed %d: parsing own output: %v\n%s", seed, err, text)
		}
		if !reflect.DeepEqual(back, tr) || back.String() != text {
			t.Fatalf("seed %d: trace changed in a round trip", seed)
		}
	}
}

// Without the capabilities a seed's trace is what it always was: the
// generator draws for them only when asked to. (TestVersionsOffKeepsTraces
// holds the traces to checksums taken before versions existed.)
func TestUsersOffKeepsTraces(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		plain := sim.Generate(seed, sim.GenConfig{Ops: 100})
		for _, op := range plain.Ops {
			switch op.(type) {
			case sim.CreateOwned, sim.Cycle, sim.List, sim.Revoke, sim.RevokeAll, sim.Touch, sim.UpdateIf, sim.ChangeIDIf, sim.Scan:
				t.Fatalf("seed %d: %s in a trace without the capabilities", seed, op)
			}
		}
		if plain.Limits.MaxPerOwner != 0 || plain.Versions {
			t.Fatalf("seed %d: a store cap without owners, or versions checked without them", seed)
		}
		with := sim.Generate(seed, withUsers(sim.GenConfig{Ops: 100}))
		if with.String() == plain.String() {
			t.Fatalf("seed %d: the capabilities changed nothing", seed)
		}
		for _, op := range with.Ops {
			switch op.(type) {
			case sim.UpdateIf, sim.ChangeIDIf, sim.Scan:
				t.Fatalf("seed %d: %s in a trace without versions and scans", seed, op)
			}
		}
		all := sim.Generate(seed, withVersions(withUsers(sim.GenConfig{Ops: 100})))
		if all.String() == with.String() || !all.Versions {
			t.Fatalf("seed %d: versions and scans changed nothing", seed)
		}
		scan := sim.Generate(seed, sim.GenConfig{Ops: 100, Scan: true})
		for _, op := range scan.Ops {
			switch op.(type) {
			case sim.UpdateIf, sim.ChangeIDIf:
				t.Fatalf("seed %d: %s in a trace with scans only", seed, op)
			}
		}
		if scan.Versions || !strings.Contains(scan.String(), "\nscan ") {
			t.Fatalf("seed %d: a trace with scans only checks versions, or has no scan", seed)
		}
	}
}

// The generator reaches every operation and outcome worth reaching.
func TestUserOperationsAreReached(t *testing.T) {
	seen := map[string]bool{}
	for seed := uint64(1); seed <= 60; seed++ {
		tr := sim.Generate(seed, withUsers(sim.GenConfig{Ops: 300}))
		res, err := sim.Run(context.Background(), tr, memFactory)
		if err != nil {
			t.Fatal(err)
		}
		if res.Divergence != nil {
			t.Fatalf("seed %d: %v", seed, res.Divergence)
		}
		for i, op := range tr.Ops {
			name, _, _ := strings.Cut(op.String(), " ")
			seen[name+" "+res.Outcomes[i].Kind.String()] = true
			if l := res.Outcomes[i].List; len(l) >= 2 {
				seen["list of several"] = true
			}
		}
	}
	for _, want := range []string{
		"create-owned ok", "create-owned duplicate-id", "create-owned invalid-owner", "create-owned invalid-cap",
		"cycle ok", "cycle not-found", "cycle duplicate-id",
		"list ok", "list of several", "list invalid-owner",
		"revoke ok", "revoke not-found", "revoke-handle invalid-handle",
		"revoke-all ok", "revoke-all invalid-id",
		"touch ok", "touch not-found", "touch invalid-ttl",
	} {
		if !seen[want] {
			t.Errorf("60 seeds never produced %q", want)
		}
	}
}

// A trace with operations a backend lacks fails before anything runs.
func TestMissingCapability(t *testing.T) {
	type bare struct{ store.Store } // hides every optional method
	f := func(env sim.Env) (store.Store, error) {
		return bare{mutant.New(env.Clock, env.Limits, mutant.None)}, nil
	}
	tr := sim.Generate(1, withUsers(sim.GenConfig{Ops: 50}))
	if _, err := sim.Run(context.Background(), tr, f); !errors.Is(err, sim.ErrMissingCapability) {
		t.Fatalf("Run: %v, want ErrMissingCapability", err)
	}
	if _, err := sim.Record(context.Background(), sim.Generate(1, withUsers(sim.GenConfig{Ops: 20, Clients: 2})), f); !errors.Is(err, sim.ErrMissingCapability) {
		t.Fatalf("Record: %v, want ErrMissingCapability", err)
	}
	cfg, err := sim.Probe(sim.GenConfig{}, f)
	if err != nil || cfg.Owners || cfg.Touch {
		t.Fatalf("Probe of a bare store: %+v, %v", cfg, err)
	}
	if _, err := sim.Probe(users, f); !errors.Is(err, sim.ErrMissingCapability) {
		t.Fatalf("Probe asked for owners: %v", err)
	}
	cfg, err = sim.Probe(sim.GenConfig{}, memFactory)
	if err != nil || !cfg.Owners || !cfg.Touch {
		t.Fatalf("Probe of memstore: %+v, %v", cfg, err)
	}
}

func TestUserOperationsCorrectBackendsPass(t *testing.T) {
	backends := map[string]sim.Factory{"memstore": memFactory, "plain": plain(mutant.None)}
	for name, f := range backends {
		for _, p := range []string{"none", "all"} {
			t.Run(name+"/"+p, func(t *testing.T) {
				t.Parallel()
				for seed := uint64(1); seed <= 200; seed++ {
					fl, _, err := sim.CheckSeed(context.Background(), seed, withUsers(sim.GenConfig{Ops: 300, Faults: profile(t, p)}), f)
					if err != nil || fl != nil {
						t.Fatalf("seed %d: %v\n%s", seed, err, fl)
					}
				}
				for seed := uint64(1); seed <= 30; seed++ {
					h, r := record(t, seed, withUsers(sim.GenConfig{Ops: 100, Clients: 8, Faults: profile(t, p)}), f)
					if r.Verdict != sim.Linearizable {
						t.Fatalf("seed %d: %s\n%s", seed, r, h)
					}
				}
			})
		}
	}
}

// A history of the per-user operations, its outcomes included, reads back
// as it was written and checks the same.
func TestUserHistoryRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		h, r := record(t, seed, withUsers(sim.GenConfig{Ops: 60, Clients: 4, Faults: profile(t, "all")}), memFactory)
		text := h.String()
		back, err := sim.ParseHistory(strings.NewReader(text))
		if err != nil {
			t.Fatalf("seed %d: parsing own history: %v\n%s", seed, err, text)
		}
		if back.String() != text {
			t.Fatalf("seed %d: history changed in a round trip", seed)
		}
		if again := sim.Check(back, sim.CheckOptions{}); again.String() != r.String() {
			t.Fatalf("seed %d: checks differently after a round trip:\n%s\n%s", seed, r, again)
		}
	}
}

// A history pgstore gave for `simrun -backend postgres -clients 8 -faults
// store`, seed 126: 4,129 operations with sweeps running beside the
// owners' operations and 113 ambiguous failures. When every owner
// operation made the running sweeps take their steps first, the worlds
// outgrew what a check tracks and the verdict was unknown; a sweep's
// steps now wait unless one of the owner's records is one they could take.
func TestOwnerOperationsBesideSweepsAreChecked(t *testing.T) {
	f, err := os.Open("testdata/owners-beside-sweeps.history")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := sim.ParseHistory(f)
	if err != nil {
		t.Fatal(err)
	}
	if r := sim.Check(h, sim.CheckOptions{}); r.Verdict != sim.Linearizable {
		t.Fatalf("%s", r)
	}
}

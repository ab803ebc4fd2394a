package sim_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// reversed stores each session under its ID reversed, as a layer that
// stores a derived key (package hashid) does: its orders and handles
// follow the reversed IDs, which byte order sorts differently ("ab" < "b"
// but "ba" > "b"). Reversal keeps an ID valid or invalid as it was, so
// validation answers as the inner store's. It cannot scan: it would hand
// out IDs in the wrong order.
type reversed struct{ in *mutant.Store }

func rev(id store.ID) store.ID {
	b := []byte(id)
	slices.Reverse(b)
	return store.ID(b)
}

func revAll(ids []store.ID) []store.ID {
	out := make([]store.ID, len(ids))
	for i, id := range ids {
		out[i] = rev(id)
	}
	return out
}

// Create and CreateOwned hand the inner store the caller's fields to number
// the session from (store.WithVersionSeed), as every layer that changes
// the ID does: the model numbers it from the ID the caller gave.
func (s reversed) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	ctx = store.WithVersionSeed(ctx, id, "", state)
	return s.in.Create(ctx, rev(id), state, ttl)
}
func (s reversed) Load(ctx context.Context, id store.ID) (store.Record, error) {
	return s.in.Load(ctx, rev(id))
}
func (s reversed) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	return s.in.Update(ctx, rev(id), state, ttl)
}
func (s reversed) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	return s.in.UpdateTTL(ctx, rev(id), ttl)
}
func (s reversed) Delete(ctx context.Context, id store.ID) error { return s.in.Delete(ctx, rev(id)) }
func (s reversed) ChangeID(ctx context.Context, old, new store.ID) error {
	return s.in.ChangeID(ctx, rev(old), rev(new))
}
func (s reversed) DeleteExpired(ctx context.Context, limit int) (int, error) {
	return s.in.DeleteExpired(ctx, limit)
}
func (s reversed) Sweep(ctx context.Context, batch int) (int, error) { return s.in.Sweep(ctx, batch) }
func (s reversed) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	ctx = store.WithVersionSeed(ctx, id, owner, state)
	return s.in.CreateOwned(ctx, rev(id), owner, state, ttl, cap)
}
func (s reversed) Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return s.in.Cycle(ctx, rev(old), rev(new), owner, state, ttl, cap)
}
func (s reversed) List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	return s.in.List(ctx, owner)
}
func (s reversed) Revoke(ctx context.Context, owner store.Owner, h store.Handle) error {
	return s.in.Revoke(ctx, owner, h)
}
func (s reversed) RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error) {
	return s.in.RevokeAll(ctx, owner, revAll(except)...)
}
func (s reversed) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	return s.in.Touch(ctx, rev(id), ttl, resolution)
}
func (s reversed) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	return s.in.UpdateIf(ctx, rev(id), version, state, ttl)
}
func (s reversed) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	return s.in.ChangeIDIf(ctx, rev(old), rev(new), version, state)
}

// keyed is reversed saying so (store.Keyer).
type keyed struct{ reversed }

func (keyed) StoredID(id store.ID) store.ID { return rev(id) }

func keyedFactory(env sim.Env) (store.Store, error) {
	return keyed{reversed{mutant.New(env.Clock, env.Limits, mutant.None)}}, nil
}

// A keyed backend is checked exactly: the model breaks ties and makes
// handles by its stored IDs, and Revoke passes the handle HandleFor gives.
func TestKeyedBackendPasses(t *testing.T) {
	cfg, err := sim.Probe(sim.GenConfig{Ops: 300}, keyedFactory)
	if err != nil || !cfg.Owners || !cfg.Versions || cfg.Scan {
		t.Fatalf("Probe: %+v, %v", cfg, err)
	}
	for _, p := range []string{"none", "all"} {
		cfg.Faults = profile(t, p)
		for seed := uint64(1); seed <= 200; seed++ {
			if fl, _, err := sim.CheckSeed(context.Background(), seed, cfg, keyedFactory); err != nil || fl != nil {
				t.Fatalf("%s, seed %d: %v\n%s", p, seed, err, fl)
			}
		}
	}
	conc := cfg
	conc.Ops, conc.Clients, conc.Faults = 100, 8, profile(t, "all")
	keyedIDs := 0
	for seed := uint64(1); seed <= 30; seed++ {
		h, r := record(t, seed, conc, keyedFactory)
		if r.Verdict != sim.Linearizable {
			t.Fatalf("seed %d: %s\n%s", seed, r, h)
		}
		for id, key := range h.StoredIDs {
			if key != rev(id) || key == id {
				t.Fatalf("seed %d: stored ID of %s recorded as %s", seed, id, key)
			}
		}
		// A pool of one-letter IDs stores each under itself.
		keyedIDs += len(h.StoredIDs)
		// Its text keeps them: checked offline, it checks the same.
		text := h.String()
		back, err := sim.ParseHistory(strings.NewReader(text))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if back.String() != text || len(back.StoredIDs) != len(h.StoredIDs) {
			t.Fatalf("seed %d: the history changed in a round trip", seed)
		}
		if again := sim.Check(back, sim.CheckOptions{}); again.String() != r.String() {
			t.Fatalf("seed %d: checks differently after a round trip:\n%s\n%s", seed, r, again)
		}
	}
	if keyedIDs < 30 {
		t.Fatalf("30 histories recorded %d stored IDs other than the IDs", keyedIDs)
	}
}

// The same backend, not saying that it is keyed, is caught: its lists'
// handles and its orders are not those of the IDs. This is what a layer
// that forgets to forward StoredID looks like to the checker.
func TestUnannouncedKeyIsCaught(t *testing.T) {
	f := func(env sim.Env) (store.Store, error) {
		return reversed{mutant.New(env.Clock, env.Limits, mutant.None)}, nil
	}
	cfg := withUsers(sim.GenConfig{Ops: 300})
	for seed := uint64(1); seed <= 50; seed++ {
		fl, _, err := sim.CheckSeed(context.Background(), seed, cfg, f)
		if err != nil {
			t.Fatal(err)
		}
		if fl != nil {
			t.Logf("caught at seed %d:\n%s", seed, fl)
			return
		}
	}
	t.Fatal("a backend keyed without saying so passed 50 seeds")
}

// A history of a keyed backend without its stored IDs is checked as one
// of a plain backend, and fails: the stored IDs are part of the history.
func TestKeyedHistoryNeedsItsStoredIDs(t *testing.T) {
	cfg := withUsers(sim.GenConfig{Ops: 100, Clients: 4})
	for seed := uint64(1); seed <= 30; seed++ {
		h, r := record(t, seed, cfg, keyedFactory)
		if r.Verdict != sim.Linearizable {
			t.Fatalf("seed %d: %s", seed, r)
		}
		h.StoredIDs = nil
		if r := sim.Check(h, sim.CheckOptions{}); r.Verdict == sim.NotLinearizable {
			t.Logf("without its stored IDs, seed %d: %s", seed, r.Reason)
			return
		}
	}
	t.Fatal("30 histories of a keyed backend checked the same without their stored IDs")
}

// unseeded is keyed forgetting to hand its caller's fields down
// (store.WithVersionSeed): the inner store numbers each session from the
// reversed ID, and its versions are not the model's.
type unseeded struct{ keyed }

func (s unseeded) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	return s.in.Create(ctx, rev(id), state, ttl)
}
func (s unseeded) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return s.in.CreateOwned(ctx, rev(id), owner, state, ttl, cap)
}

// A keyed layer that does not pass the version seed is caught: the first
// version the backend reports is not store.FirstVersion of what the
// caller created.
func TestUnseededKeyIsCaught(t *testing.T) {
	f := func(env sim.Env) (store.Store, error) {
		return unseeded{keyed{reversed{mutant.New(env.Clock, env.Limits, mutant.None)}}}, nil
	}
	cfg, err := sim.Probe(sim.GenConfig{Ops: 100}, f)
	if err != nil || !cfg.Versions {
		t.Fatalf("Probe: %+v, %v", cfg, err)
	}
	for seed := uint64(1); seed <= 20; seed++ {
		fl, _, err := sim.CheckSeed(context.Background(), seed, cfg, f)
		if err != nil {
			t.Fatal(err)
		}
		if fl != nil {
			t.Logf("caught at seed %d:\n%s", seed, fl)
			return
		}
	}
	t.Fatal("a keyed backend numbering sessions from its stored IDs passed 20 seeds")
}

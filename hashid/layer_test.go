package hashid_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/hashid"
	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

var testKey = []byte(strings.Repeat("k", hashid.MinKeyLen))

// hashOf is the stored ID by the package's definition, computed here
// independently of it.
func hashOf(key []byte, id store.ID) store.ID {
	msg := []byte("hourglass/hashid\x00" + string(id))
	var sum []byte
	if len(key) == 0 {
		s := sha256.Sum256(msg)
		sum = s[:]
	} else {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		sum = m.Sum(nil)
	}
	return store.ID(base64.RawURLEncoding.EncodeToString(sum))
}

// step is one call, made on the layer and on the model alike; advance
// moves the clock first.
type step struct {
	advance time.Duration
	name    string
	call    func(ctx context.Context, s store.Store) (any, error)
}

const alice store.Owner = "alice"

// calls returns a call of every operation through the layer, valid and
// invalid, with the IDs they name.
func calls() ([]step, []store.ID) {
	st := []byte("state")
	ids := []store.ID{"a", "b", "c", "d", "e", "f", "g", "t1", "t2", "t3", "t4"}
	ow := func(s store.Store) store.Owners { return s.(store.Owners) }
	to := func(s store.Store) store.Toucher { return s.(store.Toucher) }
	ve := func(s store.Store) store.Versioner { return s.(store.Versioner) }
	none := func(err error) (any, error) { return nil, err }
	// The first versions of the sessions the conditional writes name,
	// from the clock the steps move: c is created a second in, for ten
	// minutes, and t3 three seconds in, for a minute.
	firstC := store.FirstVersion("c", alice, st, t0.Add(time.Second+10*time.Minute))
	firstT3 := store.FirstVersion("t3", "", st, t0.Add(3*time.Second+time.Minute))
	steps := []step{
		{0, "Create a", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Create(ctx, "a", st, 10*time.Minute))
		}},
		{0, "Create a again", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Create(ctx, "a", st, 10*time.Minute))
		}},
		{0, "Load a", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "a") }},
		{time.Second, "Update a", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Update(ctx, "a", []byte("two"), 20*time.Minute))
		}},
		{0, "UpdateTTL a", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.UpdateTTL(ctx, "a", 30*time.Minute))
		}},
		{0, "ChangeID a b", func(ctx context.Context, s store.Store) (any, error) { return none(s.ChangeID(ctx, "a", "b")) }},
		{0, "Load a", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "a") }},
		{0, "Load b", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "b") }},
		{0, "CreateOwned c", func(ctx context.Context, s store.Store) (any, error) {
			return none(ow(s).CreateOwned(ctx, "c", alice, st, 10*time.Minute, 0))
		}},
		{0, "CreateOwned d", func(ctx context.Context, s store.Store) (any, error) {
			return none(ow(s).CreateOwned(ctx, "d", alice, st, 10*time.Minute, 0))
		}},
		{time.Second, "Cycle b e", func(ctx context.Context, s store.Store) (any, error) {
			return none(ow(s).Cycle(ctx, "b", "e", alice, []byte("in"), 10*time.Minute, 0))
		}},
		{0, "List", func(ctx context.Context, s store.Store) (any, error) { return ow(s).List(ctx, alice) }},
		{0, "Load e", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "e") }},
		{time.Second, "Touch c", func(ctx context.Context, s store.Store) (any, error) { return to(s).Touch(ctx, "c", time.Hour, 0) }},
		{0, "UpdateIf c stale", func(ctx context.Context, s store.Store) (any, error) {
			return ve(s).UpdateIf(ctx, "c", firstC, []byte("x"), time.Hour) // the Touch wrote
		}},
		{0, "UpdateIf c", func(ctx context.Context, s store.Store) (any, error) {
			return ve(s).UpdateIf(ctx, "c", firstC+1, []byte("x"), store.KeepTTL)
		}},
		{0, "ChangeIDIf c f", func(ctx context.Context, s store.Store) (any, error) {
			return ve(s).ChangeIDIf(ctx, "c", "f", firstC+2, []byte("y"))
		}},
		{0, "Load f", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "f") }},
		{0, "List", func(ctx context.Context, s store.Store) (any, error) { return ow(s).List(ctx, alice) }},
		{0, "RevokeAll except f", func(ctx context.Context, s store.Store) (any, error) { return ow(s).RevokeAll(ctx, alice, "f") }},
		{0, "Load f", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "f") }},
		{0, "Revoke f", func(ctx context.Context, s store.Store) (any, error) {
			return none(ow(s).Revoke(ctx, alice, store.HandleFor(s, "f")))
		}},
		{0, "Create g", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Create(ctx, "g", st, time.Minute))
		}},
		{0, "Delete g", func(ctx context.Context, s store.Store) (any, error) { return none(s.Delete(ctx, "g")) }},
		// Four sessions expiring at one instant: which one a limited
		// DeleteExpired takes is the stored IDs' order.
		{0, "Create t1", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Create(ctx, "t1", st, time.Minute))
		}},
		{0, "Create t2", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Create(ctx, "t2", st, time.Minute))
		}},
		{0, "Create t3", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Create(ctx, "t3", st, time.Minute))
		}},
		{0, "Create t4", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Create(ctx, "t4", st, time.Minute))
		}},
		{time.Minute, "DeleteExpired 1", func(ctx context.Context, s store.Store) (any, error) { return s.DeleteExpired(ctx, 1) }},
		// Back a second: what is still held of t1..t4 is live again, and
		// the backend's scan shows which one went (t2, with either key;
		// in the IDs' own order it would be t1).
		{-time.Second, "Load t1", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "t1") }},
		{0, "Load t2", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "t2") }},
		{time.Second, "Sweep 1", func(ctx context.Context, s store.Store) (any, error) { return store.Sweep(ctx, s, 1) }},
		{0, "CreateOwned t1 over an expired record", func(ctx context.Context, s store.Store) (any, error) {
			return none(ow(s).CreateOwned(ctx, "t1", alice, st, time.Minute, 0))
		}},
		{-time.Second, "Load t3", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "t3") }},
		{0, "Load t4", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "t4") }},

		// Invalid arguments: the layer's error is the model's (the
		// contract's order), and nothing reaches the backend.
		{0, "Create invalid, too large, bad TTL", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Create(ctx, "bad id", make([]byte, 1<<21), -1))
		}},
		{0, "Create valid, bad TTL", func(ctx context.Context, s store.Store) (any, error) { return none(s.Create(ctx, "h", st, -1)) }},
		{0, "Load empty", func(ctx context.Context, s store.Store) (any, error) { return s.Load(ctx, "") }},
		{0, "Update long", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.Update(ctx, store.ID(strings.Repeat("x", 129)), st, time.Minute))
		}},
		{0, "UpdateTTL invalid", func(ctx context.Context, s store.Store) (any, error) {
			return none(s.UpdateTTL(ctx, "a/b", time.Minute))
		}},
		{0, "Delete invalid", func(ctx context.Context, s store.Store) (any, error) { return none(s.Delete(ctx, "a.b")) }},
		{0, "ChangeID invalid old", func(ctx context.Context, s store.Store) (any, error) { return none(s.ChangeID(ctx, "a b", "t3")) }},
		{0, "ChangeID invalid new", func(ctx context.Context, s store.Store) (any, error) { return none(s.ChangeID(ctx, "t3", "a b")) }},
		{0, "CreateOwned invalid ID and owner", func(ctx context.Context, s store.Store) (any, error) {
			return none(ow(s).CreateOwned(ctx, "!", "", st, time.Minute, -1))
		}},
		{0, "CreateOwned invalid owner", func(ctx context.Context, s store.Store) (any, error) {
			return none(ow(s).CreateOwned(ctx, "h", "", st, time.Minute, 0))
		}},
		{0, "Cycle invalid new, owner", func(ctx context.Context, s store.Store) (any, error) {
			return none(ow(s).Cycle(ctx, "t3", "!", "\x00", st, time.Minute, 0))
		}},
		{0, "RevokeAll invalid owner and ID", func(ctx context.Context, s store.Store) (any, error) { return ow(s).RevokeAll(ctx, "", "!") }},
		{0, "RevokeAll invalid ID", func(ctx context.Context, s store.Store) (any, error) { return ow(s).RevokeAll(ctx, alice, "t3", "!") }},
		{0, "Touch invalid ID and resolution", func(ctx context.Context, s store.Store) (any, error) {
			return to(s).Touch(ctx, "!", time.Minute, -1)
		}},
		{0, "Touch invalid resolution", func(ctx context.Context, s store.Store) (any, error) { return to(s).Touch(ctx, "t3", time.Minute, -1) }},
		{0, "UpdateIf invalid ID, version", func(ctx context.Context, s store.Store) (any, error) {
			return ve(s).UpdateIf(ctx, "!", 0, st, time.Minute)
		}},
		{0, "UpdateIf invalid version", func(ctx context.Context, s store.Store) (any, error) {
			return ve(s).UpdateIf(ctx, "t3", 0, st, time.Minute)
		}},
		{0, "ChangeIDIf invalid new, version", func(ctx context.Context, s store.Store) (any, error) {
			return ve(s).ChangeIDIf(ctx, "t3", "!", 0, st)
		}},
		{0, "ChangeIDIf to itself", func(ctx context.Context, s store.Store) (any, error) {
			return ve(s).ChangeIDIf(ctx, "t3", "t3", firstT3, st)
		}},
	}
	return steps, ids
}

// TestEveryOperationStoresOnlyHashes runs every operation through the
// layer over memstore and, beside it, on the model of a keyed backend.
// After each call the answers must agree and the backend must hold
// exactly the hashes of the live sessions' IDs: no ID, and no session
// under anything else.
func TestEveryOperationStoresOnlyHashes(t *testing.T) {
	for _, key := range [][]byte{nil, testKey} {
		t.Run(fmt.Sprintf("key %d bytes", len(key)), func(t *testing.T) {
			ctx := t.Context()
			clk := clock.NewSim(t0)
			mem := memstore.New(memstore.Options{Clock: clk})
			l, err := hashid.New(mem, hashid.Options{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			if want := view.Owners | view.Toucher | view.Versioner | view.Scanner; view.Has(mem) != want {
				t.Fatalf("memstore has capabilities %04b, the test needs %04b", view.Has(mem), want)
			}
			if got, want := view.Has(l), view.Owners|view.Toucher|view.Versioner; got != want {
				t.Fatalf("the layer has capabilities %04b, want %04b (memstore's but Scanner)", got, want)
			}
			ref := modelStore{m: model.New(store.Limits{}, model.WithKey(func(id store.ID) store.ID { return hashOf(key, id) })), clk: clk}
			steps, ids := calls()
			for i, s := range steps {
				clk.Add(s.advance)
				got, gotErr := s.call(ctx, l)
				want, wantErr := s.call(ctx, ref)
				if !sameError(gotErr, wantErr) || !sameResult(got, want) {
					t.Fatalf("step %d, %s: layer %v, %v; model %v, %v", i, s.name, got, gotErr, want, wantErr)
				}
				if err := holdsOnlyHashes(ctx, mem, ref, key, ids); err != nil {
					t.Fatalf("after step %d, %s: %v", i, s.name, err)
				}
			}
			if mem.Len() != ref.m.Len() {
				t.Errorf("the backend holds %d records, the model %d", mem.Len(), ref.m.Len())
			}
		})
	}
}

// holdsOnlyHashes checks that inner's live sessions are exactly the
// hashes of the IDs live in the model, and that no ID is among them.
func holdsOnlyHashes(ctx context.Context, inner store.Scanner, ref modelStore, key []byte, ids []store.ID) error {
	held, err := inner.Scan(ctx, "", 1000)
	if err != nil {
		return err
	}
	var want []store.ID
	for _, id := range ids {
		if slices.Contains(held, id) {
			return fmt.Errorf("the backend holds the session ID %q", id)
		}
		if _, err := ref.Load(ctx, id); err == nil {
			want = append(want, hashOf(key, id))
		}
	}
	slices.Sort(want)
	if !slices.Equal(held, want) {
		return fmt.Errorf("the backend holds %q, want the hashes %q", held, want)
	}
	return nil
}

// sentinels are the errors the contract names; two errors are the same
// when they wrap the same one.
var sentinels = []error{store.ErrNotFound, store.ErrDuplicateID, store.ErrConflict, store.ErrInvalidID,
	store.ErrInvalidTTL, store.ErrTooLarge, store.ErrInvalidLimit, store.ErrInvalidOwner, store.ErrInvalidCap,
	store.ErrInvalidHandle, store.ErrInvalidVersion}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	for _, s := range sentinels {
		if errors.Is(a, s) {
			return errors.Is(b, s)
		}
	}
	return false
}

func sameResult(a, b any) bool {
	switch a := a.(type) {
	case store.Record:
		return a.Equal(b.(store.Record))
	case []store.OwnedSession:
		b := b.([]store.OwnedSession)
		return slices.EqualFunc(a, b, func(x, y store.OwnedSession) bool {
			return x.Handle == y.Handle && x.Expires.Equal(y.Expires)
		})
	}
	return a == b
}

// TestListShowsHandleFor: the handle an application computes for its own
// session with HandleFor is the one List shows.
func TestListShowsHandleFor(t *testing.T) {
	ctx := t.Context()
	mem := memstore.New(memstore.Options{Clock: clock.NewSim(t0)})
	l, err := hashid.New(mem, hashid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := store.NewID()
	if err := l.(store.Owners).CreateOwned(ctx, id, alice, nil, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	list, err := l.(store.Owners).List(ctx, alice)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if h := store.HandleFor(l, id); list[0].Handle != h || h != store.HandleOf(hashOf(nil, id)) || h == store.HandleOf(id) {
		t.Errorf("List shows %s; HandleFor gives %s", list[0].Handle, h)
	}
}

// TestLayersStack: a layer over a layer stores the hash of the hash, and
// StoredID says so.
func TestLayersStack(t *testing.T) {
	ctx := t.Context()
	mem := memstore.New(memstore.Options{Clock: clock.NewSim(t0)})
	inner, err := hashid.New(mem, hashid.Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	outer, err := hashid.New(inner, hashid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := hashOf(testKey, hashOf(nil, "a"))
	if got := store.StoredID(outer, "a"); got != want {
		t.Fatalf("StoredID = %s, want %s", got, want)
	}
	if err := outer.Create(ctx, "a", []byte("s"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Load(ctx, want); err != nil {
		t.Fatalf("the backend does not hold the double hash: %v", err)
	}
	if r, err := outer.Load(ctx, "a"); err != nil || string(r.State) != "s" {
		t.Fatalf("Load through both layers = %v, %v", r, err)
	}
}

// plainStore is a store.Store with nothing optional.
type plainStore struct{ store.Store }

func TestCapabilitiesFollowTheBackend(t *testing.T) {
	mem := memstore.New(memstore.Options{Clock: clock.NewSim(t0)})
	for _, inner := range []store.Store{plainStore{mem}, mem} {
		l, err := hashid.New(inner, hashid.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := view.Has(l), view.Has(inner)&^view.Scanner; got != want {
			t.Errorf("over %T: capabilities %04b, want %04b", inner, got, want)
		}
		if _, ok := l.(store.Scanner); ok {
			t.Errorf("over %T: the layer claims to scan", inner)
		}
		if store.CapabilitiesOf(l) != store.CapabilitiesOf(inner) {
			t.Errorf("over %T: capabilities not passed through", inner)
		}
	}
}

func TestNewRejects(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	if _, err := hashid.New(nil, hashid.Options{}); !errors.Is(err, hashid.ErrNilStore) {
		t.Errorf("New(nil) = %v, want ErrNilStore", err)
	}
	for _, n := range []int{1, hashid.MinKeyLen - 1} {
		key := []byte(strings.Repeat("S", n))
		_, err := hashid.New(mem, hashid.Options{Key: key})
		if !errors.Is(err, hashid.ErrKeyLength) {
			t.Errorf("%d-byte key: %v, want ErrKeyLength", n, err)
		} else if strings.Contains(err.Error(), "S") {
			t.Errorf("%d-byte key: the error %q shows the key", n, err)
		}
	}
	if _, err := hashid.New(mem, hashid.Options{Key: testKey}); err != nil {
		t.Errorf("%d-byte key: %v", len(testKey), err)
	}
}

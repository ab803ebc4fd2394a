package seal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// racing is a memstore on which another client writes just before each
// conditional write: the interleaving a layer's read, re-seal and
// conditional write must survive.
type racing struct {
	*memstore.Store
	beforeChangeIDIf func()
	beforeUpdateIf   func()
}

func (r *racing) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	if r.beforeChangeIDIf != nil {
		r.beforeChangeIDIf()
	}
	return r.Store.ChangeIDIf(ctx, old, new, version, state)
}

func (r *racing) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	if r.beforeUpdateIf != nil {
		r.beforeUpdateIf()
	}
	return r.Store.UpdateIf(ctx, id, version, state, ttl)
}

func newRacing(t *testing.T, ring *seal.Ring) (*racing, *seal.Layer) {
	f := newFixture(t, ring, seal.Options{})
	r := &racing{Store: f.inner}
	l, err := seal.New(r, ring, seal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r, l
}

func TestChangeID(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	if err := f.l.CreateOwned(ctx, "old", "alice", []byte("cart"), time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(time.Minute)
	if err := f.l.ChangeID(ctx, "old", "new"); err != nil {
		t.Fatal(err)
	}
	// Numbered from what the caller created, not from the sealed state.
	first := store.FirstVersion("old", "alice", []byte("cart"), t0.Add(time.Hour))
	r, err := f.l.Load(ctx, "new")
	if err != nil || string(r.State) != "cart" || r.Version != first+1 || r.Owner != "alice" || !r.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after ChangeID: %+v, %v; want the state, owner and expiry kept, version %d (the first plus 1)", r, err, first+1)
	}
	if _, err := f.l.Load(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old ID after ChangeID: %v", err)
	}
	// The state moved was re-sealed for its new ID: the stored blob opens
	// only there.
	raw, _ := f.inner.Load(ctx, "new")
	if _, _, err := f.l.Open("old", raw.State); !errors.Is(err, seal.ErrTampered) {
		t.Fatalf("the moved blob opens under the old ID: %v", err)
	}
	for _, c := range []struct {
		old, new store.ID
		want     error
	}{{"old", "x", store.ErrNotFound}, {"new", "new", store.ErrDuplicateID}} {
		if err := f.l.ChangeID(ctx, c.old, c.new); !errors.Is(err, c.want) {
			t.Fatalf("ChangeID(%s, %s) = %v, want %v", c.old, c.new, err, c.want)
		}
	}
	if err := f.l.Create(ctx, "other", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := f.l.ChangeID(ctx, "new", "other"); !errors.Is(err, store.ErrDuplicateID) {
		t.Fatalf("ChangeID onto a live ID = %v", err)
	}
}

// A write landing between ChangeID's read and its move is not lost: the
// move fails with a conflict, and ChangeID reads again and moves the new
// state.
func TestChangeIDKeepsConcurrentUpdate(t *testing.T) {
	ctx := t.Context()
	r, l := newRacing(t, ringOf(t, 1, 1))
	if err := l.Create(ctx, "a", []byte("v1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	calls := 0
	r.beforeChangeIDIf = func() {
		calls++
		if calls == 1 {
			if err := l.Update(ctx, "a", []byte("v2"), time.Hour); err != nil {
				t.Error(err)
			}
		}
	}
	if err := l.ChangeID(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	first := store.FirstVersion("a", "", []byte("v1"), t0.Add(time.Hour))
	got, err := l.Load(ctx, "b")
	if err != nil || string(got.State) != "v2" || got.Version != first+2 {
		t.Fatalf("after a ChangeID that raced an Update: %q version %d, %v; want v2 version %d (the first plus 2)", got.State, got.Version, err, first+2)
	}
	if calls != 2 {
		t.Fatalf("ChangeIDIf called %d times, want 2 (one conflict, one retry)", calls)
	}
}

// A session deleted and created again under its ID between ChangeID's
// read and its move is another session, at another version: the move
// conflicts, and ChangeID reads again and moves the new session with its
// own state. When every session started at version 1, the move applied
// and carried the earlier session's state (the concurrent checker's seed
// 618 of simrun -layers hashid,seal -clients 8 -faults net).
func TestChangeIDKeepsRecreatedSession(t *testing.T) {
	ctx := t.Context()
	r, l := newRacing(t, ringOf(t, 1, 1))
	if err := l.Create(ctx, "a", []byte("earlier"), time.Hour); err != nil {
		t.Fatal(err)
	}
	calls := 0
	r.beforeChangeIDIf = func() {
		calls++
		if calls == 1 {
			if err := l.Delete(ctx, "a"); err != nil {
				t.Error(err)
			}
			if err := l.Create(ctx, "a", []byte("later"), time.Hour); err != nil {
				t.Error(err)
			}
		}
	}
	if err := l.ChangeID(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	first := store.FirstVersion("a", "", []byte("later"), t0.Add(time.Hour))
	got, err := l.Load(ctx, "b")
	if err != nil || string(got.State) != "later" || got.Version != first+1 {
		t.Fatalf("after a ChangeID that raced a re-create: %q version %d, %v; want the later session, version %d", got.State, got.Version, err, first+1)
	}
	if calls != 2 {
		t.Fatalf("ChangeIDIf called %d times, want 2 (one conflict, one retry)", calls)
	}
}

// Conflicts retry until the context ends, and then nothing has moved.
func TestChangeIDRetriesUntilContextEnds(t *testing.T) {
	r, l := newRacing(t, ringOf(t, 1, 1))
	ctx, cancel := context.WithCancel(t.Context())
	if err := l.Create(ctx, "a", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	calls := 0
	r.beforeChangeIDIf = func() {
		calls++
		if calls == 5 {
			cancel()
		}
		_ = l.Update(context.Background(), "a", []byte("v"), time.Hour)
	}
	if err := l.ChangeID(ctx, "a", "b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ChangeID under endless conflicts = %v, want context.Canceled", err)
	}
	r.beforeChangeIDIf = nil
	if _, err := l.Load(t.Context(), "a"); err != nil {
		t.Fatalf("the session left its ID: %v", err)
	}
	if _, err := l.Load(t.Context(), "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the session reached the new ID: %v", err)
	}
}

// ChangeIDIf and Cycle seal for the new ID.
func TestConditionalMovesSealForNewID(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	if err := f.l.Create(ctx, "a", []byte("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	first := store.FirstVersion("a", "", []byte("x"), t0.Add(time.Hour))
	v, err := f.l.ChangeIDIf(ctx, "a", "b", first, []byte("y"))
	if err != nil || v != first+1 {
		t.Fatalf("ChangeIDIf = %d, %v; want %d", v, err, first+1)
	}
	if err := f.l.Cycle(ctx, "b", "c", "bob", []byte("z"), time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	r, err := f.l.Load(ctx, "c")
	if err != nil || string(r.State) != "z" || r.Version != first+2 || r.Owner != "bob" {
		t.Fatalf("after ChangeIDIf and Cycle: %+v, %v", r, err)
	}
	if _, err := f.l.UpdateIf(ctx, "c", first+1, []byte("w"), time.Hour); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UpdateIf at a stale version = %v", err)
	}
	if v, err := f.l.UpdateIf(ctx, "c", first+2, []byte("w"), store.KeepTTL); err != nil || v != first+3 {
		t.Fatalf("UpdateIf = %d, %v; want %d", v, err, first+3)
	}
	if r, _ := f.l.Load(ctx, "c"); string(r.State) != "w" {
		t.Fatalf("state %q after UpdateIf", r.State)
	}
}

// Many clients increment a counter in one session with UpdateIf while
// another moves the session back and forth between two IDs: no increment
// is lost, and the session is always under exactly one of them.
func TestChangeIDUnderConcurrentUpdates(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	if err := f.l.Create(ctx, "a", []byte{0}, time.Hour); err != nil {
		t.Fatal(err)
	}
	const clients, increments, moves = 4, 50, 200
	done := make(chan error, clients+1)
	go func() {
		from, to := store.ID("a"), store.ID("b")
		for range moves {
			if err := f.l.ChangeID(ctx, from, to); err != nil {
				done <- err
				return
			}
			from, to = to, from
		}
		done <- nil
	}()
	for range clients {
		go func() {
			for n := 0; n < increments; {
				for _, id := range []store.ID{"a", "b"} {
					r, err := f.l.Load(ctx, id)
					if errors.Is(err, store.ErrNotFound) {
						continue
					}
					if err != nil {
						done <- err
						return
					}
					_, err = f.l.UpdateIf(ctx, id, r.Version, []byte{r.State[0] + 1}, store.KeepTTL)
					if err == nil {
						n++
						break
					}
					if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range clients + 1 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	snap := snapshot(t, f.inner)
	if len(snap) != 1 {
		t.Fatalf("%d records after the moves, want 1", len(snap))
	}
	first := store.FirstVersion("a", "", []byte{0}, t0.Add(time.Hour))
	r, err := f.l.Load(ctx, "a") // an even number of moves
	if want := first + moves + clients*increments; err != nil || r.State[0] != clients*increments || r.Version != want {
		t.Fatalf("counter %v version %d, %v; want %d, version %d (the first plus every move and increment)", r.State, r.Version, err, clients*increments, want)
	}
}

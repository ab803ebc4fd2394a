package pgstore

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Versions, conditional writes and Scan row by row, each against the
// reference model at the same clock reading (twin): answers, versions
// returned and the table afterwards, expired rows and versions included.

// wantVersion checks that id is live at version v, on pgstore and in the
// model (twin.load compares whole records, versions included).
func (w *twin) wantVersion(id store.ID, v uint64) {
	w.t.Helper()
	if got := w.version(id); got != v {
		w.t.Fatalf("Load(%s) at version %d, want %d", id, got, v)
	}
}

// version returns the version id is live at, on pgstore and in the model.
func (w *twin) version(id store.ID) uint64 {
	w.t.Helper()
	rec, err := w.load(id)
	if err != nil {
		w.t.Fatalf("Load(%s): %v", id, err)
	}
	return rec.Version
}

// Creating starts at the first version of what is created
// (store.FirstVersion); every write to a live record adds one; what fails
// or writes nothing leaves the version alone.
func TestVersionsCountWrites(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	w.create("a", "A", time.Hour)
	v := w.version("a")
	if want := store.FirstVersion("a", "", []byte("A"), t0.Add(time.Hour)); v != want {
		t.Fatalf("created at version %d, want store.FirstVersion's %d", v, want)
	}
	w.update("a", "A2", time.Hour)
	w.wantVersion("a", v+1)
	w.updateTTL("a", 2*time.Hour)
	w.wantVersion("a", v+2)
	w.clk.Add(time.Minute)
	if rec, _ := w.touch("a", 3*time.Hour, time.Minute); rec.Version != v+3 {
		t.Fatalf("a Touch that writes returns version %d, want %d", rec.Version, v+3)
	}
	if rec, _ := w.touch("a", 3*time.Hour, time.Hour); rec.Version != v+3 {
		t.Fatalf("a Touch within the resolution returns version %d, want %d", rec.Version, v+3)
	}
	w.changeID("a", "b")
	w.wantVersion("b", v+4)
	w.cycle("b", "c", "alice", "C", time.Hour, 0)
	w.wantVersion("c", v+5)
	if got, _ := w.changeIDIf("c", "d", v+5, "D"); got != v+6 {
		t.Fatalf("ChangeIDIf returned version %d, want %d", got, v+6)
	}
	if got, _ := w.updateIf("d", v+6, "D2", time.Hour); got != v+7 {
		t.Fatalf("UpdateIf returned version %d, want %d", got, v+7)
	}
	w.wantVersion("d", v+7)

	// Failures change nothing, version included.
	wantErr(t, "Update absent", w.update("x", "X", time.Hour), store.ErrNotFound)
	wantErr(t, "ChangeID onto itself", w.changeID("d", "d"), store.ErrDuplicateID)
	w.create("e", "E", time.Hour)
	e := w.version("e")
	wantErr(t, "ChangeID onto a live target", w.changeID("d", "e"), store.ErrDuplicateID)
	wantErr(t, "Create over a live record", w.create("d", "D3", time.Hour), store.ErrDuplicateID)
	w.wantVersion("d", v+7)
	w.wantVersion("e", e)

	// A record created again over an expired one starts at its own first
	// version, not where the old one was, owned or not; one moved over an
	// expired target counts on from its own.
	w.createOwned("f", "bob", "F", time.Second, 0)
	w.update("f", "F2", time.Second)
	old := w.version("f")
	w.clk.Add(time.Second)
	w.create("f", "F3", time.Hour)
	if f := w.version("f"); f == old || f == old+1 || f != store.FirstVersion("f", "", []byte("F3"), w.now().Add(time.Hour)) {
		t.Fatalf("re-created at version %d (the old one was at %d)", f, old)
	}
	w.update("f", "F4", time.Second)
	w.clk.Add(time.Second)
	w.createOwned("f", "bob", "F5", time.Hour, 2)
	f := w.version("f")
	if f != store.FirstVersion("f", "bob", []byte("F5"), w.now().Add(time.Hour)) {
		t.Fatalf("re-created owned at version %d", f)
	}
	w.update("e", "E2", time.Hour)
	w.update("e", "E3", time.Second)
	w.clk.Add(time.Second) // e expires
	w.changeID("f", "e")
	w.wantVersion("e", f+1)
	w.cycle("e", "g", "bob", "G", time.Hour, 1)
	w.wantVersion("g", f+2)
}

// UpdateIf applies at the version given and nowhere else; ErrNotFound
// and ErrConflict are told apart; KeepTTL keeps the expiry.
func TestUpdateIf(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{MaxStateSize: 8})
	w.createOwned("a", "alice", "A", time.Hour, 0)
	v := w.version("a")
	w.clk.Add(time.Minute)
	if got, err := w.updateIf("a", v, "A2", 2*time.Hour); err != nil || got != v+1 {
		t.Fatalf("UpdateIf at the version read: %d, %v", got, err)
	}
	// The version read before that write is stale.
	wantIfErr(t, "UpdateIf at a stale version", w.updateIf, "a", v, store.ErrConflict)
	wantIfErr(t, "UpdateIf at a future version", w.updateIf, "a", v+2, store.ErrConflict)
	wantIfErr(t, "UpdateIf at version 1", w.updateIf, "a", 1, store.ErrConflict)
	wantIfErr(t, "UpdateIf past any bigint", w.updateIf, "a", math.MaxUint64, store.ErrConflict)
	wantIfErr(t, "UpdateIf past any bigint, wrapped", w.updateIf, "a", 1<<63+(v+1), store.ErrConflict)
	wantIfErr(t, "UpdateIf of an absent ID", w.updateIf, "b", v+1, store.ErrNotFound)
	// KeepTTL: the state only, the expiry (now+2h from a minute in) kept.
	w.clk.Add(time.Minute)
	if got, err := w.updateIf("a", v+1, "A3", store.KeepTTL); err != nil || got != v+2 {
		t.Fatalf("UpdateIf with KeepTTL: %d, %v", got, err)
	}
	if rec, _ := w.load("a"); !rec.Expires.Equal(t0.Add(time.Minute+2*time.Hour)) || rec.Owner != "alice" {
		t.Fatalf("after KeepTTL: %+v, want the expiry and owner kept", rec)
	}
	// An expired session is not found, at any version, and not touched.
	w.clk.Set(t0.Add(time.Minute + 2*time.Hour))
	wantIfErr(t, "UpdateIf of an expired session", w.updateIf, "a", v+2, store.ErrNotFound)
	wantIfErr(t, "UpdateIf of an expired session at another version", w.updateIf, "a", v, store.ErrNotFound)

	// Validation, in the contract's order, before anything is sent.
	for _, c := range []struct {
		id      store.ID
		version uint64
		state   string
		ttl     time.Duration
		want    error
	}{
		{"", 0, "too large!", 0, store.ErrInvalidID},
		{"a", 0, "too large!", 0, store.ErrInvalidVersion},
		{"a", 1, "too large!", 0, store.ErrInvalidTTL},
		{"a", 1, "too large!", -2, store.ErrInvalidTTL},
		{"a", 1, "too large!", time.Hour, store.ErrTooLarge},
		{"a", 1, "too large!", store.KeepTTL, store.ErrTooLarge},
	} {
		_, err := w.updateIf(c.id, c.version, c.state, c.ttl)
		wantErr(t, fmt.Sprintf("UpdateIf(%q, %d, %q, %v)", c.id, c.version, c.state, c.ttl), err, c.want)
	}
}

// wantIfErr runs a conditional write with a fixed state and TTL and
// checks its error.
func wantIfErr(t *testing.T, what string, op func(store.ID, uint64, string, time.Duration) (uint64, error), id store.ID, version uint64, want error) {
	t.Helper()
	v, err := op(id, version, "S", time.Hour)
	if v != 0 {
		t.Fatalf("%s: returned version %d with %v", what, v, err)
	}
	wantErr(t, what, err, want)
}

// ChangeIDIf is ChangeID at a version, with a new state: its errors in
// the contract's order, the expiry and owner kept, an expired target
// replaced.
func TestChangeIDIf(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{MaxStateSize: 8})
	w.createOwned("a", "alice", "A", time.Hour, 0)
	w.create("live", "L", time.Hour)
	w.create("stale", "S", time.Second)
	v := w.version("a")
	w.clk.Add(time.Second)

	changeIf := func(what string, old, new store.ID, version uint64, want error) {
		t.Helper()
		got, err := w.changeIDIf(old, new, version, "X")
		if got != 0 {
			t.Fatalf("%s: returned version %d with %v", what, got, err)
		}
		wantErr(t, what, err, want)
	}
	changeIf("from an absent ID", "none", "b", v, store.ErrNotFound)
	changeIf("from an expired ID", "stale", "b", v, store.ErrNotFound)
	changeIf("from an absent ID onto itself", "none", "none", v, store.ErrNotFound)
	changeIf("at another version", "a", "b", v+1, store.ErrConflict)
	changeIf("at another version, onto a live target", "a", "live", v+1, store.ErrConflict)
	changeIf("at another version, onto itself", "a", "a", v+1, store.ErrConflict)
	changeIf("onto a live target", "a", "live", v, store.ErrDuplicateID)
	changeIf("onto itself", "a", "a", v, store.ErrDuplicateID)

	if got, err := w.changeIDIf("a", "b", v, "B"); err != nil || got != v+1 {
		t.Fatalf("ChangeIDIf onto a free ID: %d, %v", got, err)
	}
	if rec, _ := w.load("b"); string(rec.State) != "B" || rec.Owner != "alice" || !rec.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("the moved session: %+v; want the new state, the owner and expiry kept", rec)
	}
	if got := w.list("alice"); len(got) != 1 || got[0].Handle != store.HandleOf("b") {
		t.Fatalf("alice's sessions: %v", got)
	}
	// Over the expired record at stale, in place.
	if got, err := w.changeIDIf("b", "stale", v+1, ""); err != nil || got != v+2 {
		t.Fatalf("ChangeIDIf onto an expired target: %d, %v", got, err)
	}
	if n := w.rows(); n != 2 {
		t.Fatalf("%d rows, want 2 (live, and the session at stale)", n)
	}
	changeIf("from the moved-away ID", "b", "c", v+1, store.ErrNotFound)

	// Validation, in the contract's order, before anything is sent.
	for _, c := range []struct {
		old, new store.ID
		version  uint64
		state    string
		want     error
	}{
		{"", "", 0, "too large!", store.ErrInvalidID},
		{"a", "b c", 0, "too large!", store.ErrInvalidID},
		{"a", "b", 0, "too large!", store.ErrInvalidVersion},
		{"a", "b", 1, "too large!", store.ErrTooLarge},
	} {
		_, err := w.changeIDIf(c.old, c.new, c.version, c.state)
		wantErr(t, fmt.Sprintf("ChangeIDIf(%q, %q, %d, %q)", c.old, c.new, c.version, c.state), err, c.want)
	}
}

// A conditional move of a session whose owner is at the cap keeps the
// owner's count: nothing is evicted, and the owner's other operations go
// on as before.
func TestChangeIDIfKeepsTheOwnersCount(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{MaxPerOwner: 2})
	w.createOwned("a1", "alice", "1", time.Hour, 0)
	w.createOwned("a2", "alice", "2", 2*time.Hour, 0)
	if _, err := w.changeIDIf("a1", "a3", w.version("a1"), "3"); err != nil {
		t.Fatal(err)
	}
	if got := w.list("alice"); len(got) != 2 {
		t.Fatalf("alice has %d sessions after the move, want 2", len(got))
	}
	w.createOwned("a4", "alice", "4", 3*time.Hour, 0) // the cap evicts a3, the oldest
	w.load("a2")
	w.load("a3")
}

// Scan walks the live IDs in byte order, a page at a time.
func TestScan(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	// Byte order: '-' < '0' < 'A' < 'Z' < '_' < 'a'; a locale would put
	// them otherwise.
	ids := []store.ID{"a", "B", "_", "-", "Z", "0", "ab", "A", "aa", "a-", "a_"}
	for i, id := range ids {
		w.create(id, "s", time.Duration(i+1)*time.Minute)
	}
	w.createOwned("owned", "alice", "s", time.Hour, 0)
	w.clk.Add(3 * time.Minute) // a, B and _ have expired
	var all []store.ID
	for _, limit := range []int{1, 2, 3, 100} {
		all = all[:0]
		var after store.ID
		for {
			page, _ := w.scan(after, limit)
			all = append(all, page...)
			if len(page) < limit {
				break
			}
			after = page[len(page)-1]
		}
		if got, want := join(all), "[- 0 A Z a- a_ aa ab owned]"; got != want {
			t.Fatalf("walk by pages of %d: %s, want %s", limit, got, want)
		}
	}
	w.scan("a", 3)     // after an expired ID
	w.scan("Zz", 2)    // after an ID that is not there
	w.scan("owned", 5) // the last: an empty page
	w.scan("", 1)
	for _, c := range []struct {
		after store.ID
		limit int
		want  error
	}{
		{"a b", 0, store.ErrInvalidID},
		{"a", 0, store.ErrInvalidLimit},
		{"", -1, store.ErrInvalidLimit},
	} {
		_, err := w.scan(c.after, c.limit)
		wantErr(t, fmt.Sprintf("Scan(%q, %d)", c.after, c.limit), err, c.want)
	}
}

// A version below 1 in the table was not written by pgstore: reading it
// is an error, not a record at a version no conditional write could name.
// A read's is definite; a write's, which read it once its statement had
// run, cannot say whether the statement wrote.
func TestVersionBelowOneIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "A", time.Hour)
	if _, err := f.pool.Exec(f.ctx, "UPDATE "+f.s.Table()+" SET version = 0"); err != nil {
		t.Fatal(err)
	}
	_, loadErr := f.s.Load(f.ctx, "a")
	_, touchErr := f.s.Touch(f.ctx, "a", time.Hour, time.Hour) // a read
	_, selfErr := f.s.ChangeIDIf(f.ctx, "a", "a", 1, nil)      // a read
	for op, err := range map[string]error{"Load": loadErr, "Touch": touchErr, "ChangeIDIf onto itself": selfErr} {
		if !errors.Is(err, errBadVersion) || store.IsAmbiguous(err) || !strings.Contains(err.Error(), "version below 1") {
			t.Errorf("%s of a row at version 0: %v, want a definite error about the version", op, err)
		}
	}
	_, ifErr := f.s.UpdateIf(f.ctx, "a", 1, nil, time.Hour)
	_, moveErr := f.s.ChangeIDIf(f.ctx, "a", "b", 1, nil)
	for op, err := range map[string]error{"UpdateIf": ifErr, "ChangeIDIf": moveErr} {
		if !errors.Is(err, errBadVersion) {
			t.Errorf("%s of a row at version 0: %v, want an error about the version", op, err)
		}
	}
}

// A layer over the store that changes what reaches it (a hashed ID, a
// sealed state) hands it the seed of what its own caller gave, in the
// context: Create and CreateOwned number the record from that seed, so
// that every stack of layers numbers versions as the model does.
func TestFirstVersionFromTheContextsSeed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seed := store.SeedVersion("outer-id", "outer-owner", []byte("plain state"))
	ctx := store.WithVersionSeed(f.ctx, "outer-id", "outer-owner", []byte("plain state"))
	want := seed.At(t0.Add(time.Hour))
	creates := map[string]func(store.ID) error{
		"create":        func(id store.ID) error { return f.s.Create(ctx, id, []byte("sealed"), time.Hour) },
		"create owned":  func(id store.ID) error { return f.s.CreateOwned(ctx, id, "alice", []byte("sealed"), time.Hour, 0) },
		"create capped": func(id store.ID) error { return f.s.CreateOwned(ctx, id, "bob", []byte("sealed"), time.Hour, 1) },
	}
	for name, create := range creates {
		id := store.ID(strings.ReplaceAll(name, " ", "-"))
		if err := create(id); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v := f.version(id); v != want {
			t.Errorf("%s: version %d, want %d, the seed's", name, v, want)
		}
	}
	// Without a seed, the fields the store was given.
	f.mustCreate("plain", "sealed", time.Hour)
	if v, want := f.version("plain"), store.FirstVersion("plain", "", []byte("sealed"), t0.Add(time.Hour)); v != want {
		t.Errorf("without a seed: version %d, want %d", v, want)
	}
}

package memstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// The rows of store.Versioner (model/versions.go), and the version every
// other write leaves behind, one scenario per row, each played with one
// shard and with the default.

// A vno is a version in a scenario: the first version of the session last
// created under of, plus plus; with of empty, plus itself (0, what a
// failed conditional write returns). A session's first version is a hash
// of what it was created with (store.FirstVersion), which the create steps
// note down, so the scenarios count from it; a ver right after a create
// checks that the store numbered the session so.
type vno struct {
	of   store.ID
	plus uint64
}

// v is the version plus writes after the creation of the session last
// created under of.
func v(of store.ID, plus uint64) vno { return vno{of, plus} }

// lit is the version n itself, for a session that was never created.
func lit(n uint64) vno { return vno{plus: n} }

// none is no version: what a conditional write returns with its error.
var none = vno{}

func (n vno) String() string {
	if n.of == "" {
		return fmt.Sprint(n.plus)
	}
	return fmt.Sprintf("first(%s)+%d", n.of, n.plus)
}

// in resolves n in f.
func (n vno) in(t testing.TB, f *fixture) uint64 {
	t.Helper()
	if n.of == "" {
		return n.plus
	}
	return f.first(t, n.of) + n.plus
}

// ver expects id to be live at version n.
func ver(id store.ID, n vno) step {
	return step{fmt.Sprintf("Load(%s) at version %v", id, n), func(t *testing.T, f *fixture) { f.wantVersion(t, id, n.in(t, f)) }}
}

// touchVer calls Touch(id, ttl, res) and expects the record it returns to
// be at version n.
func touchVer(id store.ID, ttl, res time.Duration, n vno) step {
	return step{fmt.Sprintf("Touch(%s, %v, res %v) at version %v", id, ttl, res, n), func(t *testing.T, f *fixture) {
		rec, err := f.s.Touch(ctx, id, ttl, res)
		if want := n.in(t, f); err != nil || rec.Version != want {
			t.Fatalf("Touch(%q) = version %d, %v; want %d (%v)", id, rec.Version, err, want, n)
		}
	}}
}

// updateIf calls UpdateIf at version and expects it to return version n
// (none with an error).
func updateIf(id store.ID, version vno, state string, ttl time.Duration, n vno, want error) step {
	return step{fmt.Sprintf("UpdateIf(%s, v%v, %q, %v)", id, version, state, ttl), func(t *testing.T, f *fixture) {
		at, wantV := version.in(t, f), n.in(t, f)
		got, err := f.s.UpdateIf(ctx, id, at, []byte(state), ttl)
		wantErr(t, "UpdateIf", err, want)
		if got != wantV {
			t.Fatalf("UpdateIf(%q, %d) = %d, want %d (%v)", id, at, got, wantV, n)
		}
	}}
}

// changeIf calls ChangeIDIf at version and expects it to return version n
// (none with an error).
func changeIf(old, new store.ID, version vno, state string, n vno, want error) step {
	return step{fmt.Sprintf("ChangeIDIf(%s, %s, v%v, %q)", old, new, version, state), func(t *testing.T, f *fixture) {
		at, wantV := version.in(t, f), n.in(t, f)
		got, err := f.s.ChangeIDIf(ctx, old, new, at, []byte(state))
		wantErr(t, "ChangeIDIf", err, want)
		if got != wantV {
			t.Fatalf("ChangeIDIf(%q, %q, %d) = %d, want %d (%v)", old, new, at, got, wantV, n)
		}
	}}
}

func TestVersions(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"every write adds one", []step{
			create("a", "v", sec, nil), ver("a", v("a", 0)),
			update("a", "w", sec, nil), ver("a", v("a", 1)),
			touch("a", 2*sec, nil), ver("a", v("a", 2)),
			change("a", "b", nil), ver("b", v("a", 3)),
			touchVer("b", 3*sec, 0, v("a", 4)), ver("b", v("a", 4)),
			updateIf("b", v("a", 4), "x", KeepTTL, v("a", 5), nil), ver("b", v("a", 5)),
			changeIf("b", "c", v("a", 5), "y", v("a", 6), nil), ver("c", v("a", 6)),
			cycle("c", "d", "u", "z", sec, 0, nil), ver("d", v("a", 7)),
			load("d", "z", sec), missing("a"), missing("b"), missing("c"),
		}},
		{"a Touch that writes nothing keeps it", []step{
			create("a", "v", time.Minute, nil), at(sec),
			touchVer("a", time.Minute, time.Minute, v("a", 0)), ver("a", v("a", 0)),
			load("a", "v", time.Minute),
		}},
		{"a Create over an expired record starts again at its first version", []step{
			create("a", "v", sec, nil), update("a", "w", sec, nil), update("a", "x", sec, nil), ver("a", v("a", 2)),
			at(sec), create("a", "y", sec, nil), ver("a", v("a", 0)),
		}},
		{"a CreateOwned over an expired record starts at its first version", []step{
			create("a", "v", sec, nil), update("a", "w", sec, nil), ver("a", v("a", 1)),
			at(sec), createOwned("a", "u", "y", sec, 0, nil), ver("a", v("a", 0)),
		}},
		{"a Cycle counts on from old, not from an expired record at new", []step{
			create("n", "v", sec, nil), update("n", "v", sec, nil), update("n", "v", sec, nil), ver("n", v("n", 2)),
			create("o", "w", time.Hour, nil), at(sec),
			cycle("o", "n", "", "x", sec, 0, nil), ver("n", v("o", 1)),
		}},
		{"a ChangeID counts on from old, not from an expired record at new", []step{
			create("n", "v", sec, nil), update("n", "v", sec, nil), update("n", "v", sec, nil),
			create("o", "w", time.Hour, nil), at(sec),
			change("o", "n", nil), ver("n", v("o", 1)),
		}},
		{"failed writes leave it", []step{
			create("a", "v", sec, nil), create("b", "w", sec, nil),
			create("a", "x", sec, store.ErrDuplicateID),
			change("a", "b", store.ErrDuplicateID),
			updateIf("a", v("a", 1), "x", sec, none, store.ErrConflict),
			changeIf("a", "c", v("a", 1), "x", none, store.ErrConflict),
			changeIf("a", "b", v("a", 0), "x", none, store.ErrDuplicateID),
			ver("a", v("a", 0)), ver("b", v("b", 0)),
			at(sec), update("a", "x", sec, store.ErrNotFound), touch("a", sec, store.ErrNotFound),
			at(0), ver("a", v("a", 0)),
		}},
		{"a Revoke and a re-create: the ID's versions start over", []step{
			createOwned("a", "u", "v", sec, 0, nil), update("a", "w", sec, nil), ver("a", v("a", 1)),
			revoke("u", "a", nil), createOwned("a", "u", "x", sec, 0, nil), ver("a", v("a", 0)),
		}},
	})
}

// KeepTTL is store.KeepTTL, short for the tables.
const KeepTTL = store.KeepTTL

func TestUpdateIf(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"live at version: state and expiry replaced, version returned", []step{
			create("a", "v1", sec, nil), at(sec / 2),
			updateIf("a", v("a", 0), "v2", sec, v("a", 1), nil), load("a", "v2", sec+sec/2), ver("a", v("a", 1)),
		}},
		{"KeepTTL keeps the expiry, and the reclaim order", []step{
			create("a", "v1", sec, nil), create("b", "w", 2*sec, nil), at(sec / 2),
			updateIf("a", v("a", 0), "v2", KeepTTL, v("a", 1), nil), load("a", "v2", sec),
			at(2 * sec), reclaim(1, 1, nil), at(0), missing("a"), load("b", "w", 2*sec),
		}},
		{"a new expiry moves the record in reclaim order", []step{
			create("a", "v1", sec, nil), create("b", "w", 2*sec, nil),
			updateIf("a", v("a", 0), "v2", 3*sec, v("a", 1), nil),
			at(3 * sec), reclaim(1, 1, nil), at(0), missing("b"), load("a", "v2", 3*sec),
		}},
		{"expiry may shrink", []step{
			create("a", "v1", time.Hour, nil),
			updateIf("a", v("a", 0), "v2", us, v("a", 1), nil), load("a", "v2", us), at(us), missing("a"),
		}},
		{"owner kept", []step{
			createOwned("a", "u", "v1", sec, 0, nil),
			updateIf("a", v("a", 0), "v2", 2*sec, v("a", 1), nil), owned("a", "v2", 2*sec, "u"), list("u", listed{"a", 2 * sec}),
		}},
		{"sub-microsecond clock and TTL truncated", []step{
			create("a", "v1", sec, nil), at(sec/2 + 999),
			updateIf("a", v("a", 0), "v2", sec+999, v("a", 1), nil), load("a", "v2", sec+sec/2),
		}},
		{"twice at one version: the second conflicts", []step{
			create("a", "v1", sec, nil),
			updateIf("a", v("a", 0), "v2", sec, v("a", 1), nil),
			updateIf("a", v("a", 0), "v3", time.Hour, none, store.ErrConflict),
			load("a", "v2", sec), ver("a", v("a", 1)),
		}},
		{"a version ahead conflicts too", []step{
			create("a", "v1", sec, nil),
			updateIf("a", v("a", 1), "v2", time.Hour, none, store.ErrConflict), load("a", "v1", sec), ver("a", v("a", 0)),
		}},
		{"absent: not found, nothing created", []step{
			updateIf("a", lit(1), "v", sec, none, store.ErrNotFound), missing("a"), holds(0),
		}},
		{"expired at the boundary, at its version: not found, record left", []step{
			create("a", "v1", sec, nil), at(sec),
			updateIf("a", v("a", 0), "v2", time.Hour, none, store.ErrNotFound),
			updateIf("a", v("a", 0), "v2", KeepTTL, none, store.ErrNotFound),
			missing("a"), holds(1),
			at(0), load("a", "v1", sec), ver("a", v("a", 0)),
		}},
		{"expired at another version: not found, not a conflict", []step{
			create("a", "v1", sec, nil), at(sec),
			updateIf("a", v("a", 6), "v2", time.Hour, none, store.ErrNotFound),
		}},
	})
}

func TestChangeIDIf(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"onto absent: moves with the new state, expiry and owner kept", []step{
			createOwned("old", "u", "v", sec, 0, nil), at(sec / 2),
			changeIf("old", "new", v("old", 0), "w", v("old", 1), nil),
			missing("old"), owned("new", "w", sec, "u"), ver("new", v("old", 1)), holds(1),
			list("u", listed{"new", sec}),
		}},
		{"onto expired: replaces it", []step{
			create("new", "stale", sec, nil), create("old", "v", time.Hour, nil), at(sec),
			changeIf("old", "new", v("old", 0), "w", v("old", 1), nil),
			missing("old"), load("new", "w", time.Hour), holds(1), reclaim(0, 0, nil),
		}},
		{"onto live: duplicate, no effect", []step{
			create("old", "v", sec, nil), create("new", "w", 2*sec, nil),
			changeIf("old", "new", v("old", 0), "x", none, store.ErrDuplicateID),
			load("old", "v", sec), load("new", "w", 2*sec), ver("old", v("old", 0)), holds(2),
		}},
		{"at another version and onto live: the conflict comes first", []step{
			create("old", "v", sec, nil), create("new", "w", 2*sec, nil),
			changeIf("old", "new", v("old", 1), "x", none, store.ErrConflict),
			load("old", "v", sec), load("new", "w", 2*sec),
		}},
		{"at another version onto absent: conflict, no effect", []step{
			create("old", "v", sec, nil), update("old", "v2", sec, nil),
			changeIf("old", "new", v("old", 0), "x", none, store.ErrConflict),
			load("old", "v2", sec), ver("old", v("old", 1)), missing("new"), holds(1),
		}},
		{"from absent onto live: not found", []step{
			create("new", "w", sec, nil),
			changeIf("old", "new", v("new", 0), "x", none, store.ErrNotFound), load("new", "w", sec), holds(1),
		}},
		{"from expired: not found, both left", []step{
			create("old", "v", sec, nil), create("new", "w", time.Hour, nil), at(sec),
			changeIf("old", "new", v("old", 0), "x", none, store.ErrNotFound),
			changeIf("old", "new", v("old", 8), "x", none, store.ErrNotFound),
			load("new", "w", time.Hour), holds(2), at(0), load("old", "v", sec),
		}},
		{"old == new, live at version: duplicate", []step{
			create("a", "v", sec, nil),
			changeIf("a", "a", v("a", 0), "x", none, store.ErrDuplicateID), load("a", "v", sec), ver("a", v("a", 0)), holds(1),
		}},
		{"old == new, live at another version: conflict", []step{
			create("a", "v", sec, nil),
			changeIf("a", "a", v("a", 1), "x", none, store.ErrConflict), load("a", "v", sec), holds(1),
		}},
		{"old == new, expired: not found", []step{
			create("a", "v", sec, nil), at(sec),
			changeIf("a", "a", v("a", 0), "x", none, store.ErrNotFound), holds(1),
		}},
		{"moved record keeps its reclaim position, ties by the new ID", []step{
			create("a", "v", sec, nil), create("m", "w", sec, nil), create("z0", "x", 2*sec, nil),
			changeIf("a", "z", v("a", 0), "v2", v("a", 1), nil), at(3 * sec),
			reclaim(1, 1, nil), at(0), missing("m"), load("z", "v2", sec),
			at(3 * sec), reclaim(1, 1, nil), at(0), missing("z"), load("z0", "x", 2*sec),
		}},
		{"there and back, one version per move", []step{
			create("a", "v", sec, nil),
			changeIf("a", "b", v("a", 0), "1", v("a", 1), nil), changeIf("b", "c", v("a", 1), "2", v("a", 2), nil), changeIf("c", "a", v("a", 2), "3", v("a", 3), nil),
			load("a", "3", sec), ver("a", v("a", 3)), missing("b"), missing("c"), holds(1),
		}},
	})
}

// scan calls Scan(after, limit) and expects exactly want.
func scan(after store.ID, limit int, want ...store.ID) step {
	return step{fmt.Sprintf("Scan(%q, %d) == %v", after, limit, want), func(t *testing.T, f *fixture) {
		got, err := f.s.Scan(ctx, after, limit)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Scan(%q, %d) = %v, %v; want %v", after, limit, got, err, want)
		}
		if len(want) == 0 && got != nil {
			t.Fatalf("Scan(%q, %d) = %#v, want nil", after, limit, got)
		}
	}}
}

func TestScan(t *testing.T) {
	// Byte order: '-' < digits < upper case < '_' < lower case; created in
	// an order unrelated to it.
	mixed := []step{}
	for _, id := range []store.ID{"b", "_", "a", "0", "Z", "-", "ab", "A"} {
		mixed = append(mixed, create(id, "", sec, nil))
	}
	runScenarios(t, memstore.Options{}, []scenario{
		{"empty", []step{scan("", 1), scan("a", 5)}},
		{"byte order, whatever the creation order", append(slices.Clip(mixed),
			scan("", 100, "-", "0", "A", "Z", "_", "a", "ab", "b"),
		)},
		{"limit and after: the next page starts past after", append(slices.Clip(mixed),
			scan("", 3, "-", "0", "A"),
			scan("A", 3, "Z", "_", "a"),
			scan("a", 3, "ab", "b"),
			scan("b", 3),
			scan("", 1, "-"),
			scan("0", 8, "A", "Z", "_", "a", "ab", "b"),
		)},
		{"after need not be held", append(slices.Clip(mixed),
			scan("B", 2, "Z", "_"), scan("aa", 10, "ab", "b"), scan("zz", 10),
		)},
		{"expired records are not listed, and come back with the clock", []step{
			create("a", "", sec, nil), create("b", "", sec+us, nil), create("c", "", 2*sec, nil),
			at(sec), scan("", 10, "b", "c"),
			at(2 * sec), scan("", 10),
			at(0), scan("", 10, "a", "b", "c"),
		}},
		{"an expired record does not take a place in the page", []step{
			create("a", "", sec, nil), create("b", "", time.Hour, nil), create("c", "", time.Hour, nil),
			at(sec), scan("", 1, "b"),
		}},
		{"a moved record is listed under its new ID only", []step{
			create("a", "", sec, nil), create("m", "", sec, nil),
			change("a", "z", nil), scan("", 10, "m", "z"),
			changeIf("z", "b", v("a", 1), "x", v("a", 2), nil), scan("", 10, "b", "m"),
			del("m", nil), scan("", 10, "b"),
		}},
	})
}

// TestScanWalk walks a store of many records over many shards in pages of
// every size from 1 to past the end, and checks that the walk meets every
// live record once, in order, and no expired one.
func TestScanWalk(t *testing.T) {
	f := newFixture(t, memstore.Options{Shards: 16})
	var want []store.ID
	for i := range 500 {
		id := store.ID(fmt.Sprintf("s%03d", (i*7)%500))
		ttl := time.Hour
		if i%5 == 0 {
			ttl = sec // expired below
		} else {
			want = append(want, id)
		}
		f.mustCreate(t, id, "", ttl)
	}
	slices.Sort(want)
	f.at(sec)
	for _, page := range []int{1, 2, 7, 64, 399, 400, 401, 1000} {
		var got []store.ID
		after := store.ID("")
		for pages := 0; ; pages++ {
			ids, err := f.s.Scan(ctx, after, page)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) > page {
				t.Fatalf("page of %d: %d IDs", page, len(ids))
			}
			got = append(got, ids...)
			if len(ids) < page {
				break
			}
			after = ids[len(ids)-1]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("walk in pages of %d met %d IDs, want %d: %v", page, len(got), len(want), got)
		}
	}
}

// TestVersionedStateIsCopied checks that the conditional writes keep a copy
// of the caller's state, not the slice itself.
func TestVersionedStateIsCopied(t *testing.T) {
	f := newFixture(t, memstore.Options{})
	f.mustCreate(t, "a", "v", sec)
	first := f.first(t, "a")
	in := []byte("w")
	if _, err := f.s.UpdateIf(ctx, "a", first, in, KeepTTL); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	f.wantLoad(t, "a", "w", sec)
	moved := []byte("m")
	if _, err := f.s.ChangeIDIf(ctx, "a", "b", first+1, moved); err != nil {
		t.Fatal(err)
	}
	moved[0] = 'X'
	f.wantLoad(t, "b", "m", sec)
}

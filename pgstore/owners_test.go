package pgstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The owner operations row by row, each against the reference model at the
// same clock reading (twin), on a real table. Time moves only through the
// simulated clock.

func TestCreateOwned(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	wantErr(t, "a fresh owned session", w.createOwned("a", "alice", "A", time.Minute, 0), nil)
	if rec, _ := w.load("a"); rec.Owner != "alice" {
		t.Fatalf("Load returns owner %q, want alice", rec.Owner)
	}
	// Over a live record: ErrDuplicateID, whoever owns it.
	wantErr(t, "over a live owned session", w.createOwned("a", "bob", "B", time.Minute, 0), store.ErrDuplicateID)
	w.create("plain", "P", time.Minute)
	wantErr(t, "over a live unowned session", w.createOwned("plain", "bob", "B", time.Minute, 0), store.ErrDuplicateID)
	// Over expired records: replaced, owner and all, whoever had them.
	w.clk.Add(time.Minute)
	wantErr(t, "over an expired owned session", w.createOwned("a", "bob", "B", time.Hour, 0), nil)
	wantErr(t, "over an expired unowned session", w.createOwned("plain", "alice", "A2", time.Hour, 0), nil)
	// Create over an expired owned record leaves it with none.
	w.clk.Add(time.Hour)
	wantErr(t, "Create over an expired owned session", w.create("a", "C", time.Hour), nil)
	if rec, _ := w.load("a"); rec.Owner != "" {
		t.Fatalf("Create kept owner %q", rec.Owner)
	}
	if n := w.rows(); n != 2 {
		t.Fatalf("%d rows, want 2 (a and plain, each replaced in place)", n)
	}
}

// The cap evicts the oldest live sessions, earliest expiry first and ties
// by ID in byte order, in the same step as the insert; expired sessions
// and other owners' do not count, and nothing goes when the insert fails.
func TestCreateOwnedCap(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	// alice: B and A expire together (a tie, broken by ID: A is older),
	// then C, then D; an expired session E; bob's session and an unowned
	// one.
	w.createOwned("B", "alice", "b", 10*time.Minute, 0)
	w.createOwned("A", "alice", "a", 10*time.Minute, 0)
	w.createOwned("C", "alice", "c", 20*time.Minute, 0)
	w.createOwned("E", "alice", "e", time.Second, 0)
	w.createOwned("D", "alice", "d", 30*time.Minute, 0)
	w.createOwned("bob1", "bob", "x", time.Minute, 0)
	w.create("none", "n", time.Minute)
	w.clk.Add(time.Second) // E expires
	if got := len(w.list("alice")); got != 4 {
		t.Fatalf("alice has %d live sessions, want 4", got)
	}

	// A live duplicate: ErrDuplicateID and nothing evicted, though alice
	// is over the cap.
	wantErr(t, "duplicate over the cap", w.createOwned("C", "alice", "x", time.Hour, 2), store.ErrDuplicateID)
	// cap 4: one of A and B goes, and the tie is broken by ID: A.
	wantErr(t, "cap 4", w.createOwned("F", "alice", "f", time.Hour, 4), nil)
	if _, err := w.load("A"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("A survived the cap")
	}
	// The target may be alice's own expired session: it does not count.
	// cap 3: B and C go, D and F stay.
	wantErr(t, "over her expired session, cap 3", w.createOwned("E", "alice", "e2", 2*time.Hour, 3), nil)
	for _, id := range []store.ID{"B", "C"} {
		if _, err := w.load(id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s survived the cap", id)
		}
	}
	// cap 1: everything else of alice's goes.
	wantErr(t, "cap 1", w.createOwned("G", "alice", "g", time.Hour, 1), nil)
	if got := w.list("alice"); len(got) != 1 || got[0].Handle != store.HandleOf("G") {
		t.Fatalf("alice's sessions after cap 1: %v", got)
	}
	// bob's and the unowned session were never touched (same checks the
	// whole table at each step).
	if _, err := w.load("bob1"); err != nil {
		t.Fatal(err)
	}
}

// A call's cap of 0 means the store's Limits.MaxPerOwner; a call's own cap
// overrides it.
func TestCreateOwnedStoreCap(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{MaxPerOwner: 2})
	for i, id := range []store.ID{"a", "b", "c", "d"} {
		w.clk.Add(time.Second)
		w.createOwned(id, "alice", string(id), time.Hour, 0)
		if got, want := len(w.list("alice")), min(i+1, 2); got != want {
			t.Fatalf("after %s: %d sessions, want %d", id, got, want)
		}
	}
	w.createOwned("e", "alice", "e", time.Hour, 5)
	w.createOwned("f", "alice", "f", time.Hour, 5)
	if got := len(w.list("alice")); got != 4 {
		t.Fatalf("with cap 5: %d sessions, want 4", got)
	}
}

func TestCycle(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	w.create("anon", "cart", time.Minute)
	wantErr(t, "old absent", w.cycle("absent", "x", "alice", "s", time.Hour, 0), store.ErrNotFound)
	wantErr(t, "old == new, live", w.cycle("anon", "anon", "alice", "s", time.Hour, 0), store.ErrDuplicateID)
	wantErr(t, "old == new, absent", w.cycle("absent", "absent", "alice", "s", time.Hour, 0), store.ErrNotFound)
	w.create("taken", "t", time.Minute)
	wantErr(t, "new live", w.cycle("anon", "taken", "alice", "s", time.Hour, 0), store.ErrDuplicateID)

	// The login step: new ID, state, TTL and owner at once; old is gone.
	wantErr(t, "login", w.cycle("anon", "s1", "alice", "logged in", time.Hour, 0), nil)
	if rec, _ := w.load("s1"); rec.Owner != "alice" || string(rec.State) != "logged in" || !rec.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after the login: %+v", rec)
	}
	// Onto an expired record (of another owner): taken over in place.
	w.createOwned("old-bob", "bob", "b", time.Second, 0)
	w.clk.Add(time.Second)
	wantErr(t, "onto an expired target", w.cycle("s1", "old-bob", "alice", "again", time.Hour, 0), nil)
	// Without an owner: the session is left with none.
	wantErr(t, "logout", w.cycle("old-bob", "s2", "", "anon again", time.Hour, 0), nil)
	if rec, _ := w.load("s2"); rec.Owner != "" {
		t.Fatalf("owner %q after a cycle without one", rec.Owner)
	}
	// Old expired: ErrNotFound, and the expired record stays.
	w.clk.Add(time.Hour)
	wantErr(t, "old expired", w.cycle("s2", "s3", "alice", "s", time.Hour, 0), store.ErrNotFound)
}

// Cycle's cap counts the owner's other live sessions: old goes anyway.
func TestCycleCap(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	w.createOwned("a1", "alice", "1", 10*time.Minute, 0)
	w.createOwned("a2", "alice", "2", 20*time.Minute, 0)
	w.createOwned("a3", "alice", "3", 30*time.Minute, 0)
	// Cycling one of her own sessions with cap 3 evicts nothing: with
	// a2 moved, she has a1, a3 and the new one.
	wantErr(t, "her own session, cap 3", w.cycle("a2", "a2b", "alice", "2b", time.Hour, 3), nil)
	if got := len(w.list("alice")); got != 3 {
		t.Fatalf("%d sessions, want 3", got)
	}
	// An anonymous session logging in with cap 2: a1 and a3 go.
	w.create("anon", "cart", time.Minute)
	wantErr(t, "login, cap 2", w.cycle("anon", "s", "alice", "s", 2*time.Hour, 2), nil)
	if got := w.list("alice"); len(got) != 2 || got[0].Handle != store.HandleOf("a2b") || got[1].Handle != store.HandleOf("s") {
		t.Fatalf("after the capped login: %v", got)
	}
	// A failed Cycle evicts nothing.
	w.createOwned("live", "bob", "x", time.Hour, 0)
	wantErr(t, "failed login, cap 1", w.cycle("a2b", "live", "alice", "s", time.Hour, 1), store.ErrDuplicateID)
	wantErr(t, "failed login, cap 1", w.cycle("absent", "new", "alice", "s", time.Hour, 1), store.ErrNotFound)
	// The store's cap applies when the call's is 0, and never without an
	// owner.
	w2 := newTwin(t, store.Limits{MaxPerOwner: 1})
	w2.createOwned("x", "alice", "x", time.Hour, 0)
	w2.create("anon", "cart", time.Minute)
	wantErr(t, "no owner, store cap 1", w2.cycle("anon", "y", "", "y", time.Hour, 0), nil)
	w2.create("anon2", "cart", time.Minute)
	wantErr(t, "store cap 1", w2.cycle("anon2", "z", "alice", "z", time.Hour, 0), nil)
	if got := w2.list("alice"); len(got) != 1 {
		t.Fatalf("the store's cap did not apply: %v", got)
	}
}

// List: live sessions only, oldest first, ties by ID; handles, not IDs.
func TestList(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	if got := w.list("nobody"); got != nil {
		t.Fatalf("an owner without sessions: %v, want nil", got)
	}
	w.createOwned("a", "alice", "", 2*time.Hour, 0)
	w.createOwned("y", "alice", "", time.Hour, 0)
	w.createOwned("x", "alice", "", time.Hour, 0)
	w.createOwned("gone", "alice", "", time.Second, 0)
	w.createOwned("other", "alicf", "", time.Hour, 0)
	w.createOwned("upper", "Alice", "", time.Hour, 0)
	w.clk.Add(time.Second)
	got := w.list("alice")
	want := []store.Handle{store.HandleOf("x"), store.HandleOf("y"), store.HandleOf("a")}
	if len(got) != len(want) {
		t.Fatalf("List = %v", got)
	}
	for i := range want {
		if got[i].Handle != want[i] {
			t.Fatalf("List[%d] = %s, want %s", i, got[i].Handle, want[i])
		}
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	w.createOwned("a", "alice", "", time.Hour, 0)
	w.createOwned("b", "bob", "", time.Hour, 0)
	w.createOwned("old", "alice", "", time.Second, 0)
	w.create("plain", "", time.Hour)
	wantErr(t, "bob's session by alice", w.revoke("alice", store.HandleOf("b")), store.ErrNotFound)
	wantErr(t, "an unowned session", w.revoke("alice", store.HandleOf("plain")), store.ErrNotFound)
	wantErr(t, "an unknown handle", w.revoke("alice", store.HandleOf("nothing")), store.ErrNotFound)
	wantErr(t, "her live session", w.revoke("alice", store.HandleOf("a")), nil)
	wantErr(t, "again", w.revoke("alice", store.HandleOf("a")), store.ErrNotFound)
	// Expired: ErrNotFound, and the record goes all the same.
	w.clk.Add(time.Second)
	wantErr(t, "her expired session", w.revoke("alice", store.HandleOf("old")), store.ErrNotFound)
	if n := w.rows(); n != 2 {
		t.Fatalf("%d rows, want 2 (b and plain)", n)
	}
}

func TestRevokeAll(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	if n := w.revokeAll("nobody"); n != 0 {
		t.Fatalf("RevokeAll of nobody = %d", n)
	}
	for _, id := range []store.ID{"a", "b", "c", "d"} {
		w.createOwned(id, "alice", string(id), time.Hour, 0)
	}
	w.createOwned("e1", "alice", "", time.Second, 0)
	w.createOwned("e2", "alice", "", time.Second, 0)
	w.createOwned("bob", "bob", "", time.Hour, 0)
	w.create("plain", "", time.Hour)
	w.clk.Add(time.Second)
	// Log out everywhere else: the expired ones go too, uncounted; an
	// ID in except that is not hers, or absent, is ignored.
	if n := w.revokeAll("alice", "b", "bob", "absent", "e2"); n != 3 {
		t.Fatalf("RevokeAll = %d, want 3", n)
	}
	if got := w.list("alice"); len(got) != 1 || got[0].Handle != store.HandleOf("b") {
		t.Fatalf("left: %v", got)
	}
	if n := w.revokeAll("alice"); n != 1 {
		t.Fatalf("RevokeAll = %d, want 1", n)
	}
	if n := w.rows(); n != 2 {
		t.Fatalf("%d rows, want 2 (bob's and the unowned one)", n)
	}
}

func TestTouch(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	w.createOwned("a", "alice", "A", 30*time.Minute, 0)
	// Within the resolution: the record as it is, nothing written.
	w.clk.Add(30 * time.Second)
	if rec, err := w.touch("a", 30*time.Minute, time.Minute); err != nil || !rec.Expires.Equal(t0.Add(30*time.Minute)) || rec.Owner != "alice" {
		t.Fatalf("Touch within the resolution: %+v, %v", rec, err)
	}
	// Exactly the resolution: extended.
	w.clk.Add(30 * time.Second)
	if rec, _ := w.touch("a", 30*time.Minute, time.Minute); !rec.Expires.Equal(t0.Add(31 * time.Minute)) {
		t.Fatalf("Touch by exactly the resolution: %+v", rec)
	}
	// A shorter TTL never shortens; 0 resolution writes whenever it moves.
	w.touch("a", time.Minute, 0)
	w.clk.Add(time.Microsecond)
	if rec, _ := w.touch("a", 30*time.Minute, 0); !rec.Expires.Equal(t0.Add(31*time.Minute + time.Microsecond)) {
		t.Fatalf("Touch by 1µs with resolution 0: %+v", rec)
	}
	// Sub-microsecond resolutions: 1.5µs needs 2µs.
	w.clk.Add(time.Microsecond)
	w.touch("a", 30*time.Minute, 1500*time.Nanosecond)
	w.clk.Add(time.Microsecond)
	w.touch("a", 30*time.Minute, 1500*time.Nanosecond)
	// A resolution of the TTL or more can never be met: a read.
	w.clk.Add(time.Hour / 4)
	w.touch("a", 30*time.Minute, 30*time.Minute)
	w.touch("a", 30*time.Minute, time.Duration(1<<63-1))
	w.touch("a", 30*time.Minute, 30*time.Minute-time.Microsecond)
	// Absent or expired: ErrNotFound, never revived.
	wantTouchNotFound := func(id store.ID) {
		t.Helper()
		if _, err := w.touch(id, time.Hour, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Touch(%s): %v", id, err)
		}
	}
	wantTouchNotFound("absent")
	w.clk.Set(t0.Add(time.Hour))
	wantTouchNotFound("a")
	// An unowned session: owner "".
	w.create("plain", "P", time.Hour)
	w.touch("plain", 2*time.Hour, time.Second)
}

// Update, UpdateTTL and ChangeID (to a free ID or over an expired target)
// keep a session's owner.
func TestOwnerKeptByUpdatesAndMoves(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{})
	w.createOwned("a", "alice", "A", time.Hour, 0)
	w.update("a", "A2", time.Hour)
	w.updateTTL("a", 2*time.Hour)
	w.changeID("a", "b")
	w.createOwned("c", "bob", "C", time.Second, 0)
	w.clk.Add(time.Second)
	w.changeID("b", "c") // over bob's expired session
	if rec, _ := w.load("c"); rec.Owner != "alice" || string(rec.State) != "A2" {
		t.Fatalf("after the moves: %+v", rec)
	}
	if got := w.list("bob"); got != nil {
		t.Fatalf("bob still lists %v", got)
	}
	w.delete("c")
}

// Bad arguments are rejected in the contract's order, before the server
// is reached, and change nothing.
func TestOwnerValidationChangesNothing(t *testing.T) {
	t.Parallel()
	w := newTwin(t, store.Limits{MaxStateSize: 4, MaxTTL: time.Hour})
	w.createOwned("a", "alice", "A", time.Minute, 0)
	w.createOwned("b", "alice", "B", time.Minute, 0)
	badOwners := []store.Owner{"", store.Owner(strings.Repeat("o", store.MaxOwnerLen+1)), "nul\x00", "\xff"}
	for _, o := range badOwners {
		wantErr(t, "CreateOwned, bad owner", w.createOwned("c", o, "", time.Minute, 1), store.ErrInvalidOwner)
		if o != "" { // the empty owner is Cycle's "none"
			wantErr(t, "Cycle, bad owner", w.cycle("a", "c", o, "", time.Minute, 1), store.ErrInvalidOwner)
		}
		_, err := w.s.List(w.ctx, o)
		wantErr(t, "List, bad owner", err, store.ErrInvalidOwner)
		w.list(o)
		wantErr(t, "Revoke, bad owner", w.revoke(o, store.HandleOf("a")), store.ErrInvalidOwner)
		_, err = w.s.RevokeAll(w.ctx, o)
		wantErr(t, "RevokeAll, bad owner", err, store.ErrInvalidOwner)
		w.revokeAll(o)
	}
	// The order: ID, owner, TTL, size, cap.
	wantErr(t, "CreateOwned, bad id first", w.createOwned("bad id", "", "too large", 0, -1), store.ErrInvalidID)
	wantErr(t, "CreateOwned, owner before TTL", w.createOwned("c", "", "too large", 0, -1), store.ErrInvalidOwner)
	wantErr(t, "CreateOwned, TTL before size", w.createOwned("c", "alice", "too large", 2*time.Hour, -1), store.ErrInvalidTTL)
	wantErr(t, "CreateOwned, size before cap", w.createOwned("c", "alice", "too large", time.Minute, -1), store.ErrTooLarge)
	wantErr(t, "CreateOwned, cap", w.createOwned("c", "alice", "", time.Minute, -1), store.ErrInvalidCap)
	// A duplicate is no reason to skip validation.
	wantErr(t, "CreateOwned, bad cap on a duplicate", w.createOwned("a", "alice", "", time.Minute, -1), store.ErrInvalidCap)
	// Cycle: old, new, owner (if any), TTL, size, cap; even old == new.
	wantErr(t, "Cycle, bad old", w.cycle("", "bad id", "", "too large", 0, -1), store.ErrInvalidID)
	wantErr(t, "Cycle, bad new", w.cycle("a", "bad id", "", "too large", 0, -1), store.ErrInvalidID)
	wantErr(t, "Cycle, TTL", w.cycle("a", "a", "", "too large", 0, -1), store.ErrInvalidTTL)
	wantErr(t, "Cycle, size", w.cycle("a", "c", "alice", "too large", time.Minute, -1), store.ErrTooLarge)
	wantErr(t, "Cycle, cap", w.cycle("a", "c", "alice", "", time.Minute, -1), store.ErrInvalidCap)
	wantErr(t, "Cycle, cap without owner", w.cycle("a", "c", "", "", time.Minute, -1), store.ErrInvalidCap)
	// Revoke: owner, then handle.
	for _, h := range []store.Handle{"", "ABCDEF0123456789abcdef0123456789", store.HandleOf("a") + "0", store.HandleOf("a")[1:]} {
		wantErr(t, "Revoke, bad handle", w.revoke("alice", h), store.ErrInvalidHandle)
	}
	// RevokeAll: owner, then every ID in except.
	_, err := w.s.RevokeAll(w.ctx, "alice", "a", "bad id")
	wantErr(t, "RevokeAll, bad except", err, store.ErrInvalidID)
	w.revokeAll("alice", "a", "bad id")
	// Touch: ID, TTL, resolution.
	for _, c := range []struct {
		id              store.ID
		ttl, resolution time.Duration
		want            error
	}{
		{"", 0, -1, store.ErrInvalidID},
		{"a", 0, -1, store.ErrInvalidTTL},
		{"a", 2 * time.Hour, 0, store.ErrInvalidTTL},
		{"a", time.Hour, -1, store.ErrInvalidTTL},
	} {
		_, err := w.touch(c.id, c.ttl, c.resolution)
		wantErr(t, "Touch", err, c.want)
	}
	if n := w.rows(); n != 2 {
		t.Fatalf("%d rows after the rejected calls, want 2", n)
	}
}

// A negative MaxPerOwner is refused when the store is made.
func TestNewRejectsNegativeMaxPerOwner(t *testing.T) {
	pool, _ := unreachablePool(t)
	if _, err := New(pool, Options{Limits: store.Limits{MaxPerOwner: -1}}); !errors.Is(err, store.ErrInvalidCap) {
		t.Fatalf("New with MaxPerOwner -1: %v, want ErrInvalidCap", err)
	}
	if _, err := New(pool, Options{Limits: store.Limits{MaxPerOwner: 3}}); err != nil {
		t.Fatal(err)
	}
}

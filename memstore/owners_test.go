package memstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// The owner rows of the contract (model/owners.go), one scenario per row,
// each played with one shard and with the default, so that an owner's
// sessions lie in one shard and across many.

func createOwned(id store.ID, owner store.Owner, state string, ttl time.Duration, cap int, want error) step {
	return step{fmt.Sprintf("CreateOwned(%s, %s, %q, %v, cap %d)", id, owner, state, ttl, cap), func(t *testing.T, f *fixture) {
		wantErr(t, "CreateOwned", f.s.CreateOwned(ctx, id, owner, []byte(state), ttl, cap), want)
		if want == nil {
			f.created(id, owner, state, ttl)
		}
	}}
}

func cycle(old, new store.ID, owner store.Owner, state string, ttl time.Duration, cap int, want error) step {
	return step{fmt.Sprintf("Cycle(%s, %s, %q, %q, %v, cap %d)", old, new, owner, state, ttl, cap), func(t *testing.T, f *fixture) {
		wantErr(t, "Cycle", f.s.Cycle(ctx, old, new, owner, []byte(state), ttl, cap), want)
	}}
}

// owned expects id to be live with state, expiry t0+exp and owner.
func owned(id store.ID, state string, exp time.Duration, owner store.Owner) step {
	return step{fmt.Sprintf("Load(%s) live, owner %q", id, owner), func(t *testing.T, f *fixture) { f.wantOwned(t, id, state, exp, owner) }}
}

// listed is one expected entry of a List: the session's ID (its handle is
// computed from it) and its expiry as an offset from t0.
type listed struct {
	id  store.ID
	exp time.Duration
}

// list expects owner's List to be exactly want, in that order.
func list(owner store.Owner, want ...listed) step {
	return step{fmt.Sprintf("List(%s) == %v", owner, want), func(t *testing.T, f *fixture) {
		got, err := f.s.List(ctx, owner)
		if err != nil {
			t.Fatalf("List(%q): %v", owner, err)
		}
		if len(got) != len(want) {
			t.Fatalf("List(%q) has %d sessions, want %d: %v", owner, len(got), len(want), got)
		}
		for k, w := range want {
			if got[k].Handle != store.HandleOf(w.id) || !got[k].Expires.Equal(t0.Add(w.exp)) {
				t.Fatalf("List(%q)[%d] = {%s, %v}, want %s {%s, %v}", owner, k, got[k].Handle, got[k].Expires, w.id, store.HandleOf(w.id), t0.Add(w.exp))
			}
		}
	}}
}

func revoke(owner store.Owner, id store.ID, want error) step {
	return step{fmt.Sprintf("Revoke(%s, handle of %s)", owner, id), func(t *testing.T, f *fixture) {
		wantErr(t, "Revoke", f.s.Revoke(ctx, owner, store.HandleOf(id)), want)
	}}
}

// revokeAll expects RevokeAll(owner, except...) to report n live removed.
func revokeAll(owner store.Owner, n int, want error, except ...store.ID) step {
	return step{fmt.Sprintf("RevokeAll(%s, except %v)", owner, except), func(t *testing.T, f *fixture) {
		got, err := f.s.RevokeAll(ctx, owner, except...)
		wantErr(t, "RevokeAll", err, want)
		if got != n {
			t.Fatalf("RevokeAll(%q, %v) = %d, want %d", owner, except, got, n)
		}
	}}
}

func TestCreateOwned(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"new: owned, expiry now+ttl", []step{
			at(sec), createOwned("a", "u", "v", sec, 0, nil),
			owned("a", "v", 2*sec, "u"), list("u", listed{"a", 2 * sec}), list("w"), holds(1),
		}},
		{"live duplicate: no effect, nothing evicted", []step{
			createOwned("a", "u", "v1", sec, 0, nil), createOwned("b", "u", "w", 2*sec, 0, nil),
			createOwned("a", "u", "v2", time.Hour, 1, store.ErrDuplicateID),
			createOwned("a", "x", "v2", time.Hour, 0, store.ErrDuplicateID),
			owned("a", "v1", sec, "u"), list("u", listed{"a", sec}, listed{"b", 2 * sec}), list("x"), holds(2),
		}},
		{"live unowned duplicate", []step{
			create("a", "v", sec, nil), createOwned("a", "u", "w", sec, 0, store.ErrDuplicateID),
			owned("a", "v", sec, ""), list("u"),
		}},
		{"over an expired record of another owner", []step{
			createOwned("a", "x", "v1", sec, 0, nil), at(sec),
			createOwned("a", "u", "v2", sec, 0, nil),
			owned("a", "v2", 2*sec, "u"), list("x"), list("u", listed{"a", 2 * sec}), holds(1),
			revokeAll("x", 0, nil), holds(1), reclaim(0, 0, nil),
		}},
		{"cap: the oldest live go, earliest expiry first", []step{
			createOwned("c", "u", "", 3*sec, 0, nil), createOwned("a", "u", "", 5*sec, 0, nil),
			createOwned("b", "u", "", 2*sec, 0, nil), createOwned("d", "u", "", 4*sec, 0, nil),
			createOwned("e", "u", "", 6*sec, 3, nil),
			missing("b"), missing("c"), list("u", listed{"d", 4 * sec}, listed{"a", 5 * sec}, listed{"e", 6 * sec}), holds(3),
		}},
		{"cap: expiry ties broken by ID in byte order", []step{
			createOwned("b", "u", "", sec, 0, nil), createOwned("_", "u", "", sec, 0, nil),
			createOwned("B", "u", "", sec, 0, nil), createOwned("a", "u", "", sec, 0, nil),
			// Byte order: "B" < "_" < "a" < "b".
			createOwned("z", "u", "", sec, 3, nil),
			missing("B"), missing("_"), list("u", listed{"a", sec}, listed{"b", sec}, listed{"z", sec}),
		}},
		{"cap: under it, nothing goes", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", sec, 3, nil),
			createOwned("c", "u", "", sec, 3, nil), list("u", listed{"a", sec}, listed{"b", sec}, listed{"c", sec}),
		}},
		{"cap 1: every other session goes", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 1, nil), list("u", listed{"c", 3 * sec}), holds(1),
		}},
		{"cap: an owner over it comes down to it", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil), createOwned("d", "u", "", 4*sec, 2, nil),
			list("u", listed{"c", 3 * sec}, listed{"d", 4 * sec}),
		}},
		{"cap: expired owned records neither count nor go", []step{
			createOwned("x", "u", "", sec, 0, nil), createOwned("y", "u", "", sec, 0, nil),
			createOwned("a", "u", "", 3*sec, 0, nil), at(sec),
			createOwned("b", "u", "", 3*sec, 2, nil),
			list("u", listed{"a", 3 * sec}, listed{"b", 4 * sec}), holds(4),
			at(0), list("u", listed{"x", sec}, listed{"y", sec}, listed{"a", 3 * sec}, listed{"b", 4 * sec}),
		}},
		{"cap: other owners and unowned sessions untouched", []step{
			create("n", "", sec, nil), createOwned("o", "x", "", sec, 0, nil),
			createOwned("a", "u", "", 2*sec, 0, nil), createOwned("b", "u", "", 3*sec, 1, nil),
			owned("n", "", sec, ""), owned("o", "", sec, "x"), missing("a"), list("u", listed{"b", 3 * sec}),
		}},
	})
	// A store whose MaxPerOwner is 3.
	runScenarios(t, memstore.Options{Limits: store.Limits{MaxPerOwner: 3}}, []scenario{
		{"cap 0 is the store's MaxPerOwner", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil), createOwned("d", "u", "", 4*sec, 0, nil),
			list("u", listed{"b", 2 * sec}, listed{"c", 3 * sec}, listed{"d", 4 * sec}),
		}},
		{"a call's cap overrides MaxPerOwner, either way", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil), createOwned("d", "u", "", 4*sec, 5, nil),
			list("u", listed{"a", sec}, listed{"b", 2 * sec}, listed{"c", 3 * sec}, listed{"d", 4 * sec}),
			createOwned("e", "u", "", 5*sec, 1, nil), list("u", listed{"e", 5 * sec}),
		}},
		{"Cycle with cap 0 applies MaxPerOwner", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil), create("n", "", sec, nil),
			cycle("n", "m", "u", "s", 4*sec, 0, nil),
			list("u", listed{"b", 2 * sec}, listed{"c", 3 * sec}, listed{"m", 4 * sec}),
		}},
		{"Cycle with no owner applies no cap", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil),
			cycle("c", "d", "", "s", 4*sec, 0, nil), owned("d", "s", 4*sec, ""),
			list("u", listed{"a", sec}, listed{"b", 2 * sec}),
		}},
	})
}

func TestCycle(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"moves and replaces state, expiry and owner", []step{
			create("old", "anon", time.Hour, nil), at(sec),
			cycle("old", "new", "u", "user", 2*sec, 0, nil),
			missing("old"), owned("new", "user", 3*sec, "u"), list("u", listed{"new", 3 * sec}), holds(1),
		}},
		{"to another owner: leaves the old owner's list", []step{
			createOwned("old", "x", "v", sec, 0, nil),
			cycle("old", "new", "u", "w", sec, 0, nil),
			list("x"), list("u", listed{"new", sec}), owned("new", "w", sec, "u"),
		}},
		{"to no owner", []step{
			createOwned("old", "u", "v", sec, 0, nil),
			cycle("old", "new", "", "w", 2*sec, 0, nil),
			owned("new", "w", 2*sec, ""), list("u"), revokeAll("u", 0, nil), holds(1),
		}},
		{"old absent: not found", []step{
			createOwned("new", "u", "w", sec, 0, nil),
			cycle("old", "new", "u", "x", sec, 0, store.ErrNotFound),
			owned("new", "w", sec, "u"), holds(1),
		}},
		{"old expired: not found, left as it is", []step{
			createOwned("old", "u", "v", sec, 0, nil), at(sec),
			cycle("old", "new", "u", "x", sec, 0, store.ErrNotFound),
			missing("new"), holds(1), at(0), owned("old", "v", sec, "u"),
		}},
		{"new live: duplicate, no effect, nothing evicted", []step{
			createOwned("old", "u", "v", sec, 0, nil), createOwned("new", "x", "w", 2*sec, 0, nil),
			createOwned("o2", "u", "", 3*sec, 0, nil),
			cycle("old", "new", "u", "z", sec, 1, store.ErrDuplicateID),
			owned("old", "v", sec, "u"), owned("new", "w", 2*sec, "x"),
			list("u", listed{"old", sec}, listed{"o2", 3 * sec}), holds(3),
		}},
		{"old == new, live: duplicate", []step{
			createOwned("a", "u", "v", sec, 0, nil),
			cycle("a", "a", "x", "w", time.Hour, 0, store.ErrDuplicateID), owned("a", "v", sec, "u"),
		}},
		{"old == new, expired: not found", []step{
			createOwned("a", "u", "v", sec, 0, nil), at(sec),
			cycle("a", "a", "u", "w", time.Hour, 0, store.ErrNotFound), holds(1),
		}},
		{"new expired: replaced", []step{
			createOwned("new", "x", "stale", sec, 0, nil), create("old", "v", time.Hour, nil), at(sec),
			cycle("old", "new", "u", "w", sec, 0, nil),
			missing("old"), owned("new", "w", 2*sec, "u"), holds(1),
			at(0), list("x"), reclaim(0, 0, nil),
		}},
		{"cap: the cycled session does not count against its owner", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil),
			// Counted, c would be the one to stay, and a would go.
			cycle("c", "d", "u", "", 4*sec, 3, nil),
			list("u", listed{"a", sec}, listed{"b", 2 * sec}, listed{"d", 4 * sec}),
		}},
		{"cap: a session joining an owner at its cap evicts the oldest", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil), create("n", "anon", 5*sec, nil),
			cycle("n", "m", "u", "", sec, 3, nil),
			missing("a"), missing("n"), list("u", listed{"m", sec}, listed{"b", 2 * sec}, listed{"c", 3 * sec}),
		}},
		{"cap: ties by ID, expired not counted", []step{
			createOwned("x", "u", "", sec, 0, nil), createOwned("b", "u", "", 3*sec, 0, nil),
			createOwned("a", "u", "", 3*sec, 0, nil), create("n", "", time.Hour, nil), at(sec),
			cycle("n", "m", "u", "", sec, 2, nil),
			list("u", listed{"m", 2 * sec}, listed{"b", 3 * sec}), holds(3),
		}},
		{"cap with no owner: none applies", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("old", "u", "", sec, 0, nil),
			cycle("old", "new", "", "", sec, 1, nil), list("u", listed{"a", sec}), owned("new", "", sec, ""),
		}},
	})
}

func TestList(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"none", []step{list("u"), create("a", "", sec, nil), list("u")}},
		{"oldest first, ties by ID; others' and unowned excluded", []step{
			createOwned("m", "u", "", 2*sec, 0, nil), createOwned("z", "u", "", sec, 0, nil),
			createOwned("a", "u", "", 2*sec, 0, nil), createOwned("o", "x", "", sec, 0, nil),
			create("n", "", sec, nil), createOwned("B", "u", "", 2*sec, 0, nil),
			list("u", listed{"z", sec}, listed{"B", 2 * sec}, listed{"a", 2 * sec}, listed{"m", 2 * sec}),
			list("x", listed{"o", sec}),
		}},
		{"expired excluded from the boundary on", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			at(sec - us), list("u", listed{"a", sec}, listed{"b", 2 * sec}),
			at(sec), list("u", listed{"b", 2 * sec}),
			at(2 * sec), list("u"), holds(2),
		}},
		{"the handle follows ChangeID; the order follows Update and UpdateTTL", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			change("a", "c", nil), list("u", listed{"c", sec}, listed{"b", 2 * sec}),
			update("c", "v", 3*sec, nil), list("u", listed{"b", 2 * sec}, listed{"c", 3 * sec}),
			touch("b", 4*sec, nil), list("u", listed{"c", 3 * sec}, listed{"b", 4 * sec}),
		}},
		{"Create over an expired owned record drops it from the list", []step{
			createOwned("a", "u", "", sec, 0, nil), at(sec), create("a", "v", sec, nil),
			at(0), list("u"), owned("a", "v", 2*sec, ""),
		}},
		{"Delete and DeleteExpired drop records from the list", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil), del("c", nil),
			at(sec), reclaim(0, 1, nil), at(0), list("u", listed{"b", 2 * sec}),
		}},
	})
}

func TestRevoke(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"live: removed", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", sec, 0, nil),
			revoke("u", "a", nil), missing("a"), list("u", listed{"b", sec}), holds(1),
			revoke("u", "a", store.ErrNotFound),
		}},
		{"another owner's handle: not found, nothing changes", []step{
			createOwned("a", "x", "v", sec, 0, nil), createOwned("b", "u", "w", sec, 0, nil),
			revoke("u", "a", store.ErrNotFound),
			owned("a", "v", sec, "x"), owned("b", "w", sec, "u"), holds(2),
		}},
		{"another owner's expired session: not found, left", []step{
			createOwned("a", "x", "v", sec, 0, nil), at(sec),
			revoke("u", "a", store.ErrNotFound), holds(1), at(0), owned("a", "v", sec, "x"),
		}},
		{"an unowned session: not found, left", []step{
			create("a", "v", sec, nil), revoke("u", "a", store.ErrNotFound), owned("a", "v", sec, ""),
		}},
		{"expired: not found, removed all the same", []step{
			createOwned("a", "u", "v", sec, 0, nil), at(sec),
			revoke("u", "a", store.ErrNotFound), holds(0), at(0), missing("a"), list("u"),
		}},
		{"absent", []step{revoke("u", "a", store.ErrNotFound), holds(0)}},
		{"after ChangeID the old handle is gone", []step{
			createOwned("a", "u", "v", sec, 0, nil), change("a", "b", nil),
			revoke("u", "a", store.ErrNotFound), owned("b", "v", sec, "u"),
			revoke("u", "b", nil), holds(0),
		}},
	})
}

func TestRevokeAll(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"none", []step{revokeAll("u", 0, nil), create("a", "", sec, nil), revokeAll("u", 0, nil), holds(1)}},
		{"live and expired go; only live ones count", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil), at(sec),
			revokeAll("u", 2, nil), holds(0), at(0), list("u"),
		}},
		{"others and unowned untouched", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("o", "x", "v", sec, 0, nil),
			create("n", "w", sec, nil),
			revokeAll("u", 1, nil), owned("o", "v", sec, "x"), owned("n", "w", sec, ""), holds(2),
		}},
		{"except keeps live and expired sessions", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			createOwned("c", "u", "", 3*sec, 0, nil), createOwned("d", "u", "", 4*sec, 0, nil), at(sec),
			revokeAll("u", 2, nil, "a", "c", "c"),
			holds(2), at(0), list("u", listed{"a", sec}, listed{"c", 3 * sec}),
		}},
		{"except naming others' and absent IDs is ignored", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("o", "x", "v", sec, 0, nil),
			create("n", "w", sec, nil),
			revokeAll("u", 1, nil, "o", "n", "zz"),
			missing("a"), owned("o", "v", sec, "x"), owned("n", "w", sec, ""),
		}},
	})
}

// TestOwnerKept checks that the Store methods keep a record's owner, and
// that Create makes records without one.
func TestOwnerKept(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"Create: none", []step{create("a", "v", sec, nil), owned("a", "v", sec, "")}},
		{"Update, UpdateTTL, ChangeID keep it", []step{
			createOwned("a", "u", "v", sec, 0, nil),
			update("a", "w", 2*sec, nil), owned("a", "w", 2*sec, "u"),
			touch("a", 3*sec, nil), owned("a", "w", 3*sec, "u"),
			change("a", "b", nil), owned("b", "w", 3*sec, "u"), list("u", listed{"b", 3 * sec}),
		}},
		{"ChangeID onto an expired record of another owner", []step{
			createOwned("b", "x", "", sec, 0, nil), createOwned("a", "u", "v", 2*sec, 0, nil), at(sec),
			change("a", "b", nil), owned("b", "v", 2*sec, "u"), at(0), list("x"), list("u", listed{"b", 2 * sec}),
		}},
	})
}

// TestOwnedInvalidInputHasNoEffect checks the validation order of every
// owner operation and that a rejected call reads no clock and changes
// nothing, on a store where owner u has two live sessions and an expired
// one.
func TestOwnedInvalidInputHasNoEffect(t *testing.T) {
	long := store.ID(strings.Repeat("a", store.MaxIDLen+1))
	longOwner := store.Owner(strings.Repeat("u", store.MaxOwnerLen+1))
	big := make([]byte, 9)
	h := store.HandleOf("a")
	cases := []struct {
		op
		want error
	}{
		{op{"CreateOwned bad id before owner", func(c context.Context, s *memstore.Store) error {
			return s.CreateOwned(c, "b=", "", nil, 0, -1)
		}}, store.ErrInvalidID},
		{op{"CreateOwned empty owner", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "b", "", nil, sec, 1) }}, store.ErrInvalidOwner},
		{op{"CreateOwned owner too long", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "b", longOwner, nil, sec, 1) }}, store.ErrInvalidOwner},
		{op{"CreateOwned owner not UTF-8", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "b", "u\xff", nil, sec, 1) }}, store.ErrInvalidOwner},
		{op{"CreateOwned owner with NUL", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "b", "u\x00", nil, sec, 1) }}, store.ErrInvalidOwner},
		{op{"CreateOwned owner before ttl", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "b", "", big, 0, -1) }}, store.ErrInvalidOwner},
		{op{"CreateOwned ttl before size", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "b", "u", big, 0, -1) }}, store.ErrInvalidTTL},
		{op{"CreateOwned ttl over max", func(c context.Context, s *memstore.Store) error {
			return s.CreateOwned(c, "b", "u", nil, time.Hour+us, 1)
		}}, store.ErrInvalidTTL},
		{op{"CreateOwned size before cap", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "b", "u", big, sec, -1) }}, store.ErrTooLarge},
		{op{"CreateOwned negative cap", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "b", "u", nil, sec, -1) }}, store.ErrInvalidCap},
		{op{"CreateOwned over live, negative cap", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "a", "u", nil, sec, -1) }}, store.ErrInvalidCap},
		{op{"Cycle bad old before new", func(c context.Context, s *memstore.Store) error { return s.Cycle(c, "", long, "u", nil, sec, 1) }}, store.ErrInvalidID},
		{op{"Cycle bad new before owner", func(c context.Context, s *memstore.Store) error { return s.Cycle(c, "a", long, "u\xff", nil, sec, 1) }}, store.ErrInvalidID},
		{op{"Cycle bad owner before ttl", func(c context.Context, s *memstore.Store) error { return s.Cycle(c, "a", "b", "u\x00", nil, 0, 1) }}, store.ErrInvalidOwner},
		{op{"Cycle ttl before size", func(c context.Context, s *memstore.Store) error { return s.Cycle(c, "a", "b", "", big, 0, 1) }}, store.ErrInvalidTTL},
		{op{"Cycle size before cap", func(c context.Context, s *memstore.Store) error { return s.Cycle(c, "a", "b", "u", big, sec, -1) }}, store.ErrTooLarge},
		{op{"Cycle negative cap", func(c context.Context, s *memstore.Store) error { return s.Cycle(c, "a", "b", "u", nil, sec, -1) }}, store.ErrInvalidCap},
		{op{"Cycle negative cap, no owner", func(c context.Context, s *memstore.Store) error { return s.Cycle(c, "a", "b", "", nil, sec, -1) }}, store.ErrInvalidCap},
		{op{"List empty owner", func(c context.Context, s *memstore.Store) error { _, err := s.List(c, ""); return err }}, store.ErrInvalidOwner},
		{op{"List owner too long", func(c context.Context, s *memstore.Store) error { _, err := s.List(c, longOwner); return err }}, store.ErrInvalidOwner},
		{op{"Revoke bad owner before handle", func(c context.Context, s *memstore.Store) error { return s.Revoke(c, "", "x") }}, store.ErrInvalidOwner},
		{op{"Revoke short handle", func(c context.Context, s *memstore.Store) error { return s.Revoke(c, "u", h[1:]) }}, store.ErrInvalidHandle},
		{op{"Revoke upper-case handle", func(c context.Context, s *memstore.Store) error {
			return s.Revoke(c, "u", store.Handle(strings.ToUpper(string(h))))
		}}, store.ErrInvalidHandle},
		{op{"Revoke the ID in place of the handle", func(c context.Context, s *memstore.Store) error { return s.Revoke(c, "u", "a") }}, store.ErrInvalidHandle},
		{op{"RevokeAll bad owner before except", func(c context.Context, s *memstore.Store) error {
			_, err := s.RevokeAll(c, "u\xff", "a=")
			return err
		}}, store.ErrInvalidOwner},
		{op{"RevokeAll bad except", func(c context.Context, s *memstore.Store) error {
			_, err := s.RevokeAll(c, "u", "a", long)
			return err
		}}, store.ErrInvalidID},
		{op{"Touch bad id before ttl", func(c context.Context, s *memstore.Store) error { _, err := s.Touch(c, "", 0, -1); return err }}, store.ErrInvalidID},
		{op{"Touch zero ttl", func(c context.Context, s *memstore.Store) error { _, err := s.Touch(c, "a", 0, 0); return err }}, store.ErrInvalidTTL},
		{op{"Touch ttl over max", func(c context.Context, s *memstore.Store) error {
			_, err := s.Touch(c, "a", time.Hour+us, 0)
			return err
		}}, store.ErrInvalidTTL},
		{op{"Touch negative resolution", func(c context.Context, s *memstore.Store) error { _, err := s.Touch(c, "a", sec, -us); return err }}, store.ErrInvalidTTL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, memstore.Options{Limits: store.Limits{MaxStateSize: 8, MaxTTL: time.Hour}})
			for _, c := range []struct {
				id  store.ID
				ttl time.Duration
			}{{"a", sec}, {"c", 2 * sec}, {"gone", us}} {
				if err := f.s.CreateOwned(ctx, c.id, "u", []byte("v"), c.ttl, 0); err != nil {
					t.Fatal(err)
				}
			}
			f.at(us) // gone is expired: an invalid call must not reclaim it
			f.clk.reads.Store(0)
			wantErr(t, tc.name, tc.call(ctx, f.s), tc.want)
			if n := f.clk.reads.Load(); n != 0 {
				t.Errorf("clock read %d times before validation failed, want 0", n)
			}
			f.wantOwned(t, "a", "v", sec, "u")
			f.wantMissing(t, "b")
			f.wantLen(t, 3)
			list("u", listed{"a", sec}, listed{"c", 2 * sec}).run(t, f)
		})
	}
}

// TestNegativeMaxPerOwner: a store configured with a negative cap rejects
// every call that would fall back on it, and accepts a call's own cap.
func TestNegativeMaxPerOwner(t *testing.T) {
	runScenarios(t, memstore.Options{Limits: store.Limits{MaxPerOwner: -1}}, []scenario{
		{"rows", []step{
			createOwned("a", "u", "", sec, 0, store.ErrInvalidCap),
			createOwned("a", "u", "", sec, 2, nil),
			// The model validates the cap even when no owner makes it apply.
			cycle("a", "b", "", "", sec, 0, store.ErrInvalidCap),
			cycle("a", "b", "u", "", sec, 1, nil), list("u", listed{"b", sec}), holds(1),
		}},
	})
}

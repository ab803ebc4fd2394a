package memstore_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// A step is one line of a contract scenario: an operation with the outcome
// the contract requires, or a move of the clock, or an observation.
type step struct {
	name string
	run  func(t *testing.T, f *fixture)
}

func at(d time.Duration) step {
	return step{fmt.Sprintf("clock at t0+%v", d), func(t *testing.T, f *fixture) { f.at(d) }}
}

func create(id store.ID, state string, ttl time.Duration, want error) step {
	return step{fmt.Sprintf("Create(%s, %q, %v)", id, state, ttl), func(t *testing.T, f *fixture) {
		wantErr(t, "Create", f.s.Create(ctx, id, []byte(state), ttl), want)
		if want == nil {
			f.created(id, "", state, ttl)
		}
	}}
}

// load expects id to be live with state, expiring at t0+exp.
func load(id store.ID, state string, exp time.Duration) step {
	return step{fmt.Sprintf("Load(%s) live", id), func(t *testing.T, f *fixture) { f.wantLoad(t, id, state, exp) }}
}

func missing(id store.ID) step {
	return step{fmt.Sprintf("Load(%s) not found", id), func(t *testing.T, f *fixture) { f.wantMissing(t, id) }}
}

func update(id store.ID, state string, ttl time.Duration, want error) step {
	return step{fmt.Sprintf("Update(%s, %q, %v)", id, state, ttl), func(t *testing.T, f *fixture) {
		wantErr(t, "Update", f.s.Update(ctx, id, []byte(state), ttl), want)
	}}
}

func touch(id store.ID, ttl time.Duration, want error) step {
	return step{fmt.Sprintf("UpdateTTL(%s, %v)", id, ttl), func(t *testing.T, f *fixture) {
		wantErr(t, "UpdateTTL", f.s.UpdateTTL(ctx, id, ttl), want)
	}}
}

func del(id store.ID, want error) step {
	return step{fmt.Sprintf("Delete(%s)", id), func(t *testing.T, f *fixture) {
		wantErr(t, "Delete", f.s.Delete(ctx, id), want)
	}}
}

func change(old, new store.ID, want error) step {
	return step{fmt.Sprintf("ChangeID(%s, %s)", old, new), func(t *testing.T, f *fixture) {
		wantErr(t, "ChangeID", f.s.ChangeID(ctx, old, new), want)
	}}
}

// reclaim calls DeleteExpired(limit) and expects n removed.
func reclaim(limit, n int, want error) step {
	return step{fmt.Sprintf("DeleteExpired(%d)", limit), func(t *testing.T, f *fixture) {
		got, err := f.s.DeleteExpired(ctx, limit)
		wantErr(t, "DeleteExpired", err, want)
		if got != n {
			t.Fatalf("DeleteExpired(%d) = %d, want %d", limit, got, n)
		}
	}}
}

// holds expects n records physically present, live or expired.
func holds(n int) step {
	return step{fmt.Sprintf("Len() == %d", n), func(t *testing.T, f *fixture) { f.wantLen(t, n) }}
}

type scenario struct {
	name  string
	steps []step
}

// runScenarios plays each scenario on a fresh store, once with a single
// shard and once with several, so that single-shard and cross-shard paths
// (ChangeID in particular) both meet every row.
func runScenarios(t *testing.T, opts memstore.Options, scenarios []scenario) {
	t.Helper()
	for _, shards := range []int{1, 0} {
		for _, sc := range scenarios {
			t.Run(fmt.Sprintf("shards=%d/%s", shards, sc.name), func(t *testing.T) {
				o := opts
				o.Shards = shards
				f := newFixture(t, o)
				for i, st := range sc.steps {
					t.Run(fmt.Sprintf("%02d %s", i, st.name), func(t *testing.T) { st.run(t, f) })
					if t.Failed() {
						return
					}
				}
				f.checkInvariants(t)
			})
		}
	}
}

const (
	sec = time.Second
	us  = time.Microsecond
)

func TestCreate(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"new", []step{create("a", "v", sec, nil), load("a", "v", sec), holds(1)}},
		{"empty state", []step{create("a", "", sec, nil), load("a", "", sec)}},
		{"live duplicate has no effect", []step{
			create("a", "v1", sec, nil), at(sec - us),
			create("a", "v2", time.Hour, store.ErrDuplicateID),
			load("a", "v1", sec), holds(1),
		}},
		{"over expired, at the exact expiry", []step{
			create("a", "v1", sec, nil), at(sec),
			create("a", "v2", time.Minute, nil),
			load("a", "v2", sec+time.Minute), holds(1), reclaim(0, 0, nil),
		}},
		{"over expired, long after", []step{
			create("a", "v1", sec, nil), at(time.Hour),
			create("a", "v2", sec, nil),
			load("a", "v2", time.Hour+sec), reclaim(0, 0, nil), holds(1),
		}},
		{"replaced record leaves reclaim order", []step{
			create("a", "v1", sec, nil), create("b", "w", 2*sec, nil), at(3 * sec),
			create("a", "v2", sec, nil),
			reclaim(1, 1, nil), missing("b"), load("a", "v2", 4*sec), holds(1),
		}},
	})
}

func TestLoad(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"absent", []step{missing("a"), holds(0)}},
		{"expiry boundary", []step{
			create("a", "v", sec, nil),
			at(sec - us), load("a", "v", sec),
			at(sec), missing("a"),
			at(sec + us), missing("a"),
			holds(1),
		}},
		{"sub-microsecond clock and TTL are truncated", []step{
			// now = t0 (999ns dropped); t0 + 1s+1.5µs truncates to t0+1s+1µs.
			at(999), create("a", "v", sec+1500, nil), load("a", "v", sec+us),
			at(sec + 999), load("a", "v", sec+us), // now truncates to t0+1s
			at(sec + us), missing("a"),
		}},
		{"clock moved back makes an expired record live again", []step{
			create("a", "v", sec, nil), at(2 * sec), missing("a"),
			at(0), load("a", "v", sec),
		}},
	})
}

func TestUpdate(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"live: state and expiry replaced", []step{
			create("a", "v1", sec, nil), at(sec / 2),
			update("a", "v2", sec, nil), load("a", "v2", sec+sec/2),
			at(sec + sec/4), load("a", "v2", sec+sec/2),
		}},
		{"live: expiry may shrink", []step{
			create("a", "v1", time.Hour, nil),
			update("a", "v2", us, nil), load("a", "v2", us), at(us), missing("a"),
		}},
		{"live just before expiry", []step{
			create("a", "v1", sec, nil), at(sec - us),
			update("a", "v2", sec, nil), load("a", "v2", 2*sec-us),
		}},
		{"sub-microsecond clock and TTL truncated", []step{
			create("a", "v1", sec, nil), at(sec/2 + 999),
			update("a", "v2", sec+999, nil), load("a", "v2", sec+sec/2),
		}},
		{"absent: not found, nothing created", []step{
			update("a", "v", sec, store.ErrNotFound), missing("a"), holds(0),
		}},
		{"expired at the boundary: not found, record left", []step{
			create("a", "v1", sec, nil), at(sec),
			update("a", "v2", time.Hour, store.ErrNotFound),
			missing("a"), holds(1),
			at(0), load("a", "v1", sec), // untouched: rewinding shows the old record
			at(sec), reclaim(0, 1, nil), holds(0),
		}},
	})
}

func TestUpdateTTL(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"live: expiry replaced, state kept", []step{
			create("a", "v", sec, nil), at(sec / 2),
			touch("a", time.Minute, nil), load("a", "v", sec/2+time.Minute),
		}},
		{"live: expiry may shrink", []step{
			create("a", "v", time.Hour, nil), touch("a", sec, nil), load("a", "v", sec),
			at(sec), missing("a"),
		}},
		{"sub-microsecond TTL truncated", []step{
			create("a", "v", sec, nil), touch("a", sec+999, nil), load("a", "v", sec),
		}},
		{"absent", []step{touch("a", sec, store.ErrNotFound), holds(0)}},
		{"expired: not found, record left", []step{
			create("a", "v", sec, nil), at(sec),
			touch("a", time.Hour, store.ErrNotFound),
			holds(1), at(0), load("a", "v", sec),
			at(sec), reclaim(0, 1, nil),
		}},
	})
}

func TestDelete(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"live", []step{
			create("a", "v", sec, nil), at(sec - us),
			del("a", nil), missing("a"), holds(0),
			del("a", store.ErrNotFound),
		}},
		{"expired: removed, not found", []step{
			create("a", "v", sec, nil), at(sec),
			del("a", store.ErrNotFound), holds(0),
			reclaim(0, 0, nil),
			at(0), missing("a"), // really gone, not just expired
		}},
		{"absent", []step{del("a", store.ErrNotFound), holds(0)}},
		{"others untouched", []step{
			create("a", "v", sec, nil), create("b", "w", sec, nil),
			del("a", nil), load("b", "w", sec), holds(1),
		}},
	})
}

func TestChangeID(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"onto absent: moves with state and expiry", []step{
			create("old", "v", sec, nil), at(sec / 2),
			change("old", "new", nil),
			missing("old"), load("new", "v", sec), holds(1),
		}},
		{"onto live: duplicate, no effect", []step{
			create("old", "v", sec, nil), create("new", "w", 2*sec, nil),
			change("old", "new", store.ErrDuplicateID),
			load("old", "v", sec), load("new", "w", 2*sec), holds(2),
		}},
		{"onto expired: replaces it", []step{
			create("new", "stale", sec, nil), create("old", "v", time.Hour, nil), at(sec),
			change("old", "new", nil),
			missing("old"), load("new", "v", time.Hour), holds(1), reclaim(0, 0, nil),
		}},
		{"from absent", []step{
			create("new", "w", sec, nil),
			change("old", "new", store.ErrNotFound), load("new", "w", sec), holds(1),
		}},
		{"from expired: not found, both left", []step{
			create("old", "v", sec, nil), create("new", "w", time.Hour, nil), at(sec),
			change("old", "new", store.ErrNotFound),
			load("new", "w", time.Hour), holds(2),
		}},
		{"from expired onto absent: not found", []step{
			create("old", "v", sec, nil), at(sec),
			change("old", "new", store.ErrNotFound), holds(1),
			at(0), load("old", "v", sec), missing("new"),
		}},
		{"old == new, live: duplicate", []step{
			create("a", "v", sec, nil),
			change("a", "a", store.ErrDuplicateID), load("a", "v", sec), holds(1),
		}},
		{"old == new, expired: not found", []step{
			create("a", "v", sec, nil), at(sec),
			change("a", "a", store.ErrNotFound), holds(1),
		}},
		{"old == new, absent: not found", []step{change("a", "a", store.ErrNotFound), holds(0)}},
		{"there and back", []step{
			create("a", "v", sec, nil),
			change("a", "b", nil), change("b", "c", nil), change("c", "a", nil),
			load("a", "v", sec), missing("b"), missing("c"), holds(1),
		}},
		{"moved record keeps its reclaim position", []step{
			create("a", "v", sec, nil), create("m", "w", 2*sec, nil),
			change("a", "z", nil), at(3 * sec),
			// z expires first although its ID now sorts after m.
			reclaim(1, 1, nil), at(0), missing("z"), load("m", "w", 2*sec),
		}},
		{"expiry ties re-sorted by the new ID", []step{
			create("a", "v", sec, nil), create("m", "w", sec, nil),
			change("a", "z", nil), at(sec),
			reclaim(1, 1, nil), at(0), missing("m"), load("z", "v", sec),
		}},
	})
}

func TestDeleteExpired(t *testing.T) {
	runScenarios(t, memstore.Options{}, []scenario{
		{"empty", []step{reclaim(0, 0, nil), reclaim(5, 0, nil)}},
		{"live records stay", []step{
			create("a", "v", sec, nil), at(sec - us), reclaim(0, 0, nil), load("a", "v", sec),
		}},
		{"expired at the boundary", []step{
			create("a", "v", sec, nil), create("b", "w", sec+us, nil), at(sec),
			reclaim(0, 1, nil), load("b", "w", sec+us), holds(1),
		}},
		{"invalid limit: no effect", []step{
			create("a", "v", sec, nil), at(sec),
			reclaim(-1, 0, store.ErrInvalidLimit), holds(1), reclaim(0, 1, nil),
		}},
	})
}

// TestDeleteExpiredOrder checks the one ordering the contract fixes: a
// limited DeleteExpired removes the earliest expiries first, ties broken by
// ID in byte order ('-' < digits < upper case < '_' < lower case), for every
// limit below, at and above the number of expired records.
func TestDeleteExpiredOrder(t *testing.T) {
	type rec struct {
		id  store.ID
		ttl time.Duration
	}
	// Created in an order unrelated to reclaim order.
	recs := []rec{
		{"late", 3 * sec}, {"x_", 2 * sec}, {"first", sec}, {"xA", 2 * sec},
		{"x-", 2 * sec}, {"live", time.Hour}, {"x0", 2 * sec}, {"Xz", 2 * sec},
		{"xa", 2 * sec}, {"edge", 3*sec + us},
	}
	order := []store.ID{"first", "Xz", "x-", "x0", "xA", "x_", "xa", "late", "edge"}
	cutoff := 3*sec + us // edge expires exactly now; live does not

	for _, shards := range []int{1, 2, 0} {
		for limit := 0; limit <= len(order)+2; limit++ {
			t.Run(fmt.Sprintf("shards=%d/limit=%d", shards, limit), func(t *testing.T) {
				f := newFixture(t, memstore.Options{Shards: shards})
				for _, r := range recs {
					f.mustCreate(t, r.id, string(r.id), r.ttl)
				}
				f.at(cutoff)
				want := len(order)
				if limit > 0 {
					want = min(limit, len(order))
				}
				n, err := f.s.DeleteExpired(ctx, limit)
				if err != nil || n != want {
					t.Fatalf("DeleteExpired(%d) = %d, %v; want %d", limit, n, err, want)
				}
				// Rewind so that every record still held is live again and
				// Load can tell which ones the call removed.
				f.at(0)
				gone := map[store.ID]bool{}
				for _, id := range order[:want] {
					gone[id] = true
				}
				for _, r := range recs {
					if gone[r.id] {
						f.wantMissing(t, r.id)
					} else {
						f.wantLoad(t, r.id, string(r.id), r.ttl)
					}
				}
				f.wantLen(t, len(recs)-want)
				f.checkInvariants(t)
			})
		}
	}
}

// TestDeleteExpiredBatches reclaims many records spread over many shards in
// small batches and checks that, batch after batch, exactly the earliest
// remaining records in reclaim order went.
func TestDeleteExpiredBatches(t *testing.T) {
	f := newFixture(t, memstore.Options{Shards: 16})
	type rec struct {
		id  store.ID
		exp time.Duration
	}
	const n, batch = 1000, 37
	recs := make([]rec, n)
	for i := range recs {
		// Scrambled IDs; expiries collide in groups so that ID ties matter
		// across shards.
		recs[i] = rec{store.ID(fmt.Sprintf("id%04d", (i*7919)%n)), time.Duration(1+i%97) * us}
		f.mustCreate(t, recs[i].id, "", recs[i].exp)
	}
	slices.SortFunc(recs, func(a, b rec) int {
		if c := cmp.Compare(a.exp, b.exp); c != 0 {
			return c
		}
		return strings.Compare(string(a.id), string(b.id))
	})
	for done := 0; done < n; {
		f.at(sec)
		k, err := f.s.DeleteExpired(ctx, batch)
		if err != nil || k != min(batch, n-done) {
			t.Fatalf("DeleteExpired(%d) after %d = %d, %v", batch, done, k, err)
		}
		done += k
		f.at(0)
		for i, r := range recs {
			if _, err := f.s.Load(ctx, r.id); (err == nil) != (i >= done) {
				t.Fatalf("after %d reclaimed, Load(%q) (reclaim rank %d) = %v", done, r.id, i, err)
			}
		}
	}
	f.wantLen(t, 0)
	f.checkInvariants(t)
}

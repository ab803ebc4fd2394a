package memstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// oracle is the contract at its plainest: a map, and a sort for reclaiming.
// It is deliberately independent of package model so that this package's
// tests stand alone; the simulator checks memstore against model as well.
type oracle map[store.ID]store.Record

func (o oracle) live(now time.Time, id store.ID) (store.Record, bool) {
	r, ok := o[id]
	return r, ok && r.LiveAt(now)
}

func (o oracle) apply(now time.Time, c call) (store.Record, int, error) {
	switch c.kind {
	case "create":
		if _, ok := o.live(now, c.id); ok {
			return store.Record{}, 0, store.ErrDuplicateID
		}
		o[c.id] = store.Record{State: c.state, Expires: store.Expiry(now, c.ttl)}
	case "load":
		r, ok := o.live(now, c.id)
		if !ok {
			return store.Record{}, 0, store.ErrNotFound
		}
		return r, 0, nil
	case "update":
		if _, ok := o.live(now, c.id); !ok {
			return store.Record{}, 0, store.ErrNotFound
		}
		o[c.id] = store.Record{State: c.state, Expires: store.Expiry(now, c.ttl)}
	case "ttl":
		r, ok := o.live(now, c.id)
		if !ok {
			return store.Record{}, 0, store.ErrNotFound
		}
		r.Expires = store.Expiry(now, c.ttl)
		o[c.id] = r
	case "delete":
		_, ok := o.live(now, c.id)
		delete(o, c.id)
		if !ok {
			return store.Record{}, 0, store.ErrNotFound
		}
	case "change":
		r, ok := o.live(now, c.id)
		if !ok {
			return store.Record{}, 0, store.ErrNotFound
		}
		if _, ok := o.live(now, c.to); ok {
			return store.Record{}, 0, store.ErrDuplicateID
		}
		delete(o, c.id)
		o[c.to] = r
	case "reclaim":
		var ids []store.ID
		for id, r := range o {
			if !r.LiveAt(now) {
				ids = append(ids, id)
			}
		}
		slices.SortFunc(ids, func(a, b store.ID) int {
			if c := o[a].Expires.Compare(o[b].Expires); c != 0 {
				return c
			}
			return strings.Compare(string(a), string(b))
		})
		if c.limit > 0 {
			ids = ids[:min(c.limit, len(ids))]
		}
		for _, id := range ids {
			delete(o, id)
		}
		return store.Record{}, len(ids), nil
	}
	return store.Record{}, 0, nil
}

type call struct {
	kind   string
	id, to store.ID
	state  []byte
	ttl    time.Duration
	limit  int
}

func (c call) String() string {
	return fmt.Sprintf("%s(%s %s %q %v %d)", c.kind, c.id, c.to, c.state, c.ttl, c.limit)
}

func (c call) run(s *memstore.Store) (store.Record, int, error) {
	switch c.kind {
	case "create":
		return store.Record{}, 0, s.Create(ctx, c.id, c.state, c.ttl)
	case "load":
		r, err := s.Load(ctx, c.id)
		return r, 0, err
	case "update":
		return store.Record{}, 0, s.Update(ctx, c.id, c.state, c.ttl)
	case "ttl":
		return store.Record{}, 0, s.UpdateTTL(ctx, c.id, c.ttl)
	case "delete":
		return store.Record{}, 0, s.Delete(ctx, c.id)
	case "change":
		return store.Record{}, 0, s.ChangeID(ctx, c.id, c.to)
	default:
		n, err := s.DeleteExpired(ctx, c.limit)
		return store.Record{}, n, err
	}
}

// TestAgainstOracle runs long random sequences over a small ID pool, with a
// clock that jumps back and forth by amounts comparable to the TTLs, and
// requires every result of the store to equal the oracle's. Coarse TTLs make
// expiry ties, and so the ID tie-break, common.
func TestAgainstOracle(t *testing.T) {
	ids := []store.ID{"a", "b", "c", "d", "e", "f", "g", "h", "A", "Z", "_", "-", "0", "ab", "ba"}
	kinds := []string{"create", "create", "load", "load", "update", "ttl", "delete", "change", "reclaim"}
	for _, shards := range []int{1, 2, 8, 0} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("shards=%d/seed=%d", shards, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 42))
				f := newFixture(t, memstore.Options{Shards: shards})
				o := oracle{}
				var now time.Duration
				for i := range 3000 {
					if rng.IntN(4) == 0 {
						now += time.Duration(rng.IntN(2000)-500) * 997 // ns: sub-µs parts too
						f.at(now)
					}
					c := call{
						kind:  kinds[rng.IntN(len(kinds))],
						id:    ids[rng.IntN(len(ids))],
						to:    ids[rng.IntN(len(ids))],
						state: []byte(fmt.Sprint(i)),
						ttl:   time.Duration(1+rng.IntN(4)) * 250 * us,
						limit: rng.IntN(4),
					}
					want, wantN, wantErr := o.apply(store.Instant(f.clk.Now()), c)
					got, gotN, gotErr := c.run(f.s)
					if !errors.Is(gotErr, wantErr) || (wantErr == nil) != (gotErr == nil) ||
						gotN != wantN || !got.Equal(want) {
						t.Fatalf("step %d %v at t0+%v: got %v, %d, %v; want %v, %d, %v",
							i, c, now, got, gotN, gotErr, want, wantN, wantErr)
					}
					if f.s.Len() != len(o) {
						t.Fatalf("step %d %v: Len() = %d, oracle holds %d", i, c, f.s.Len(), len(o))
					}
				}
				// Rewind past every expiry and compare everything held.
				f.at(-time.Hour)
				for _, id := range ids {
					r, err := f.s.Load(ctx, id)
					w, ok := o[id]
					if ok != (err == nil) || !r.Equal(w) {
						t.Fatalf("final %s: got %v, %v; oracle %v, %v", id, r, err, w, ok)
					}
				}
				f.checkInvariants(t)
			})
		}
	}
}

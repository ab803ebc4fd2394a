package memstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// TestConcurrentMixed hammers overlapping IDs with every operation from many
// goroutines while the clock moves, so that the race detector sees every
// path, ChangeIDs and ChangeIDIfs in opposite directions across shards meet
// (a lock order mistake deadlocks here), and DeleteExpired and Scan, which
// lock every shard, contend with all of them. It then checks the internal
// structure is intact.
func TestConcurrentMixed(t *testing.T) {
	for _, shards := range []int{1, 4, 0} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			f := newFixture(t, memstore.Options{Shards: shards})
			ids := make([]store.ID, 32)
			for i := range ids {
				ids[i] = store.ID(fmt.Sprintf("s%d", i))
			}
			const workers, opsEach = 16, 2000
			var applied atomic.Int64 // conditional writes that applied
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 7))
					for i := range opsEach {
						id, to := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
						ttl := time.Duration(1+rng.IntN(50)) * us
						var err error
						switch rng.IntN(11) {
						case 0:
							err = f.s.Create(ctx, id, []byte{byte(i)}, ttl)
						case 1:
							var rec store.Record
							rec, err = f.s.Load(ctx, id)
							if err == nil && len(rec.State) == 1 {
								rec.State[0]++ // ours to modify
							}
						case 2:
							err = f.s.Update(ctx, id, []byte{byte(i), 1}, ttl)
						case 3:
							err = f.s.UpdateTTL(ctx, id, ttl)
						case 4:
							err = f.s.Delete(ctx, id)
						case 5, 6:
							err = f.s.ChangeID(ctx, id, to)
						case 7:
							_, err = f.s.DeleteExpired(ctx, rng.IntN(3))
						case 8:
							if _, err = f.s.UpdateIf(ctx, id, near(f, rng, id), []byte{byte(i), 2}, ttl); err == nil {
								applied.Add(1)
							}
						case 9:
							if _, err = f.s.ChangeIDIf(ctx, id, to, near(f, rng, id), []byte{byte(i), 3}); err == nil {
								applied.Add(1)
							}
						case 10:
							_, err = f.s.Scan(ctx, id, 1+rng.IntN(8))
						}
						if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrDuplicateID) && !errors.Is(err, store.ErrConflict) {
							t.Error(err)
							return
						}
						if w == 0 && i%10 == 0 {
							f.clk.Add(7 * us)
						}
					}
				})
			}
			wg.Wait()
			f.checkInvariants(t)
			if applied.Load() == 0 {
				t.Fatal("no conditional write applied: they contended with nothing")
			}
		})
	}
}

// near returns a version a little behind, at or ahead of the one id is
// at (read just before, so other writers may have moved it since), for
// conditional writes that conflict as well as apply; 1 if id is not live.
// Versions start at a hash (store.FirstVersion): fixed small numbers would
// only ever conflict.
func near(f *fixture, rng *rand.Rand, id store.ID) uint64 {
	v := int64(1)
	if rec, err := f.s.Load(ctx, id); err == nil {
		v = int64(rec.Version) // below 2^63: first versions are 62 bits
	}
	return uint64(max(1, v+int64(rng.IntN(4)-2)))
}

// TestConcurrentConservation checks atomicity by counting: with a clock
// that never moves, nothing expires, so the records held must equal the
// successful Creates minus the successful Deletes, however ChangeIDs moved
// them meanwhile. A non-atomic ChangeID would lose or duplicate records.
func TestConcurrentConservation(t *testing.T) {
	f := newFixture(t, memstore.Options{Shards: 8})
	ids := make([]store.ID, 64)
	for i := range ids {
		ids[i] = store.ID(fmt.Sprintf("c%d", i))
	}
	var created, deleted, moved atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for range 3000 {
				id, to := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
				switch rng.IntN(4) {
				case 0:
					if f.s.Create(ctx, id, []byte("x"), time.Hour) == nil {
						created.Add(1)
					}
				case 1:
					if f.s.Delete(ctx, id) == nil {
						deleted.Add(1)
					}
				default:
					if f.s.ChangeID(ctx, id, to) == nil {
						moved.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	if want := int(created.Load() - deleted.Load()); f.s.Len() != want {
		t.Fatalf("Len() = %d, want %d created - %d deleted = %d", f.s.Len(), created.Load(), deleted.Load(), want)
	}
	if moved.Load() == 0 {
		t.Fatal("no ChangeID succeeded: the test exercised nothing")
	}
	f.checkInvariants(t)
}

// TestConcurrentChangeIDOneWinner races N goroutines to move the same
// session to N different IDs: exactly one may succeed, the others must see
// ErrNotFound, and the session must end up, intact, under the winner's ID
// only.
func TestConcurrentChangeIDOneWinner(t *testing.T) {
	const n = 16
	for round := range 200 {
		f := newFixture(t, memstore.Options{})
		f.mustCreate(t, "old", "v", sec)
		var (
			start   sync.WaitGroup
			done    sync.WaitGroup
			winners atomic.Int64
			winner  atomic.Int64
		)
		start.Add(1)
		for g := range n {
			done.Go(func() {
				start.Wait()
				switch err := f.s.ChangeID(ctx, "old", store.ID(fmt.Sprintf("new%d", g))); {
				case err == nil:
					winners.Add(1)
					winner.Store(int64(g))
				case !errors.Is(err, store.ErrNotFound):
					t.Errorf("round %d: ChangeID: %v, want nil or ErrNotFound", round, err)
				}
			})
		}
		start.Done()
		done.Wait()
		if w := winners.Load(); w != 1 {
			t.Fatalf("round %d: %d ChangeIDs succeeded, want exactly 1", round, w)
		}
		f.wantMissing(t, "old")
		for g := range n {
			id := store.ID(fmt.Sprintf("new%d", g))
			if int64(g) == winner.Load() {
				f.wantLoad(t, id, "v", sec)
			} else {
				f.wantMissing(t, id)
			}
		}
		f.wantLen(t, 1)
	}
}

package memstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// TestConcurrentOwnerCap races logins of the same owners (CreateOwned and
// Cycle under a cap of 3, the first from the store's MaxPerOwner, the
// second from the call) against List, RevokeAll, Revoke, Touch, ChangeID
// and DeleteExpired, while the clock moves. A cap enforced from a count
// that another login can get behind leaves an owner with four, which some
// List sees; every List must show at most 3, and so must the store once
// the goroutines are done.
func TestConcurrentOwnerCap(t *testing.T) {
	const limit = 3
	for _, shards := range []int{1, 4, 0} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			f := newFixture(t, memstore.Options{Shards: shards, Limits: store.Limits{MaxPerOwner: limit}})
			owners := []store.Owner{"u", "v"}
			const loginWorkers, otherWorkers, opsEach = 8, 4, 1500
			var wg sync.WaitGroup
			// Logins: fresh IDs, so that they succeed and push against the cap.
			for w := range loginWorkers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 11))
					for i := range opsEach {
						o := owners[rng.IntN(len(owners))]
						id := store.ID(fmt.Sprintf("w%d-%d", w, i))
						var err error
						if rng.IntN(3) == 0 {
							// A pre-login session of no owner, cycled into one.
							if err = f.s.Create(ctx, id, nil, time.Hour); err == nil {
								err = f.s.Cycle(ctx, id, id+"c", o, []byte("in"), time.Duration(1+rng.IntN(500))*us, limit)
							}
						} else {
							err = f.s.CreateOwned(ctx, id, o, []byte("in"), time.Duration(1+rng.IntN(500))*us, 0)
						}
						if err != nil {
							t.Errorf("login %s: %v", id, err)
							return
						}
						if w == 0 && i%20 == 0 {
							f.clk.Add(7 * us)
						}
					}
				})
			}
			for w := range otherWorkers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 13))
					for range opsEach {
						o := owners[rng.IntN(len(owners))]
						switch rng.IntN(6) {
						case 0, 1, 2:
							l, err := f.s.List(ctx, o)
							if err != nil {
								t.Error(err)
								return
							}
							if len(l) > limit {
								t.Errorf("List(%q) shows %d live sessions, cap %d: %v", o, len(l), limit, l)
								return
							}
						case 3:
							if _, err := f.s.RevokeAll(ctx, o); err != nil {
								t.Error(err)
								return
							}
						case 4:
							id := store.ID(fmt.Sprintf("w%d-%d", rng.IntN(loginWorkers), rng.IntN(opsEach)))
							if _, err := f.s.Touch(ctx, id, time.Duration(rng.IntN(500)+1)*us, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
								t.Error(err)
								return
							}
							if err := f.s.Revoke(ctx, o, store.HandleOf(id)); err != nil && !errors.Is(err, store.ErrNotFound) {
								t.Error(err)
								return
							}
						case 5:
							if _, err := f.s.DeleteExpired(ctx, 3); err != nil {
								t.Error(err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			for _, o := range owners {
				l, err := f.s.List(ctx, o)
				if err != nil || len(l) > limit {
					t.Errorf("afterwards List(%q) = %d sessions, %v; cap %d", o, len(l), err, limit)
				}
			}
			// The store itself, not only what List shows: at no owner more
			// than the cap live at the final instant.
			now := store.Instant(f.clk.Now())
			live := map[store.Owner]int{}
			for _, e := range f.s.Entries() {
				if e.Owner != "" && e.LiveAt(now) {
					live[e.Owner]++
				}
			}
			for o, n := range live {
				if n > limit {
					t.Errorf("owner %q holds %d live sessions, cap %d", o, n, limit)
				}
			}
			f.checkInvariants(t)
		})
	}
}

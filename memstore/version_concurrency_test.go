package memstore_test

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// counterAt loads the counter session from whichever of ids holds it,
// returning the ID, the counter and the version.
func counterAt(t *testing.T, s *memstore.Store, ids ...store.ID) (store.ID, int, uint64, bool) {
	for _, id := range ids {
		rec, err := s.Load(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Errorf("Load(%q): %v", id, err)
			return "", 0, 0, false
		}
		n, err := strconv.Atoi(string(rec.State))
		if err != nil {
			t.Errorf("Load(%q): state %q is not a counter", id, rec.State)
			return "", 0, 0, false
		}
		return id, n, rec.Version, true
	}
	return "", 0, 0, false
}

// idsOnTwoShards returns two IDs that fall into different shards of s, if
// it has more than one, so that a move between them takes two locks.
func idsOnTwoShards(t *testing.T, s *memstore.Store) (store.ID, store.ID) {
	x := store.ID("x")
	for i := range 1000 {
		y := store.ID(fmt.Sprintf("y%d", i))
		if s.ShardCount() == 1 || s.ShardOf(y) != s.ShardOf(x) {
			return x, y
		}
	}
	t.Fatal("no two IDs on different shards")
	return "", ""
}

// TestConcurrentUpdateIfLosesNoIncrement has goroutines increment a counter
// kept in one session's state, each by load, add one, conditional write,
// and again from the load on ErrConflict. With "move", half the writes are
// ChangeIDIf to the other of two IDs on different shards, so that the
// session moves under the increments. No increment may be lost: the
// counter ends equal to the number of conditional writes that succeeded,
// the version at its first plus that (every write counted once), and the
// session is held under exactly one ID.
func TestConcurrentUpdateIfLosesNoIncrement(t *testing.T) {
	for _, shards := range []int{1, 0} {
		for _, move := range []bool{false, true} {
			t.Run(fmt.Sprintf("shards=%d/move=%v", shards, move), func(t *testing.T) {
				f := newFixture(t, memstore.Options{Shards: shards})
				x, y := idsOnTwoShards(t, f.s)
				f.mustCreate(t, x, "0", time.Hour)
				const workers, incs = 8, 300
				var wins, conflicts atomic.Int64
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						for i := 0; i < incs; {
							id, n, v, ok := counterAt(t, f.s, x, y)
							if t.Failed() {
								return
							}
							if !ok {
								continue // moved between the two loads: look again
							}
							runtime.Gosched() // widen the window for a write to land in between
							next := []byte(strconv.Itoa(n + 1))
							var err error
							if move && (w+i)%2 == 0 {
								to := x
								if id == x {
									to = y
								}
								_, err = f.s.ChangeIDIf(ctx, id, to, v, next)
							} else {
								_, err = f.s.UpdateIf(ctx, id, v, next, store.KeepTTL)
							}
							switch {
							case err == nil:
								wins.Add(1)
								i++
							case errors.Is(err, store.ErrConflict), move && errors.Is(err, store.ErrNotFound):
								// Another write landed since the load (a move
								// leaves the old ID empty): reload and retry.
								conflicts.Add(1)
							default:
								t.Errorf("write at version %d: %v", v, err)
								return
							}
						}
					})
				}
				wg.Wait()
				if t.Failed() {
					return
				}
				_, n, v, ok := counterAt(t, f.s, x, y)
				if !ok {
					t.Fatal("the counter session is gone")
				}
				first := f.first(t, x)
				if w := wins.Load(); int64(n) != w || w != workers*incs || v != first+uint64(w) {
					t.Fatalf("counter %d at version %d after %d successful conditional writes (want %d, version %d, the first %d plus %d)", n, v, w, workers*incs, first+uint64(w), first, w)
				}
				f.wantLen(t, 1)
				f.checkInvariants(t)
				t.Logf("%d increments, %d retries", wins.Load(), conflicts.Load())
			})
		}
	}
}

// TestConcurrentUpdateCountsEveryWrite runs the same increments with
// unconditional Updates, the lost update UpdateIf exists to prevent. How
// many increments are lost depends on the scheduler (possibly none), so it
// is only logged; what must hold is that every Update was one write: the
// version ends at the first plus the Updates that succeeded, and the counter
// at no more than that.
func TestConcurrentUpdateCountsEveryWrite(t *testing.T) {
	f := newFixture(t, memstore.Options{})
	f.mustCreate(t, "c", "0", time.Hour)
	const workers, incs = 8, 300
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range incs {
				_, n, _, ok := counterAt(t, f.s, "c")
				if !ok {
					t.Error("the counter session is gone")
					return
				}
				runtime.Gosched()
				if err := f.s.Update(ctx, "c", []byte(strconv.Itoa(n+1)), time.Hour); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	_, n, v, _ := counterAt(t, f.s, "c")
	if want := f.first(t, "c") + workers*incs; v != want || n < 1 || n > workers*incs {
		t.Fatalf("counter %d at version %d after %d Updates, want version %d (the first plus %d) and a counter in [1, %d]", n, v, workers*incs, want, workers*incs, workers*incs)
	}
	t.Logf("%d Updates, counter %d: %d increments lost", workers*incs, n, workers*incs-n)
}

// checkScanPage checks a full page of a store whose sessions each sit
// under exactly one ID of a pair at every instant: the page must hold
// exactly one of each pair.
func checkScanPage(page []store.ID, pairs [][2]store.ID) error {
	held := map[store.ID]bool{}
	for _, id := range page {
		held[id] = true
	}
	for _, p := range pairs {
		if held[p[0]] == held[p[1]] {
			return fmt.Errorf("page %v holds %s: %v and %s: %v, want exactly one", page, p[0], held[p[0]], p[1], held[p[1]])
		}
	}
	if len(page) != len(pairs) {
		return fmt.Errorf("page of %d IDs, want %d", len(page), len(pairs))
	}
	return nil
}

// pairsOnTwoShards returns n pairs of IDs, the two of each on different
// shards of s (a store of more than one shard).
func pairsOnTwoShards(t *testing.T, s *memstore.Store, n int) [][2]store.ID {
	var pairs [][2]store.ID
	for i := 0; len(pairs) < n; i++ {
		a, b := store.ID(fmt.Sprintf("p%d", i)), store.ID(fmt.Sprintf("q%d", i))
		if s.ShardOf(a) != s.ShardOf(b) {
			pairs = append(pairs, [2]store.ID{a, b})
		}
		if i > 100*n {
			t.Fatal("too few pairs on different shards")
		}
	}
	return pairs
}

// TestConcurrentScanIsAtomic moves sessions back and forth between the two
// IDs of a pair on different shards (ChangeID and ChangeIDIf) while other
// goroutines scan: since each session is under exactly one of its IDs at
// every instant, every page that is one atomic read holds exactly one of
// each pair. TestScanCheckCatchesShardByShardRead shows the check failing
// on a scan that is not.
func TestConcurrentScanIsAtomic(t *testing.T) {
	f := newFixture(t, memstore.Options{Shards: 8})
	pairs := pairsOnTwoShards(t, f.s, 16)
	for _, p := range pairs {
		f.mustCreate(t, p[0], "", time.Hour)
	}
	var stop atomic.Bool
	var moves, pages atomic.Int64
	var movers, scanners sync.WaitGroup
	for w := range 4 {
		movers.Go(func() {
			for i := 0; !stop.Load(); i++ {
				p := pairs[(w+i)%len(pairs)]
				from, to := p[0], p[1]
				if i%2 == 1 {
					from, to = to, from
				}
				var err error
				if i%3 == 0 {
					err = f.s.ChangeID(ctx, from, to)
				} else if rec, lerr := f.s.Load(ctx, from); lerr == nil {
					_, err = f.s.ChangeIDIf(ctx, from, to, rec.Version, nil)
				}
				switch {
				case err == nil:
					moves.Add(1)
				case !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict):
					t.Error(err)
					return
				}
			}
		})
	}
	for range 2 {
		scanners.Go(func() {
			for range 500 {
				page, err := f.s.Scan(ctx, "", 100)
				if err != nil {
					t.Error(err)
					return
				}
				if err := checkScanPage(page, pairs); err != nil {
					t.Error(err)
					return
				}
				pages.Add(1)
			}
		})
	}
	scanners.Wait()
	stop.Store(true)
	movers.Wait()
	if moves.Load() == 0 {
		t.Fatal("no session moved: the scans raced nothing")
	}
	f.checkInvariants(t)
	t.Logf("%d pages beside %d moves", pages.Load(), moves.Load())
}

// TestScanCheckCatchesShardByShardRead plants a scan that reads one shard
// at a time and moves a session from a shard it has not read yet into one
// it has, between two shard reads: the page misses the session, and the
// check of TestConcurrentScanIsAtomic must say so.
func TestScanCheckCatchesShardByShardRead(t *testing.T) {
	f := newFixture(t, memstore.Options{Shards: 8})
	pairs := pairsOnTwoShards(t, f.s, 1)
	from, to := pairs[0][0], pairs[0][1]
	if f.s.ShardOf(from) < f.s.ShardOf(to) {
		from, to = to, from
	}
	f.mustCreate(t, from, "", time.Hour)
	page := f.s.ScanShardByShard("", 100, func(shard int) {
		if shard == f.s.ShardOf(to) {
			if err := f.s.ChangeID(ctx, from, to); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err := checkScanPage(page, pairs); err == nil {
		t.Fatalf("page %v of a shard-by-shard read passed the check", page)
	}
	// The real Scan, with the session now at rest under to, passes it.
	if page, err := f.s.Scan(ctx, "", 100); err != nil || checkScanPage(page, pairs) != nil {
		t.Fatalf("Scan = %v, %v; want [%s]", page, err, to)
	}
}

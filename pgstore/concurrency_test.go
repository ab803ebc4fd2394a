package pgstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

const workers = 8

// widePool has a connection per worker, so that the workers really run
// their statements at the same time on the server.
func widePool(t *testing.T) *pgxpool.Pool {
	return siblingPool(t, func(cfg *pgxpool.Config) { cfg.MaxConns = workers + 2 })
}

// race runs fn(i) for every worker at once and returns their results.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

func count(errs []error, target error) int {
	n := 0
	for _, err := range errs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// Two ChangeID from the same old cannot both win: the source is locked and
// re-checked, so the losers find nothing live at old.
func TestConcurrentChangeIDOneWinner(t *testing.T) {
	t.Parallel()
	clk := clock.NewSim(t0)
	s := newStoreOn(t, widePool(t), Options{Clock: clk})
	ctx := t.Context()
	for round := range 30 {
		src := store.ID(fmt.Sprintf("src%d", round))
		if err := s.Create(ctx, src, []byte(src), time.Hour); err != nil {
			t.Fatal(err)
		}
		// Half the rounds race to distinct targets, half to the same one;
		// odd rounds put an expired record at every target first.
		target := func(i int) store.ID {
			if round%4 < 2 {
				return store.ID(fmt.Sprintf("r%d-t%d", round, i))
			}
			return store.ID(fmt.Sprintf("r%d-t", round))
		}
		if round%2 == 1 {
			clk.Set(t0.Add(-time.Hour))
			for i := range workers {
				_ = s.Create(ctx, target(i), []byte("stale"), time.Minute)
			}
			clk.Set(t0)
		}
		errs := race(workers, func(i int) error { return s.ChangeID(ctx, src, target(i)) })
		if wins, lost := count(errs, nil), count(errs, store.ErrNotFound); wins != 1 || lost != workers-1 {
			t.Fatalf("round %d: %d winners and %d ErrNotFound among %v; want exactly one winner", round, wins, lost, errs)
		}
		winner := target(slicesIndexNil(errs))
		rec, err := s.Load(ctx, winner)
		if err != nil || string(rec.State) != string(src) {
			t.Fatalf("round %d: winner %s holds %q, %v", round, winner, rec.State, err)
		}
		if _, err := s.Load(ctx, src); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("round %d: source still live: %v", round, err)
		}
	}
}

func slicesIndexNil(errs []error) int {
	for i, err := range errs {
		if err == nil {
			return i
		}
	}
	return -1
}

// Concurrent Creates of one ID, over nothing or over an expired record:
// exactly one wins, the others see it as a live duplicate.
func TestConcurrentCreateOneWinner(t *testing.T) {
	t.Parallel()
	clk := clock.NewSim(t0)
	s := newStoreOn(t, widePool(t), Options{Clock: clk})
	ctx := t.Context()
	for round := range 30 {
		id := store.ID(fmt.Sprintf("id%d", round))
		if round%2 == 1 {
			clk.Set(t0.Add(-time.Hour))
			if err := s.Create(ctx, id, []byte("stale"), time.Minute); err != nil {
				t.Fatal(err)
			}
			clk.Set(t0)
		}
		errs := race(workers, func(i int) error { return s.Create(ctx, id, []byte{byte(i)}, time.Hour) })
		if wins, dup := count(errs, nil), count(errs, store.ErrDuplicateID); wins != 1 || dup != workers-1 {
			t.Fatalf("round %d: %v; want one winner and the rest ErrDuplicateID", round, errs)
		}
		rec, err := s.Load(ctx, id)
		if err != nil || len(rec.State) != 1 || int(rec.State[0]) != slicesIndexNil(errs) {
			t.Fatalf("round %d: record %v, %v is not the winner's (%d)", round, rec.State, err, slicesIndexNil(errs))
		}
	}
}

// Several cleaners at once remove every expired record exactly once, in
// disjoint batches, without waiting on each other.
// expiredBacklog is a store on a wide pool whose clock reads t0, holding n
// records that expire within 97µs after t0, many of them at the same
// instant, for cleaners to race over.
func expiredBacklog(t *testing.T, n int) (*Store, *pgxpool.Pool, *clock.Sim) {
	t.Helper()
	clk := clock.NewSim(t0)
	pool := widePool(t)
	s := newStoreOn(t, pool, Options{Clock: clk})
	if _, err := pool.Exec(t.Context(), "INSERT INTO "+s.Table()+
		" SELECT 'e' || g, '', $1::timestamptz + (g % 97) * interval '1 microsecond' FROM generate_series(1, $2::int) g", t0, n); err != nil {
		t.Fatal(err)
	}
	return s, pool, clk
}

func TestConcurrentDeleteExpired(t *testing.T) {
	t.Parallel()
	const expired = 3000
	s, _, clk := expiredBacklog(t, expired)
	if err := s.Create(t.Context(), "live", nil, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	var mu sync.Mutex
	total := 0
	errs := race(workers, func(int) error {
		for {
			n, err := s.DeleteExpired(t.Context(), 37)
			if err != nil {
				return err
			}
			mu.Lock()
			total += n
			mu.Unlock()
			if n == 0 {
				return nil
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A cleaner that found every remaining row locked by others stops
	// early; one more pass must then find nothing.
	n, err := s.DeleteExpired(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if total+n != expired {
		t.Fatalf("removed %d (+%d afterwards), want %d: a record was counted twice or missed", total, n, expired)
	}
	if _, err := s.Load(t.Context(), "live"); err != nil {
		t.Fatalf("the live record: %v", err)
	}
}

// Many goroutines run every operation on a handful of IDs. Each write uses
// a state never written before, so the table can be audited afterwards:
// only the contract's outcomes come back, a state is never in two places
// (ChangeID moves, it never copies), and every state read or left behind
// was written by a call that reported success.
func TestConcurrentOverlappingOperations(t *testing.T) {
	t.Parallel()
	clk := clock.NewSim(t0)
	pool := widePool(t)
	s := newStoreOn(t, pool, Options{Clock: clk})
	ctx := t.Context()
	ids := []store.ID{"a", "b", "c", "d", "e"}
	// Some records start expired, so that Create, ChangeID and Delete meet
	// expired rows as well as live ones.
	clk.Set(t0.Add(-time.Hour))
	for _, id := range ids[:3] {
		if err := s.Create(ctx, id, []byte("stale-"+id), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(t0)

	var mu sync.Mutex
	written := map[string]bool{"": true} // states from successful writes
	var seen []string                    // states returned by Load
	const opsPerWorker = 150
	errs := race(workers, func(w int) error {
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		pick := func() store.ID { return ids[rng.IntN(len(ids))] }
		for op := range opsPerWorker {
			state := fmt.Sprintf("w%d-op%d", w, op)
			var err error
			var wrote bool
			switch rng.IntN(7) {
			case 0:
				err, wrote = s.Create(ctx, pick(), []byte(state), time.Hour), true
			case 1:
				err, wrote = s.Update(ctx, pick(), []byte(state), time.Hour), true
			case 2:
				err = s.UpdateTTL(ctx, pick(), time.Duration(1+rng.IntN(100))*time.Minute)
			case 3:
				err = s.Delete(ctx, pick())
			case 4:
				err = s.ChangeID(ctx, pick(), pick())
			case 5:
				_, err = s.DeleteExpired(ctx, rng.IntN(3))
			case 6:
				var rec store.Record
				rec, err = s.Load(ctx, pick())
				if err == nil {
					mu.Lock()
					seen = append(seen, string(rec.State))
					mu.Unlock()
				}
			}
			switch {
			case err == nil:
				if wrote {
					mu.Lock()
					written[state] = true
					mu.Unlock()
				}
			case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrDuplicateID):
			default:
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("unexpected failure: %v", err)
		}
	}
	for _, st := range seen {
		if !written[st] {
			t.Errorf("Load returned %q, which no successful write stored", st)
		}
	}
	rows, err := pool.Query(ctx, "SELECT state FROM "+s.Table()+" WHERE expires > $1", t0)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	where := map[string]int{}
	for rows.Next() {
		var st []byte
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		where[string(st)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for st, n := range where {
		if !written[st] {
			t.Errorf("live state %q was never written successfully", st)
		}
		if n > 1 && st != "" {
			t.Errorf("state %q is held by %d records", st, n)
		}
	}
}

// ChangeID(a, b) and ChangeID(b, a) at once, both live: each rename waits
// on the other's key, which PostgreSQL resolves by aborting one with a
// deadlock error. Both must still end as the contract says, ErrDuplicateID,
// and neither session may move.
func TestConcurrentSwapChangeID(t *testing.T) {
	t.Parallel()
	clk := clock.NewSim(t0)
	s := newStoreOn(t, widePool(t), Options{Clock: clk})
	ctx := t.Context()
	for round := range 40 {
		a, b := store.ID(fmt.Sprintf("a%d", round)), store.ID(fmt.Sprintf("b%d", round))
		for _, id := range []store.ID{a, b} {
			if err := s.Create(ctx, id, []byte(id), time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		errs := race(2, func(i int) error {
			if i == 0 {
				return s.ChangeID(ctx, a, b)
			}
			return s.ChangeID(ctx, b, a)
		})
		if count(errs, store.ErrDuplicateID) != 2 {
			t.Fatalf("round %d: swap gave %v, want ErrDuplicateID twice", round, errs)
		}
		for _, id := range []store.ID{a, b} {
			if rec, err := s.Load(ctx, id); err != nil || string(rec.State) != string(id) {
				t.Fatalf("round %d: %s holds %q, %v", round, id, rec.State, err)
			}
		}
	}
}

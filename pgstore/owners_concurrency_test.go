package pgstore

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

const loginWorkers = 16

// loginPool has a connection for every worker, the listers and the
// churners, so that they all run their statements on the server at once.
// isolation, if set, is the connections' default_transaction_isolation.
func loginPool(t *testing.T, isolation string) *pgxpool.Pool {
	return siblingPool(t, func(cfg *pgxpool.Config) {
		cfg.MaxConns = loginWorkers + 8
		if isolation != "" {
			cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = isolation
		}
	})
}

// watchList lists owner until stop is closed and reports the most sessions
// any List returned.
func watchList(t *testing.T, s *Store, owner store.Owner, stop <-chan struct{}) (most func() int) {
	var wg sync.WaitGroup
	var max atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := s.List(t.Context(), owner)
				if err != nil {
					t.Error(err)
					return
				}
				for n := int64(len(got)); ; {
					m := max.Load()
					if n <= m || max.CompareAndSwap(m, n) {
						break
					}
				}
			}
		}()
	}
	return func() int { wg.Wait(); return int(max.Load()) }
}

// Sixteen logins at once, each on its own connection, for one owner with a
// cap of 3: half CreateOwned, half Cycle from an anonymous session, while
// other clients list the owner's sessions and keep changing their
// expiries. No List ever shows more than 3, and exactly 3 are left,
// whatever isolation level the connections default to.
func TestConcurrentLoginsKeepTheCap(t *testing.T) {
	t.Parallel()
	for _, isolation := range []string{"read committed", "repeatable read", "serializable"} {
		t.Run(isolation, func(t *testing.T) {
			t.Parallel()
			testConcurrentLogins(t, loginPool(t, isolation))
		})
	}
}

func testConcurrentLogins(t *testing.T, pool *pgxpool.Pool) {
	const perWorker, cap = 12, 3
	clk := clock.NewSim(t0)
	s := newStoreOn(t, pool, Options{Clock: clk})
	ctx := t.Context()
	for w := range loginWorkers / 2 {
		for i := range perWorker {
			if err := s.Create(ctx, store.ID(fmt.Sprintf("anon-%d-%d", w, i)), []byte("cart"), time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop := make(chan struct{})
	most := watchList(t, s, "alice", stop)
	// Churn: UpdateTTL on whatever sessions exist reorders who is oldest
	// while the logins read it.
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			id := store.ID(fmt.Sprintf("s-%d-%d", k%loginWorkers, k/loginWorkers%perWorker))
			_ = s.UpdateTTL(ctx, id, time.Hour-time.Duration(k%1000)*time.Microsecond)
		}
	}()
	errs := race(loginWorkers, func(w int) error {
		for i := range perWorker {
			id := store.ID(fmt.Sprintf("s-%d-%d", w, i))
			ttl := time.Hour - time.Duration(w*perWorker+i)*time.Microsecond
			var err error
			if w%2 == 0 {
				err = s.CreateOwned(ctx, id, "alice", []byte(id), ttl, cap)
			} else {
				err = s.Cycle(ctx, store.ID(fmt.Sprintf("anon-%d-%d", w/2, i)), id, "alice", []byte(id), ttl, cap)
			}
			if err != nil {
				return fmt.Errorf("login %s: %w", id, err)
			}
		}
		return nil
	})
	close(stop)
	churn.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if m := most(); m > cap {
		t.Errorf("a List showed %d sessions, over the cap of %d", m, cap)
	}
	got, err := s.List(ctx, "alice")
	if err != nil || len(got) != cap {
		t.Fatalf("after the logins: %d sessions, %v; want %d", len(got), err, cap)
	}
	var owned, anon int
	if err := s.pool.QueryRow(ctx, "SELECT count(owner), count(*) - count(owner) FROM "+s.Table()).Scan(&owned, &anon); err != nil {
		t.Fatal(err)
	}
	if owned != cap || anon != 0 {
		t.Fatalf("the table holds %d owned and %d anonymous rows, want %d and 0", owned, anon, cap)
	}
}

// "Log out everywhere" racing logins of the same user: every session made
// is either removed by exactly one RevokeAll, and counted by it, or still
// there at the end. With a cap, no List shows more than the cap.
func TestRevokeAllRacingCreateOwned(t *testing.T) {
	t.Parallel()
	for _, cap := range []int{0, 3} {
		t.Run(fmt.Sprintf("cap %d", cap), func(t *testing.T) {
			t.Parallel()
			const creators, revokers, perCreator = 8, 4, 25
			s := newStoreOn(t, loginPool(t, ""), Options{Clock: clock.NewSim(t0)})
			ctx := t.Context()
			stop := make(chan struct{})
			most := watchList(t, s, "alice", stop)
			var revoked atomic.Int64
			var done sync.WaitGroup
			for range revokers {
				done.Add(1)
				go func() {
					defer done.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						n, err := s.RevokeAll(ctx, "alice")
						if err != nil {
							t.Error(err)
							return
						}
						revoked.Add(int64(n))
					}
				}()
			}
			errs := race(creators, func(w int) error {
				for i := range perCreator {
					if err := s.CreateOwned(ctx, store.ID(fmt.Sprintf("s-%d-%d", w, i)), "alice", nil, time.Hour, cap); err != nil {
						return err
					}
				}
				return nil
			})
			close(stop)
			done.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			left := s.rowsOf(t, "alice")
			if cap == 0 && int64(left)+revoked.Load() != creators*perCreator {
				t.Errorf("%d sessions made, %d revoked and %d left", creators*perCreator, revoked.Load(), left)
			}
			if m := most(); cap > 0 && (m > cap || left > cap) {
				t.Errorf("a List showed %d sessions and %d are left, over the cap of %d", m, left, cap)
			}
		})
	}
}

// rowsOf counts owner's rows.
func (s *Store) rowsOf(t *testing.T, owner store.Owner) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(t.Context(), "SELECT count(*) FROM "+s.Table()+" WHERE owner = $1", string(owner)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

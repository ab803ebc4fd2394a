package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The benchmarks of issue 10's targets, on their own cluster with
// PostgreSQL's default durability and 1,000,000 sessions over 100,000
// owners (owners_data_test.go). Each benchmark's sub-benchmarks are the
// operations it compares, named impl=… like the other benchmarks' so that
// benchstat -col /impl and cmd/ratios pair them the same way:
//
//   - OwnersRead: Load of a random session (the baseline), List of a random
//     owner, RevokeAll of an owner not revoked before, and for scale Update
//     of a random session (a one-row durable write);
//   - OwnersCreate: Create under a fresh ID (the baseline), CreateOwned
//     under a fresh ID for a random owner that has its cap of sessions, so
//     that each one evicts the owner's oldest, and CreateOwnedRoom, the
//     same for an owner with room under the cap (the common login);
//   - OwnersTouch: what one request of a session with a 30-minute idle
//     timeout costs: pgstore's Touch, or what scs's SessionManager does with
//     IdleTimeout set (FindCtx, then CommitCtx of the state with the new
//     expiry), with a resolution of a minute and of nothing.

const (
	idleTimeout     = 30 * time.Minute
	touchResolution = time.Minute
)

// ownedOp is one operation of an owner benchmark.
type ownedOp struct {
	name   string
	tables []string // vacuumed before each run
	// args picks the argument of each of a run's n operations (a session
	// or an owner) and sets up the data they need, before the timer starts.
	args func(ctx context.Context, n int) ([]int, error)
	// do is one operation; it checks that it did what the benchmark expects.
	do func(ctx context.Context, arg int) error
	// done, if set, checks the run's effect and reports extra metrics;
	// args are the run's arguments.
	done func(b *testing.B, args []int)
}

func BenchmarkOwnersRead(b *testing.B) {
	e := ownedFor(b)
	pg := e.pg
	ops := []ownedOp{
		{
			name: "Load",
			args: func(_ context.Context, n int) ([]int, error) { return pickSessions(n), nil },
			do: func(ctx context.Context, i int) error {
				_, err := pg.Load(ctx, store.ID(e.ids[i]))
				return err
			},
		},
		{
			name: "List",
			args: func(_ context.Context, n int) ([]int, error) { return pickOwners(n, 0, readOwners), nil },
			do: func(ctx context.Context, k int) error {
				list, err := pg.List(ctx, e.owners[k])
				if err == nil && len(list) != perOwner {
					err = fmt.Errorf("List: owner %d has %d sessions, want %d", k, len(list), perOwner)
				}
				return err
			},
		},
		{
			// Not a target: what one durable primary-key write costs
			// (one row, one commit), for scale. The expiry it writes is
			// within the idle timeout, as the Touch benchmarks need.
			name: "Update",
			args: func(_ context.Context, n int) ([]int, error) { return pickSessions(n), nil },
			do: func(ctx context.Context, i int) error {
				return pg.Update(ctx, store.ID(e.ids[i]), payload, idleTimeout)
			},
		},
		{
			name: "RevokeAll",
			args: e.takeRevoked,
			do: func(ctx context.Context, k int) error {
				n, err := pg.RevokeAll(ctx, e.owners[k])
				if err == nil && n != perOwner {
					err = fmt.Errorf("RevokeAll: owner %d had %d sessions, want %d", k, n, perOwner)
				}
				return err
			},
		},
	}
	runOwned(b, e, ops, []int{1, clients})
}

func BenchmarkOwnersCreate(b *testing.B) {
	e := ownedFor(b)
	pg := e.pg
	ops := []ownedOp{
		{
			name: "Create",
			args: func(_ context.Context, n int) ([]int, error) { return make([]int, n), nil },
			do: func(ctx context.Context, _ int) error {
				return pg.Create(ctx, store.ID(freshKey()), payload, ttl)
			},
		},
		{
			name: "CreateOwned",
			args: func(_ context.Context, n int) ([]int, error) {
				return pickOwners(n, readOwners, createOwners), nil
			},
			do: func(ctx context.Context, k int) error {
				return pg.CreateOwned(ctx, store.ID(freshKey()), e.owners[k], payload, ttl, ownerCap)
			},
			done: func(b *testing.B, args []int) {
				// Every create evicted one: the owners still have their cap.
				for _, k := range []int{args[0], args[len(args)/2], args[len(args)-1]} {
					list, err := pg.List(context.Background(), e.owners[k])
					if err != nil || len(list) != ownerCap {
						b.Fatalf("after CreateOwned, owner %d has %d sessions (%v), want %d", k, len(list), err, ownerCap)
					}
				}
			},
		},
		{
			// A login with room under the cap, the common case: an owner
			// of few sessions (owners of their own, outside the loaded
			// ones, so the other rows keep their counts).
			name: "CreateOwnedRoom",
			args: func(_ context.Context, n int) ([]int, error) { return pickOwners(n, 0, createOwners), nil },
			do: func(ctx context.Context, k int) error {
				return pg.CreateOwned(ctx, store.ID(freshKey()), store.Owner("room-"+strconv.Itoa(k)), payload, ttl, ownerCap)
			},
		},
	}
	runOwned(b, e, ops, []int{1, clients})
}

func BenchmarkOwnersTouch(b *testing.B) {
	e := ownedFor(b)
	for _, res := range []time.Duration{touchResolution, 0} {
		b.Run("res="+res.String(), func(b *testing.B) {
			runOwned(b, e, touchOps(e, res), []int{clients})
		})
	}
}

// touchOps are one request of a session with an idle timeout, by pgstore
// and by scs.
//
// With a resolution, Touch writes only if the expiry moves by at least
// that much, which it does when the session was last written longer ago
// than the resolution. The runs are of the common case that saves: the
// session was written less than a resolution ago (a user making several
// requests a minute). args sets the chosen sessions' expiry to now+idle
// timeout first, in both tables, so that no Touch of a run (which lasts
// less than a minute) writes; the writes/op metric counts those that did.
// With resolution 0 every Touch writes (the loaded expiries are all earlier
// than now+idleTimeout, and each write is later than the one before).
// scs commits on every request either way.
func touchOps(e *ownedEnv, res time.Duration) []ownedOp {
	pg := e.pg
	args := func(table, idCol, expCol string) func(ctx context.Context, n int) ([]int, error) {
		return func(ctx context.Context, n int) ([]int, error) {
			picks := pickSessions(n)
			if res == 0 {
				return picks, nil
			}
			ids := make([]string, len(picks))
			for j, i := range picks {
				ids[j] = e.ids[i]
			}
			_, err := e.pool.Exec(ctx, `UPDATE `+table+` SET `+expCol+` = $1 WHERE `+idCol+` = ANY ($2)`,
				store.Expiry(time.Now(), idleTimeout), ids)
			return picks, err
		}
	}
	var writes atomic.Int64
	return []ownedOp{
		{
			name:   "pgstore",
			tables: []string{pg.Table()},
			args: func(ctx context.Context, n int) ([]int, error) {
				writes.Store(0)
				return args(pg.Table(), "id", "expires")(ctx, n)
			},
			do: func(ctx context.Context, i int) error {
				before := store.Expiry(time.Now(), idleTimeout)
				r, err := pg.Touch(ctx, store.ID(e.ids[i]), idleTimeout, res)
				// A written expiry is now+idleTimeout at Touch's clock
				// reading, after before's; one not written is earlier.
				if err == nil && !r.Expires.Before(before) {
					writes.Add(1)
				}
				return err
			},
			done: func(b *testing.B, _ []int) {
				b.ReportMetric(float64(writes.Load())/float64(b.N), "writes/op")
			},
		},
		{
			name:   "scs",
			tables: []string{"sessions"},
			args:   args("sessions", "token", "expiry"),
			do: func(ctx context.Context, i int) error {
				id := e.ids[i]
				data, found, err := e.scs.FindCtx(ctx, id)
				if err != nil {
					return err
				}
				if !found {
					return errors.New("scs: session not found")
				}
				// scs's Commit with IdleTimeout: the expiry is the
				// earlier of the session's deadline (its 24 h Lifetime,
				// by default) and now+IdleTimeout.
				return e.scs.CommitCtx(ctx, id, data, time.Now().Add(idleTimeout))
			},
		},
	}
}

// ownedFor sets up the owner benchmarks' cluster and data, once.
func ownedFor(b *testing.B) *ownedEnv {
	e, err := ownedSetup()
	if err != nil {
		b.Fatal("owner benchmarks: setup:", err)
	}
	return e
}

// runOwned runs every op with each number of clients, as sub-benchmarks
// clients=N/impl=NAME, the ops innermost so that the runs compared follow
// each other. Even rounds of run.sh run them in reverse order.
func runOwned(b *testing.B, e *ownedEnv, ops []ownedOp, clientCounts []int) {
	if r, err := strconv.Atoi(os.Getenv("HOURGLASS_BENCH_ROUND")); err == nil && r%2 == 0 {
		ops = slices.Clone(ops)
		slices.Reverse(ops)
	}
	for _, n := range clientCounts {
		b.Run("clients="+strconv.Itoa(n), func(b *testing.B) {
			for _, o := range ops {
				b.Run("impl="+o.name, func(b *testing.B) { measureOwned(b, e, o, n) })
			}
		})
	}
}

func measureOwned(b *testing.B, e *ownedEnv, o ownedOp, clientCount int) {
	ctx := context.Background()
	args, err := o.args(ctx, b.N)
	if err != nil {
		b.Fatal(err)
	}
	tables := o.tables
	if tables == nil {
		tables = []string{e.pg.Table()}
	}
	for _, t := range tables {
		if _, err := e.pool.Exec(ctx, "VACUUM "+t); err != nil {
			b.Fatal(err)
		}
	}
	walStart, err := e.walPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := startCPU(e.env)
	b.ResetTimer()
	if clientCount == 1 {
		for _, a := range args {
			if err := o.do(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		var next atomic.Int64 // RunParallel's Next hands out exactly b.N
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((clientCount + procs - 1) / procs)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := o.do(ctx, args[next.Add(1)-1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	// WAL written per operation: with fsync on, what a commit waits for
	// is flushing it, so it explains much of what the writes cost.
	walEnd, err := e.walPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(walEnd-walStart)/float64(b.N), "wal-B/op")
	if o.done != nil {
		o.done(b, args)
	}
}

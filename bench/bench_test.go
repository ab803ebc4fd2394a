package bench

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/bench/internal/benchenv"
	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/store"
)

// The setup every implementation gets.
const (
	sessions    = 10_000 // pre-created in each table
	payloadSize = 512    // bytes of state per session
	maxConns    = 16     // pgxpool MaxConns, shared by all implementations
	clients     = 16     // goroutines of the parallel rows
	ttl         = 24 * time.Hour
	seed        = 1 // of the keys and the payload
)

// scsTableDDL is scs/pgxstore's table, exactly as its README gives it. The
// store hard-codes the name "sessions"; the pool's search_path points it at
// the benchmark schema.
const scsTableDDL = `CREATE TABLE sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_expiry_idx ON sessions (expiry);`

var (
	env     *benchenv.Env
	pool    *pgxpool.Pool
	keys    []string // the pre-created sessions, the same in every table
	payload []byte
	impls   []impl
)

// impl is one way of doing each benchmarked operation. Every function checks
// that the operation did what the benchmark expects.
type impl struct {
	name   string
	table  string // vacuumed before each run, so runs start from the same state
	load   func(ctx context.Context, key string) error
	update func(ctx context.Context, key string) error
	create func(ctx context.Context, key string) error
	delete func(ctx context.Context, key string) error
}

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run()) // no benchmarks asked for: no server needed
	}
	os.Exit(benchMain(m))
}

func benchMain(m *testing.M) int {
	defer stopRedis() // redis_test.go's servers, if any started
	if redisOnly(flag.Lookup("test.bench").Value.String()) {
		return m.Run() // no PostgreSQL needed
	}
	ctx := context.Background()
	var err error
	if env, err = benchenv.Setup(ctx, nil); err != nil {
		fmt.Fprintln(os.Stderr, "bench: setup:", err)
		return 1
	}
	defer env.Close()
	defer closeOwned() // the owner benchmarks' own cluster, if they ran
	if pool, err = env.Pool(ctx, maxConns); err != nil {
		fmt.Fprintln(os.Stderr, "bench: pool:", err)
		return 1
	}
	defer pool.Close()
	if err := setup(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench: setup:", err)
		return 1
	}
	// Configuration lines in benchfmt's "key: value" form, which benchstat
	// keeps with the results.
	fmt.Printf("postgres: %s\n", env.Version)
	fmt.Printf("server: %s\n", env.Source)
	fmt.Printf("db-collation: %s\n", env.Collation)
	fmt.Printf("setup: %d sessions of %d bytes per table, pool MaxConns=%d\n", sessions, payloadSize, maxConns)
	return m.Run()
}

// setup creates both tables, fills them with the same sessions and builds
// the implementations.
func setup(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(seed, seed))
	payload = make([]byte, payloadSize)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	keys = make([]string, sessions)
	for i := range keys {
		var b [32]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		keys[i] = base64.RawURLEncoding.EncodeToString(b[:]) // like store.NewID
	}

	pg, err := pgstore.New(pool, pgstore.Options{Clock: clock.Real()})
	if err != nil {
		return err
	}
	if err := pg.Migrate(ctx); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, scsTableDDL); err != nil {
		return err
	}
	scs := pgxstore.NewWithCleanupInterval(pool, 0) // no background cleanup

	expires := time.Now().Add(ttl)
	if err := fill(ctx, pgx.Identifier{pgstore.DefaultTable}, []string{"id", "state", "expires"}, expires); err != nil {
		return err
	}
	if err := fill(ctx, pgx.Identifier{"sessions"}, []string{"token", "data", "expiry"}, expires); err != nil {
		return err
	}
	// Autovacuum would wake up at random in the middle of some runs and
	// not others; each run vacuums its table before it starts instead.
	for _, t := range []string{pg.Table(), "sessions"} {
		if _, err := pool.Exec(ctx, "ALTER TABLE "+t+" SET (autovacuum_enabled = off)"); err != nil {
			return err
		}
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return err
		}
	}

	impls = []impl{
		{
			name:  "pgstore",
			table: pg.Table(),
			load: func(ctx context.Context, key string) error {
				_, err := pg.Load(ctx, store.ID(key))
				return err
			},
			update: func(ctx context.Context, key string) error {
				return pg.Update(ctx, store.ID(key), payload, ttl)
			},
			create: func(ctx context.Context, key string) error {
				return pg.Create(ctx, store.ID(key), payload, ttl)
			},
			delete: func(ctx context.Context, key string) error {
				return pg.Delete(ctx, store.ID(key))
			},
		},
		{
			name:  "scs",
			table: "sessions",
			load: func(ctx context.Context, key string) error {
				_, found, err := scs.FindCtx(ctx, key)
				if err == nil && !found {
					err = errors.New("scs: session not found")
				}
				return err
			},
			// scs has no update: Commit upserts, which is what scs.SessionManager
			// calls for a modified session.
			update: func(ctx context.Context, key string) error {
				return scs.CommitCtx(ctx, key, payload, time.Now().Add(ttl))
			},
			create: func(ctx context.Context, key string) error {
				return scs.CommitCtx(ctx, key, payload, time.Now().Add(ttl))
			},
			delete: func(ctx context.Context, key string) error {
				return scs.DeleteCtx(ctx, key)
			},
		},
		floor(pg.Table()),
	}
	impls = append(impls, diagImpls(pg.Table())...)
	// run.sh numbers its rounds; even ones run the implementations in
	// reverse, so that whatever running first or last does to a
	// measurement (a freshly vacuumed table, the host's drift within a
	// round) falls on every implementation equally often.
	if r, err := strconv.Atoi(os.Getenv("HOURGLASS_BENCH_ROUND")); err == nil && r%2 == 0 {
		slices.Reverse(impls)
	}
	return nil
}

// floor is the least any store must do on pgstore's table: one primary-key
// statement per operation through the same pool, no liveness check, no
// clock, no error classification.
func floor(table string) impl {
	var (
		load   = `SELECT state, expires FROM ` + table + ` WHERE id = $1`
		update = `UPDATE ` + table + ` SET state = $2, expires = $3 WHERE id = $1`
		create = `INSERT INTO ` + table + ` (id, state, expires) VALUES ($1, $2, $3)`
		delete = `DELETE FROM ` + table + ` WHERE id = $1`
	)
	one := func(tag interface{ RowsAffected() int64 }, err error) error {
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("floor: %d rows affected, want 1", tag.RowsAffected())
		}
		return err
	}
	return impl{
		name:  "floor",
		table: table,
		load: func(ctx context.Context, key string) error {
			var state []byte
			var expires time.Time
			return pool.QueryRow(ctx, load, key).Scan(&state, &expires)
		},
		update: func(ctx context.Context, key string) error {
			return one(pool.Exec(ctx, update, key, payload, time.Now().Add(ttl)))
		},
		create: func(ctx context.Context, key string) error {
			return one(pool.Exec(ctx, create, key, payload, time.Now().Add(ttl)))
		},
		delete: func(ctx context.Context, key string) error {
			return one(pool.Exec(ctx, delete, key))
		},
	}
}

// fill copies the pre-created sessions into a table.
func fill(ctx context.Context, table pgx.Identifier, cols []string, expires time.Time) error {
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{k, payload, expires}
	}
	_, err := pool.CopyFrom(ctx, table, cols, pgx.CopyFromRows(rows))
	return err
}

// freshKeys hands out IDs no table holds, 43 characters like the others.
var (
	freshPrefix = "new" + strconv.FormatInt(time.Now().UnixNano(), 36)
	freshSeq    atomic.Uint64
)

func freshKey() string {
	return fmt.Sprintf("%s%0*d", freshPrefix, 43-len(freshPrefix), freshSeq.Add(1))
}

// op is one benchmarked iteration; next picks the pre-created session it
// works on, round robin over all of them.
type op func(ctx context.Context, im impl, next func() string) error

func BenchmarkLoad(b *testing.B) {
	run(b, func(ctx context.Context, im impl, next func() string) error {
		return im.load(ctx, next())
	})
}

func BenchmarkUpdate(b *testing.B) {
	run(b, func(ctx context.Context, im impl, next func() string) error {
		return im.update(ctx, next())
	})
}

// BenchmarkCreateDelete creates a session under a fresh ID and deletes it:
// two statements per iteration.
func BenchmarkCreateDelete(b *testing.B) {
	run(b, func(ctx context.Context, im impl, _ func() string) error {
		key := freshKey()
		if err := im.create(ctx, key); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if err := im.delete(ctx, key); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return nil
	})
}

// run runs o for every implementation, with one client and with clients
// parallel ones, as sub-benchmarks clients=N/impl=NAME. The implementation
// is the innermost level so that the runs being compared follow each other:
// on a shared machine whose speed drifts, that matters more than the order
// of the name's parts (benchstat -col /impl does not care).
func run(b *testing.B, o op) {
	for _, parallel := range []bool{false, true} {
		n := 1
		if parallel {
			n = clients
		}
		b.Run("clients="+strconv.Itoa(n), func(b *testing.B) {
			for _, im := range impls {
				b.Run("impl="+im.name, func(b *testing.B) { measure(b, im, o, parallel) })
			}
		})
	}
}

func measure(b *testing.B, im impl, o op, parallel bool) {
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "VACUUM "+im.table); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Uint64 // the same key sequence for every implementation
	next := func() string { return keys[(seq.Add(1)-1)%sessions] }
	b.ReportAllocs()
	cpu := startCPU(env)
	b.ResetTimer()
	if !parallel {
		for i := 0; i < b.N; i++ {
			if err := o(ctx, im, next); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		// RunParallel starts GOMAXPROCS*p goroutines.
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((clients + procs - 1) / procs)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := o(ctx, im, next); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// cpuMark is where CPU accounting stood when a run started. The CPU time
// per operation, split between this process and the server, is much less
// noisy than wall time on a shared machine, and tells on which side an
// implementation spends more.
type cpuMark struct {
	env                *benchenv.Env // whose server is measured
	client, server     time.Duration
	clientOK, serverOK bool
}

func startCPU(e *benchenv.Env) cpuMark {
	m := cpuMark{env: e}
	m.client, m.clientOK = benchenv.ClientCPU()
	m.server, m.serverOK = e.ServerCPU()
	return m
}

func (m cpuMark) report(b *testing.B) {
	if c, ok := benchenv.ClientCPU(); ok && m.clientOK {
		b.ReportMetric(float64(c-m.client)/float64(b.N), "client-cpu-ns/op")
	}
	if s, ok := m.env.ServerCPU(); ok && m.serverOK {
		b.ReportMetric(float64(s-m.server)/float64(b.N), "server-cpu-ns/op")
	}
}

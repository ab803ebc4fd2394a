package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// t0 is an arbitrary instant with no sub-microsecond part.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testSchema is the schema of one test and the pool it shares: a test may
// make hundreds of stores, and each needs only a table of its own.
type testSchema struct {
	name string
	pool *pgxpool.Pool
}

var testSchemas struct {
	sync.Mutex
	m map[testing.TB]testSchema
}

func schemaOf(t testing.TB) testSchema {
	t.Helper()
	testSchemas.Lock()
	defer testSchemas.Unlock()
	if s, ok := testSchemas.m[t]; ok {
		return s
	}
	name := pgtest.Schema(t)
	s := testSchema{name: name, pool: pgtest.PoolFor(t, name, nil)}
	if testSchemas.m == nil {
		testSchemas.m = map[testing.TB]testSchema{}
	}
	testSchemas.m[t] = s
	t.Cleanup(func() {
		testSchemas.Lock()
		delete(testSchemas.m, t)
		testSchemas.Unlock()
	})
	return s
}

// testPool is the pool of t's schema.
func testPool(t testing.TB) *pgxpool.Pool { return schemaOf(t).pool }

// siblingPool is another pool on t's schema, configured differently.
func siblingPool(t testing.TB, configure func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	return pgtest.PoolFor(t, schemaOf(t).name, configure)
}

var tableSeq atomic.Int64

// randomName returns prefix and random hex: for objects outside the test's
// schema (roles, databases, schemas), which may share the server with other
// test binaries.
func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// uniqueTable names a table no other store of this test binary uses.
func uniqueTable() string { return fmt.Sprintf("sessions_%d", tableSeq.Add(1)) }

// newStoreOn returns a migrated store on a new table reached through pool.
func newStoreOn(t testing.TB, pool *pgxpool.Pool, opts Options) *Store {
	t.Helper()
	if opts.Table == "" {
		opts.Table = uniqueTable()
	}
	s, err := New(pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// newConformanceStore is the hook of the backend-independent conformance
// suite: a migrated store on a fresh, empty table, reading time from clk.
// It is cheap enough to call hundreds of times per test (a table in the
// test's schema, not a schema or database per call). Each table is dropped
// on its own when the test ends, so that a test that made thousands does
// not need them all locked at once by the final DROP SCHEMA ... CASCADE.
func newConformanceStore(t testing.TB, clk clock.Clock, limits store.Limits) store.Store {
	t.Helper()
	pool := testPool(t)
	s := newStoreOn(t, pool, Options{Clock: clk, Limits: limits})
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+s.Table()) })
	return s
}

// fixture is a store on a fresh table with a simulated clock at t0.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	clk   *clock.Sim
	s     *Store
	table string
	pool  *pgxpool.Pool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := clock.NewSim(t0)
	pool := testPool(t)
	table := uniqueTable()
	return &fixture{t: t, ctx: context.Background(), clk: clk, pool: pool, table: table,
		s: newStoreOn(t, pool, Options{Clock: clk, Table: table})}
}

// rows counts the physical rows, expired ones included, which no operation
// but DeleteExpired can otherwise observe.
func (f *fixture) rows() int {
	f.t.Helper()
	var n int
	if err := f.pool.QueryRow(f.ctx, "SELECT count(*) FROM "+f.s.Table()).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) mustCreate(id store.ID, state string, ttl time.Duration) {
	f.t.Helper()
	if err := f.s.Create(f.ctx, id, []byte(state), ttl); err != nil {
		f.t.Fatalf("Create(%s): %v", id, err)
	}
}

// wantRecord checks that id is live with exactly this state and expiry.
func (f *fixture) wantRecord(id store.ID, state string, expires time.Time) {
	f.t.Helper()
	rec, err := f.s.Load(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Load(%s): %v", id, err)
	}
	if string(rec.State) != state || !rec.Expires.Equal(expires) || rec.Expires.Location() != time.UTC {
		f.t.Fatalf("Load(%s) = {%q, %v}, want {%q, %v UTC}", id, rec.State, rec.Expires, state, expires)
	}
}

// version returns the version id is live at.
func (f *fixture) version(id store.ID) uint64 {
	f.t.Helper()
	rec, err := f.s.Load(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Load(%s): %v", id, err)
	}
	return rec.Version
}

func (f *fixture) wantNotFound(id store.ID) {
	f.t.Helper()
	if rec, err := f.s.Load(f.ctx, id); !errors.Is(err, store.ErrNotFound) {
		f.t.Fatalf("Load(%s) = %+v, %v; want ErrNotFound", id, rec, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

// Package pgsim runs simulator traces against pgstore on a real PostgreSQL
// server, with every fault the simulator knows: network faults through a
// faults.Dialer on the pool's connections, and server faults (terminating
// the backend, a statement timeout, a crash and restart) through hooks that
// act on the server itself.
//
// A Harness keeps one pool of one connection across runs and truncates the
// session table before each, which is what makes hundreds of runs a second
// possible. One connection also makes faults land deterministically: the
// armed operation is the one that meets the broken connection. Pings on
// acquire and background health checks are off for the same reason.
//
// In a run of several clients (sim.Record), each client is a separate
// application server: a pgstore.Store on a pool of its own, with its own
// fault dialer, so that a network fault hits the connection of the client
// it was armed for. Server faults hit everyone: a crash or a termination
// ends every client's connections, and a statement timeout's lock holds up
// every client, which is what the checker's excuse for overlapping
// operations is for.
package pgsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/internal/pgcluster"
	"github.com/hourglass-go/hourglass/internal/stack"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// statementTimeout is what a Timeout fault sets on the armed operation's
// connection. The operation is blocked by a lock, so it always runs out.
const statementTimeout = "150ms"

// Harness is a PostgreSQL server prepared for simulator runs.
type Harness struct {
	dsn      string
	cluster  *pgcluster.Cluster // nil for a server we were given: no crashes
	app      string             // application_name of the simulated pool
	table    string
	dialer   *faults.Dialer
	pool     *pgxpool.Pool // the store's: one connection, faulted
	timeZone string
	admin    *pgxpool.Pool // the harness's own: never faulted

	timeoutArmed atomic.Bool
	mu           sync.Mutex
	timedOut     map[*pgx.Conn]bool // connections with the short timeout set

	// clients are the pools of clients 1 and up, made on first use and
	// kept across runs, each with its own fault dialer.
	clients []clientPool
	limits  store.Limits // the current run's, for its clients' stores
	// faulting serialises server faults: two clients armed at once take
	// turns, each fault held until its operation ends.
	faulting sync.Mutex
}

type clientPool struct {
	pool   *pgxpool.Pool
	dialer *faults.Dialer
}

// Options configure New.
type Options struct {
	// Table is the session table (default "hourglass_sim").
	Table string
	// TimeZone, if set, is the TimeZone of the store's connections. Results
	// must not depend on it.
	TimeZone string
	// Cluster, when the harness owns the server, lets Crash faults kill and
	// restart it. It must run with synchronous_commit on, or a crash may
	// lose commits the server had acknowledged.
	Cluster *pgcluster.Cluster
}

// StartCluster starts a throwaway server fit for crash faults.
func StartCluster(ctx context.Context) (*pgcluster.Cluster, error) {
	return pgcluster.Start(ctx, pgcluster.Options{Settings: map[string]string{"synchronous_commit": "on"}})
}

// New connects to the server at dsn and migrates the session table.
func New(ctx context.Context, dsn string, opts Options) (*Harness, error) {
	if opts.Table == "" {
		opts.Table = "hourglass_sim"
	}
	h := &Harness{
		dsn:      dsn,
		cluster:  opts.Cluster,
		app:      fmt.Sprintf("hourglass-sim-%d", os.Getpid()),
		table:    opts.Table,
		dialer:   faults.NewDialer(nil),
		timedOut: map[*pgx.Conn]bool{},
	}
	h.timeZone = opts.TimeZone
	var err error
	if h.pool, err = h.newPool(ctx, h.dialer); err != nil {
		return nil, err
	}
	acfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		h.pool.Close()
		return nil, fmt.Errorf("pgsim: %w", err)
	}
	acfg.MaxConns = 2
	if h.admin, err = pgxpool.NewWithConfig(ctx, acfg); err != nil {
		h.pool.Close()
		return nil, fmt.Errorf("pgsim: %w", err)
	}
	s, err := pgstore.New(h.admin, pgstore.Options{Table: h.table})
	if err == nil {
		err = s.Migrate(ctx)
	}
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("pgsim: migrating: %w", err)
	}
	return h, nil
}

// newPool makes a pool of one connection for a simulated application
// server, its connections dialled through dialer.
func (h *Harness) newPool(ctx context.Context, dialer *faults.Dialer) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(h.dsn)
	if err != nil {
		return nil, fmt.Errorf("pgsim: %w", err)
	}
	cfg.MaxConns, cfg.MinConns = 1, 0
	cfg.HealthCheckPeriod = time.Hour
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	cfg.ConnConfig.DialFunc = dialer.DialContext
	cfg.ConnConfig.RuntimeParams["application_name"] = h.app
	if h.timeZone != "" {
		cfg.ConnConfig.RuntimeParams["timezone"] = h.timeZone
	}
	cfg.PrepareConn = h.prepareConn
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgsim: %w", err)
	}
	return pool, nil
}

// Close releases the pools; it does not stop a cluster.
func (h *Harness) Close() {
	h.pool.Close()
	for _, c := range h.clients {
		c.pool.Close()
	}
	h.admin.Close()
}

// Factory is a sim.Factory: an empty session table, a pgstore reading the
// run's clock, and the run's Injector wired to the connections and to the
// server hooks. It may be called many times; runs must not overlap.
func (h *Harness) Factory(env sim.Env) (store.Store, error) { return h.wrapped(nil)(env) }

// Wrap turns a client's pgstore into the store a run uses: a test plants a
// bug this way. pool is the client's, for statements of its own.
type Wrap func(s *pgstore.Store, pool *pgxpool.Pool, clk clock.Clock) store.Store

// wrapped is Factory with every client's store, second instances
// included, passed through wrap (nil: none).
func (h *Harness) wrapped(wrap Wrap) sim.Factory {
	return func(env sim.Env) (store.Store, error) {
		s, err := h.prepare(env)
		if err != nil {
			return nil, err
		}
		r := &runStore{h: h, wrap: wrap}
		inst := sim.Instances(r.wrapStore(s, h.pool, env.Clock), func(clk clock.Clock) store.Store {
			second, err := h.newStore(clk, env.Limits)
			if err != nil {
				panic(err) // the same options just worked for the first instance
			}
			return r.wrapStore(second, h.pool, clk)
		})
		full, ok := inst.(fullStore)
		if !ok {
			return nil, fmt.Errorf("pgsim: the wrapped store (%T) lacks pgstore's optional operations: embed *pgstore.Store", inst)
		}
		r.fullStore = full
		if _, ok := inst.(store.Scanner); !ok {
			// A layer that cannot scan (hashid) must not look as if it
			// could: the generator would emit scans it fails.
			return struct{ runNoScan }{r}, nil
		}
		return r, nil
	}
}

// Stacked is Factory with every client's pgstore under the layers of st
// (hashid, seal), the pgstore given the limits the layers need to offer
// the run's.
func (h *Harness) Stacked(st stack.Stack) sim.Factory {
	var (
		limits store.Limits
		err    error
	)
	inner := h.wrapped(func(s *pgstore.Store, _ *pgxpool.Pool, _ clock.Clock) store.Store {
		w, werr := st.Wrap(s, limits)
		if werr != nil {
			err = werr
			return s
		}
		return w
	})
	return func(env sim.Env) (store.Store, error) {
		limits, err = env.Limits, nil
		env.Limits = st.InnerLimits(env.Limits)
		s, ierr := inner(env)
		if ierr != nil {
			return nil, ierr
		}
		return s, err
	}
}

// fullStore is everything a run's store offers but Scan: pgstore has it
// all, and sim.Instances passes it through (its stored IDs included), so
// runStore gets it by embedding. Scan is forwarded by hand, and shown
// only when the store has it (see runNoScan).
type fullStore interface {
	store.Owners
	store.Toucher
	store.Versioner
	store.Sweeper
	store.CapabilityReporter
	store.Keyer
	sim.Instancer
}

// runNoScan is a runStore without Scan, for a layer that cannot scan.
type runNoScan interface {
	fullStore
	sim.Clienter
}

// Scan forwards to the run's store, which has it whenever a runStore is
// handed out with it.
func (r *runStore) Scan(ctx context.Context, after store.ID, limit int) ([]store.ID, error) {
	return r.fullStore.(store.Scanner).Scan(ctx, after, limit)
}

// runStore is a run's first store; it gives the run's other clients
// stores of their own (sim.Clienter).
type runStore struct {
	fullStore
	h    *Harness
	wrap Wrap
}

func (r *runStore) wrapStore(s *pgstore.Store, pool *pgxpool.Pool, clk clock.Clock) store.Store {
	if r.wrap == nil {
		return s
	}
	return r.wrap(s, pool, clk)
}

// Client implements sim.Clienter: client n (1 and up) is a pgstore on a
// pool of its own, whose connections carry the client's faults.
func (r *runStore) Client(n int, clk clock.Clock, in *faults.Injector) (store.Store, error) {
	s, pool, err := r.h.client(n, clk, in)
	if err != nil {
		return nil, err
	}
	return r.wrapStore(s, pool, clk), nil
}

func (h *Harness) client(n int, clk clock.Clock, in *faults.Injector) (*pgstore.Store, *pgxpool.Pool, error) {
	if n == 0 {
		s, err := h.newStore(clk, h.limits)
		return s, h.pool, err
	}
	for len(h.clients) < n {
		d := faults.NewDialer(nil)
		pool, err := h.newPool(context.Background(), d)
		if err != nil {
			return nil, nil, err
		}
		h.clients = append(h.clients, clientPool{pool: pool, dialer: d})
	}
	c := h.clients[n-1]
	c.dialer.Use(in)
	in.SetServer(h)
	s, err := pgstore.New(c.pool, pgstore.Options{Clock: clk, Limits: h.limits, Table: h.table})
	return s, c.pool, err
}

// prepare empties the table, wires env's Injector and returns the run's
// first store.
func (h *Harness) prepare(env sim.Env) (*pgstore.Store, error) {
	ctx := context.Background()
	if _, err := h.admin.Exec(ctx, "TRUNCATE "+pgx.Identifier{h.table}.Sanitize()); err != nil {
		return nil, fmt.Errorf("pgsim: emptying the table: %w", err)
	}
	if env.Faults != nil {
		h.dialer.Use(env.Faults)
		env.Faults.SetServer(h)
	}
	h.limits = env.Limits
	return h.newStore(env.Clock, env.Limits)
}

func (h *Harness) newStore(clk clock.Clock, l store.Limits) (*pgstore.Store, error) {
	return pgstore.New(h.pool, pgstore.Options{Clock: clk, Limits: l, Table: h.table})
}

// discard drops every client's pooled connections after a server fault,
// so that one the armed operation did not use is not left dead for an
// operation that starts after the fault, which has no fault in effect.
// It also ends the fault's turn.
func (h *Harness) discard() {
	h.pool.Reset()
	for _, c := range h.clients {
		c.pool.Reset()
	}
	h.faulting.Unlock()
}

// Terminate ends the server processes behind every client's connections
// and waits until they are gone.
func (h *Harness) Terminate(ctx context.Context) (func(), error) {
	h.faulting.Lock()
	if err := h.terminate(ctx); err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	return h.discard, nil
}

func (h *Harness) terminate(ctx context.Context) error {
	// The processes to wait for are the ones terminated: other clients,
	// still working, may connect again at once. The termination is in the
	// aggregate's FILTER, evaluated only for rows the WHERE kept: in the
	// WHERE itself, PostgreSQL may call it before testing the name, on
	// every process, this one included.
	const q = `SELECT coalesce(array_agg(pid) FILTER (WHERE pg_terminate_backend(pid)), '{}') FROM pg_stat_activity WHERE application_name = $1`
	var pids []int32
	if err := h.admin.QueryRow(ctx, q, h.app).Scan(&pids); err != nil {
		return err
	}
	if len(pids) == 0 {
		return fmt.Errorf("pgsim: no connection to terminate: %w", faults.ErrNothingToFault)
	}
	for range 200 {
		var left int
		if err := h.admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pids).Scan(&left); err != nil {
			return err
		}
		if left == 0 {
			return nil
		}
		time.Sleep(5 * time.Millisecond) // waits for a process to exit, not for simulated time
	}
	return errors.New("pgsim: terminated backend did not exit")
}

// Crash kills the server and restarts it on the same data.
func (h *Harness) Crash(ctx context.Context) (func(), error) {
	if h.cluster == nil {
		return nil, errors.New("pgsim: crash needs a server the harness started")
	}
	h.faulting.Lock()
	if err := h.cluster.Kill(); err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	// The restart is the harness's, not the operation's: it must not end
	// with the operation's context, and on a loaded machine crash recovery
	// can outlast one attempt. A server that stays down fails the run
	// (faults.Injector.Err) instead of failing every later operation.
	var err error
	for range 3 {
		if err = h.cluster.Restart(context.WithoutCancel(ctx)); err == nil {
			break
		}
	}
	if err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	h.admin.Reset() // the harness's own connections died with the server
	return h.discard, nil
}

// Timeout holds a lock on the table from another connection and gives the
// store's connection a short statement timeout, so that the armed operation
// waits on the lock until the server cancels it.
func (h *Harness) Timeout(ctx context.Context) (func(), error) {
	h.faulting.Lock()
	// A pooled connection may have died with a crash the pool has not
	// noticed yet: a fresh one is tried before the hook gives up.
	tx, err := h.admin.Begin(ctx)
	for try := 1; err != nil && try < 3; try++ {
		h.admin.Reset()
		tx, err = h.admin.Begin(ctx)
	}
	if err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{h.table}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		_ = tx.Rollback(ctx)
		h.faulting.Unlock()
		return nil, err
	}
	h.timeoutArmed.Store(true)
	return func() {
		h.timeoutArmed.Store(false)
		_ = tx.Rollback(context.Background())
		h.faulting.Unlock()
	}, nil
}

// prepareConn sets or clears the short statement timeout as a connection is
// acquired, so that only the armed operation runs with it.
func (h *Harness) prepareConn(ctx context.Context, c *pgx.Conn) (bool, error) {
	want := h.timeoutArmed.Load()
	h.mu.Lock()
	has := h.timedOut[c]
	h.mu.Unlock()
	if want == has {
		return true, nil
	}
	q := "SET statement_timeout = '" + statementTimeout + "'"
	if !want {
		q = "RESET statement_timeout"
	}
	if _, err := c.Exec(ctx, q); err != nil {
		return false, nil // a broken connection: let the pool replace it
	}
	h.mu.Lock()
	if want {
		h.timedOut[c] = true
	} else {
		delete(h.timedOut, c)
	}
	h.mu.Unlock()
	return true, nil
}

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
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// statementTimeout is what a Timeout fault sets on the armed operation's
// connection. The operation is blocked by a lock, so it always runs out.
const statementTimeout = "150ms"

// Harness is a PostgreSQL server prepared for simulator runs.
type Harness struct {
	dsn     string
	cluster *pgcluster.Cluster // nil for a server we were given: no crashes
	app     string             // application_name of the simulated pool
	table   string
	dialer  *faults.Dialer
	pool    *pgxpool.Pool // the store's: one connection, faulted
	admin   *pgxpool.Pool // the harness's own: never faulted

	timeoutArmed atomic.Bool
	mu           sync.Mutex
	timedOut     map[*pgx.Conn]bool // connections with the short timeout set
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
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgsim: %w", err)
	}
	cfg.MaxConns, cfg.MinConns = 1, 0
	cfg.HealthCheckPeriod = time.Hour
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	cfg.ConnConfig.DialFunc = h.dialer.DialContext
	cfg.ConnConfig.RuntimeParams["application_name"] = h.app
	if opts.TimeZone != "" {
		cfg.ConnConfig.RuntimeParams["timezone"] = opts.TimeZone
	}
	cfg.PrepareConn = h.prepareConn
	if h.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("pgsim: %w", err)
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

// Close releases the pools; it does not stop a cluster.
func (h *Harness) Close() {
	h.pool.Close()
	h.admin.Close()
}

// Factory is a sim.Factory: an empty session table, a pgstore reading the
// run's clock, and the run's Injector wired to the connections and to the
// server hooks. It may be called many times; runs must not overlap.
func (h *Harness) Factory(env sim.Env) (store.Store, error) {
	s, err := h.prepare(env)
	if err != nil {
		return nil, err
	}
	return sim.Instances(s, func(clk clock.Clock) store.Store {
		second, err := h.newStore(clk, env.Limits)
		if err != nil {
			panic(err) // the same options just worked for the first instance
		}
		return second
	}), nil
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
	return h.newStore(env.Clock, env.Limits)
}

func (h *Harness) newStore(clk clock.Clock, l store.Limits) (*pgstore.Store, error) {
	return pgstore.New(h.pool, pgstore.Options{Clock: clk, Limits: l, Table: h.table})
}

// discard drops the store's pooled connections after a server fault, so that
// one the armed operation did not use is not left dead for the next.
func (h *Harness) discard() { h.pool.Reset() }

// Terminate ends the server process behind the store's connection and waits
// until it is gone.
func (h *Harness) Terminate(ctx context.Context) (func(), error) {
	if err := h.terminate(ctx); err != nil {
		return nil, err
	}
	return h.discard, nil
}

func (h *Harness) terminate(ctx context.Context) error {
	const q = `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`
	var n int
	if err := h.admin.QueryRow(ctx, q, h.app).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errors.New("pgsim: no connection to terminate")
	}
	for range 200 {
		var left int
		if err := h.admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, h.app).Scan(&left); err != nil {
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
	if err := h.cluster.Kill(); err != nil {
		return nil, err
	}
	if err := h.cluster.Restart(ctx); err != nil {
		return nil, err
	}
	h.admin.Reset() // the harness's own connections died with the server
	return h.discard, nil
}

// Timeout holds a lock on the table from another connection and gives the
// store's connection a short statement timeout, so that the armed operation
// waits on the lock until the server cancels it.
func (h *Harness) Timeout(ctx context.Context) (func(), error) {
	tx, err := h.admin.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{h.table}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		_ = tx.Rollback(ctx)
		return nil, err
	}
	h.timeoutArmed.Store(true)
	return func() {
		h.timeoutArmed.Store(false)
		_ = tx.Rollback(context.Background())
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

package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/store"
)

// lostCancelAddr is the address a connection of probedPool claims to have,
// so that the cancel request pgx sends there when it drops the connection
// can be recognised and refused.
type lostCancelAddr struct{}

func (lostCancelAddr) Network() string { return "tcp" }
func (lostCancelAddr) String() string  { return "lost-cancel.invalid:1" }

// cancelLostConn is a connection to the server whose cancel requests are
// lost: pgx dials its RemoteAddr for them.
type cancelLostConn struct{ net.Conn }

func (cancelLostConn) RemoteAddr() net.Addr { return lostCancelAddr{} }

// probedPool is a pool on t's schema, adjusted by configure (if not nil),
// whose connections carry application_name app so that a test can find
// their server processes, and which counts the connections it and copies
// of its configuration (the fence's) open.
//
// When pgx drops a connection in the middle of a statement it sends the
// server a cancel request, and a server process waiting on a lock then
// stops at once. That request can be lost (the network fails, a load
// balancer sends it to another server), and then the process waits on,
// unaware of the closed connection until it tries to use it: the case the
// fence must bound. This pool's cancel requests are always lost, so that
// the case is reproducible.
func probedPool(t *testing.T, configure func(*pgxpool.Config)) (pool *pgxpool.Pool, app string, opened *atomic.Int64) {
	t.Helper()
	// PostgreSQL 14 and later can poll the client socket during a long
	// wait; a server configured so would end the process without help.
	var pollsClient bool
	if err := testPool(t).QueryRow(t.Context(),
		`SELECT current_setting('client_connection_check_interval', true) IS NOT NULL`).Scan(&pollsClient); err != nil {
		t.Fatal(err)
	}
	app = randomName("fence_")
	opened = new(atomic.Int64)
	pool = siblingPool(t, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.RuntimeParams["application_name"] = app
		if pollsClient {
			cfg.ConnConfig.RuntimeParams["client_connection_check_interval"] = "0"
		}
		dial := cfg.ConnConfig.DialFunc
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == (lostCancelAddr{}).String() {
				return nil, errors.New("cancel request lost")
			}
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			opened.Add(1)
			return cancelLostConn{c}, nil
		}
		if configure != nil {
			configure(cfg)
		}
	})
	return pool, app, opened
}

// lockWaiters counts the server processes of application app that wait on
// a lock.
func lockWaiters(t *testing.T, app string) int {
	t.Helper()
	var n int
	err := testPool(t).QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// terminateBlockedWrite runs write, waits until its statement waits on a
// lock (lockRow), ends its server process as an administrator or a
// shutdown would (FATAL 57P01), and returns what write returned. The write
// is ambiguous and its server process is gone, so a fence can finish.
func terminateBlockedWrite(t *testing.T, app string, write func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- write() }()
	deadline := time.Now().Add(10 * time.Second)
	for lockWaiters(t, app) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the write never blocked on the row lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var n int
	err := testPool(t).QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminating the blocked write: %d processes, %v", n, err)
	}
	return <-done
}

func wantTerminated(t *testing.T, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !store.IsAmbiguous(err) || !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
		t.Fatalf("Update whose server process was terminated: %v, want ambiguous with 57P01", err)
	}
}

// A pool whose credentials come from BeforeConnect (IAM tokens, rotated
// passwords) has none in its ConnConfig. The fence's own connection must
// get them from the hook too, or every ambiguous write would also be
// ErrNotFinal and leave an authentication failure in the server's log.
func TestFenceConnectsThroughBeforeConnect(t *testing.T) {
	t.Parallel()
	pgtest.EnsurePasswordGroup(t)
	f := newFixture(t)
	f.mustCreate("a", "before", time.Hour)

	role, password := randomName("fence_"), randomName("pw")
	// Registered before the role's pools, so that it runs after they are
	// closed; DROP OWNED revokes the grants, which DROP ROLE refuses to
	// leave behind.
	t.Cleanup(func() {
		_, _ = f.pool.Exec(context.Background(), "DROP OWNED BY "+role)
		_, _ = f.pool.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	for _, sql := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE %s", role, password, pgtest.PasswordGroup),
		"GRANT USAGE ON SCHEMA " + pgx.Identifier{schemaOf(t).name}.Sanitize() + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON " + f.s.Table() + " TO " + role,
	} {
		if _, err := f.pool.Exec(f.ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	asRole := func(cfg *pgxpool.Config) { cfg.ConnConfig.User, cfg.ConnConfig.Password = role, "" }
	if err := siblingPool(t, asRole).Ping(f.ctx); err == nil {
		t.Skipf("%s lets role %s in without its password (its pg_hba.conf trusts it); nothing to test", pgtest.Source(t), role)
	}

	var hookCalls atomic.Int64
	pool, app, _ := probedPool(t, func(cfg *pgxpool.Config) {
		asRole(cfg)
		cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
			hookCalls.Add(1)
			cc.Password = password
			return nil
		}
	})
	s, err := New(pool, Options{Clock: f.clk, Table: f.table})
	if err != nil {
		t.Fatal(err)
	}
	// The pool's own connection, made now so that it is not counted below.
	if _, err := s.Load(f.ctx, "a"); err != nil {
		t.Fatalf("Load as %s: %v", role, err)
	}
	before := hookCalls.Load()

	lockRow(t, f, "a")
	err = terminateBlockedWrite(t, app, func() error { return s.Update(f.ctx, "a", []byte("after"), time.Minute) })
	wantTerminated(t, err)
	if errors.Is(err, ErrNotFinal) {
		t.Fatalf("the fence could not wait for the terminated process: %v", err)
	}
	if n := hookCalls.Load() - before; n < 1 {
		t.Fatalf("BeforeConnect ran %d times for the fence, want at least once", n)
	}
}

// A write whose caller's deadline passed while its server process cannot
// exit (it waits on a lock and never learned that the client left) returns
// once Options.FenceTimeout is spent, not after a fixed 5 s whatever the
// caller asked for; the error says the outcome may still change.
func TestFenceTimeoutBoundsTheWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "before", time.Hour)
	pool, app, _ := probedPool(t, nil)
	const fenceTimeout = 200 * time.Millisecond
	s, err := New(pool, Options{Clock: f.clk, Table: f.table, FenceTimeout: fenceTimeout})
	if err != nil {
		t.Fatal(err)
	}
	release := lockRow(t, f, "a")

	ctx, cancel := context.WithTimeout(f.ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Update(ctx, "a", []byte("after"), time.Minute)
	elapsed := time.Since(start) // real time: server processes do not run on the simulated clock
	if !store.IsAmbiguous(err) || !errors.Is(err, ErrNotFinal) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update cancelled in flight, its server process stuck: %v, want ambiguous, ErrNotFinal and DeadlineExceeded", err)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("Update returned after %v with FenceTimeout %v", elapsed, fenceTimeout)
	}
	if elapsed < fenceTimeout {
		t.Fatalf("Update returned after %v, before the fence could wait %v: %v", elapsed, fenceTimeout, err)
	}
	if n := lockWaiters(t, app); n != 1 {
		t.Fatalf("%d server processes of the store wait on the lock, want the abandoned one: the test does not show what it claims", n)
	}
	release()
	rec, loadErr := s.Load(f.ctx, "a")
	t.Logf("after %v, %v; once the lock was released: %q, %v", elapsed, err, rec.State, loadErr)
}

// A negative FenceTimeout reports ambiguous writes at once, not final: no
// connection is opened to wait, even when the wait would succeed.
func TestNegativeFenceTimeoutSkipsTheWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "before", time.Hour)
	pool, app, opened := probedPool(t, nil)
	s, err := New(pool, Options{Clock: f.clk, Table: f.table, FenceTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(f.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	before := opened.Load()

	lockRow(t, f, "a")
	err = terminateBlockedWrite(t, app, func() error { return s.Update(f.ctx, "a", []byte("after"), time.Minute) })
	wantTerminated(t, err)
	if !errors.Is(err, ErrNotFinal) {
		t.Fatalf("FenceTimeout -1: %v, want ErrNotFinal", err)
	}
	if n := opened.Load() - before; n != 0 {
		t.Fatalf("FenceTimeout -1: %d connections opened to wait, want none", n)
	}
}

// Zero means the default; other values are kept as given.
func TestFenceTimeoutOption(t *testing.T) {
	t.Parallel()
	pool, _ := unreachablePool(t)
	for given, want := range map[time.Duration]time.Duration{
		0:                     DefaultFenceTimeout,
		-1:                    -1,
		10 * time.Millisecond: 10 * time.Millisecond,
		time.Minute:           time.Minute,
	} {
		s, err := New(pool, Options{FenceTimeout: given})
		if err != nil {
			t.Fatal(err)
		}
		if s.fenceTimeout != want {
			t.Errorf("Options.FenceTimeout %v: the fence waits %v, want %v", given, s.fenceTimeout, want)
		}
	}
}

package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/store"
)

// unreachablePool returns a pool aimed at a loopback port nobody listens
// on, and a count of its connection attempts.
func unreachablePool(t *testing.T) (*pgxpool.Pool, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg, err := pgxpool.ParseConfig("postgres://nobody@" + addr + "/none?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int64
	cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
		attempts.Add(1)
		return nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, &attempts
}

// allOps runs every operation once with valid arguments and returns what
// each said: each statement or batch of statements of the store, owners'
// and Touch's included.
func allOps(ctx context.Context, s *Store) map[string]error {
	_, loadErr := s.Load(ctx, "a")
	_, delExpErr := s.DeleteExpired(ctx, 10)
	_, sweepErr := store.Sweep(ctx, s, 10)
	_, listErr := s.List(ctx, "u")
	_, revokeAllErr := s.RevokeAll(ctx, "u", "a")
	_, touchErr := s.Touch(ctx, "a", time.Minute, 0)
	_, touchReadErr := s.Touch(ctx, "a", time.Minute, time.Hour)
	_, updateIfErr := s.UpdateIf(ctx, "a", 1, []byte("s"), time.Minute)
	_, updateIfKeepErr := s.UpdateIf(ctx, "a", 1, []byte("s"), store.KeepTTL)
	_, changeIDIfErr := s.ChangeIDIf(ctx, "a", "b", 1, []byte("s"))
	_, changeIDIfSelfErr := s.ChangeIDIf(ctx, "a", "a", 1, []byte("s"))
	_, scanErr := s.Scan(ctx, "", 10)
	return map[string]error{
		"Create":             s.Create(ctx, "a", []byte("s"), time.Minute),
		"Load":               loadErr,
		"Update":             s.Update(ctx, "a", []byte("s"), time.Minute),
		"UpdateTTL":          s.UpdateTTL(ctx, "a", time.Minute),
		"Delete":             s.Delete(ctx, "a"),
		"ChangeID":           s.ChangeID(ctx, "a", "b"),
		"ChangeID self":      s.ChangeID(ctx, "a", "a"),
		"DeleteExpired":      delExpErr,
		"Sweep":              sweepErr,
		"CreateOwned":        s.CreateOwned(ctx, "c", "u", []byte("s"), time.Minute, 0),
		"CreateOwned capped": s.CreateOwned(ctx, "c", "u", []byte("s"), time.Minute, 2),
		"Cycle":              s.Cycle(ctx, "a", "d", "", []byte("s"), time.Minute, 0),
		"Cycle owned":        s.Cycle(ctx, "a", "d", "u", []byte("s"), time.Minute, 0),
		"Cycle capped":       s.Cycle(ctx, "a", "d", "u", []byte("s"), time.Minute, 2),
		"Cycle self":         s.Cycle(ctx, "a", "a", "u", []byte("s"), time.Minute, 2),
		"List":               listErr,
		"Revoke":             s.Revoke(ctx, "u", store.HandleOf("a")),
		"RevokeAll":          revokeAllErr,
		"Touch":              touchErr,
		"Touch read":         touchReadErr,
		"UpdateIf":           updateIfErr,
		"UpdateIf KeepTTL":   updateIfKeepErr,
		"ChangeIDIf":         changeIDIfErr,
		"ChangeIDIf self":    changeIDIfSelfErr,
		"Scan":               scanErr,
	}
}

// A server that cannot be reached fails every operation definitely: the
// connection was never acquired, so nothing was sent.
func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	pool, _ := unreachablePool(t)
	s, err := New(pool, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for op, err := range allOps(ctx, s) {
		if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDuplicateID) {
			t.Errorf("%s: %v, want a connection error", op, err)
			continue
		}
		if store.IsAmbiguous(err) {
			t.Errorf("%s: %v is ambiguous; a failed acquire is definite", op, err)
		}
		if !strings.HasPrefix(err.Error(), "pgstore: ") || !strings.Contains(err.Error(), "connect") {
			t.Errorf("%s: %q does not say what failed", op, err)
		}
	}
	if err := s.Ping(ctx); err == nil || store.IsAmbiguous(err) {
		t.Errorf("Ping: %v", err)
	}
	if err := s.Migrate(ctx); err == nil {
		t.Error("Migrate on an unreachable server succeeded")
	}
}

// pgtest's throwaway cluster makes members of pgtest.PasswordGroup
// authenticate with a password; other servers decide for themselves, so the
// test checks that a wrong password is refused before relying on it.
func TestWrongPassword(t *testing.T) {
	t.Parallel()
	pgtest.EnsurePasswordGroup(t)
	admin := testPool(t)
	role := randomName("pw_")
	if _, err := admin.Exec(t.Context(), fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'right' IN ROLE %s", role, pgtest.PasswordGroup)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+role) })

	poolAs := func(password string) *pgxpool.Pool {
		cfg, err := pgxpool.ParseConfig(pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.User, cfg.ConnConfig.Password = role, password
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	if err := poolAs("right").Ping(t.Context()); err != nil {
		t.Fatalf("the right password is refused: %v", err)
	}
	wrong := poolAs("wrong")
	if err := wrong.Ping(t.Context()); err == nil {
		t.Skipf("%s lets role %s in with a wrong password (its pg_hba.conf trusts it); nothing to test", pgtest.Source(t), role)
	}
	s, err := New(wrong, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for op, err := range allOps(t.Context(), s) {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			t.Errorf("%s: %v, want invalid_password (28P01)", op, err)
		}
		if store.IsAmbiguous(err) {
			t.Errorf("%s: a refused login is definite", op)
		}
	}
	if err := s.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("Ping: %v", err)
	}
}

// Without Migrate every operation fails definitely, and says why.
func TestMissingTable(t *testing.T) {
	t.Parallel()
	s, err := New(testPool(t), Options{Table: "never_migrated"})
	if err != nil {
		t.Fatal(err)
	}
	for op, err := range allOps(t.Context(), s) {
		if !errors.Is(err, ErrTableMissing) {
			t.Errorf("%s: %v, want ErrTableMissing", op, err)
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
			t.Errorf("%s: the server's error (42P01) is not reachable through %v", op, err)
		}
		if store.IsAmbiguous(err) {
			t.Errorf("%s: an error answer from the server is definite", op)
		}
		if !strings.Contains(err.Error(), "Migrate") {
			t.Errorf("%s: %q does not say how to fix it", op, err)
		}
	}
	if err := s.Ping(t.Context()); !errors.Is(err, ErrTableMissing) || !strings.Contains(err.Error(), `"never_migrated"`) {
		t.Errorf("Ping: %v, want ErrTableMissing naming the table", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after Migrate: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

// Tables made by hand in a shape the statements cannot rely on: Ping and
// Migrate say exactly what differs.
func TestWrongShape(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	cases := []struct {
		ddl   string
		wants []string
	}{
		{`(id text PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL)`,
			[]string{`column id has collation "default", want "C"`}},
		{`(id text COLLATE "C", state bytea, expires timestamptz)`,
			[]string{"column id has no unique index of its own"}},
		{`(id text COLLATE "C" PRIMARY KEY, state text NOT NULL, expires timestamp NOT NULL)`,
			[]string{"column state is text, want bytea", "column expires is timestamp without time zone, want timestamp with time zone"}},
		{`(id text COLLATE "C" PRIMARY KEY, expires timestamptz NOT NULL, tenant text NOT NULL)`,
			[]string{"no column state", "extra column tenant is NOT NULL without a default"}},
		{`(id integer PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL)`,
			[]string{"column id is integer, want text"}},
		// The owner column: Create stores NULL there by not naming it,
		// and owners compare as bytes.
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, owner text NOT NULL)`,
			[]string{`column owner has collation "default", want "C"`, "column owner is NOT NULL, want nullable"}},
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, owner integer)`,
			[]string{"column owner is integer, want text"}},
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, owner text COLLATE "C" DEFAULT 'x')`,
			[]string{"column owner has a default"}},
		// The version column: every record has one, a bigint.
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, owner text COLLATE "C", version integer NOT NULL)`,
			[]string{"column version is integer, want bigint"}},
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, owner text COLLATE "C", version bigint DEFAULT 1)`,
			[]string{"column version is nullable, want NOT NULL"}},
	}
	for i, c := range cases {
		table := fmt.Sprintf("bad_%d", i)
		if _, err := pool.Exec(t.Context(), "CREATE TABLE "+table+" "+c.ddl); err != nil {
			t.Fatal(err)
		}
		s, err := New(pool, Options{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		for _, check := range []func(context.Context) error{s.Ping, s.Migrate} {
			err := check(t.Context())
			if !errors.Is(err, ErrTableShape) {
				t.Fatalf("%s: %v, want ErrTableShape", c.ddl, err)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %q does not mention %q", c.ddl, err, w)
				}
			}
		}
	}

	// A view is not a table.
	if _, err := pool.Exec(t.Context(), `CREATE VIEW a_view AS SELECT ''::text COLLATE "C" AS id, ''::bytea AS state, 'epoch'::timestamptz AS expires`); err != nil {
		t.Fatal(err)
	}
	s, _ := New(pool, Options{Table: "a_view"})
	if err := s.Ping(t.Context()); !errors.Is(err, ErrTableShape) || !strings.Contains(err.Error(), "not a table") {
		t.Errorf("Ping on a view: %v", err)
	}

	// An operation that trips over the shape is a definite failure that
	// points at Ping.
	s, _ = New(pool, Options{Table: "bad_3"}) // no state column
	err := s.Create(t.Context(), "a", []byte("s"), time.Minute)
	if !errors.Is(err, ErrTableShape) || store.IsAmbiguous(err) || !strings.Contains(err.Error(), "Ping") {
		t.Errorf("Create on a table without state: %v", err)
	}
}

// A context that is already done stops the operation before it starts.
func TestCancelledContext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "s", time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for op, err := range allOps(ctx, f.s) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", op, err)
		}
		if store.IsAmbiguous(err) {
			t.Errorf("%s: nothing was sent, so the failure is definite", op)
		}
	}
	if err := f.s.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping: %v", err)
	}
	f.wantRecord("a", "s", t0.Add(time.Hour))
}

// lockRow holds a row lock on id from another connection until the test
// ends or release is called, so that writes to that row block.
func lockRow(t *testing.T, f *fixture, id store.ID) (release func()) {
	t.Helper()
	tx, err := f.pool.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(f.ctx, "SELECT 1 FROM "+f.s.Table()+" WHERE id = $1 FOR UPDATE", string(id)); err != nil {
		t.Fatal(err)
	}
	var once atomic.Bool
	release = func() {
		if once.CompareAndSwap(false, true) {
			_ = tx.Rollback(context.Background())
		}
	}
	t.Cleanup(release)
	return release
}

// A statement the server cancels (statement_timeout) is rolled back whole:
// the error is definite and nothing is half-written. The timeout is the
// server's real time, which is fine: no session expiry depends on it.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "before", time.Hour)
	f.mustCreate("b", "other", time.Hour)
	release := lockRow(t, f, "a")

	slow := siblingPool(t, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = "150"
	})
	s := newStoreOn(t, slow, Options{Clock: f.clk, Table: f.table})
	check := func(op string, err error) {
		t.Helper()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
			t.Fatalf("%s on a locked row: %v, want query_canceled (57014)", op, err)
		}
		if store.IsAmbiguous(err) {
			t.Fatalf("%s: a statement the server cancelled is definite", op)
		}
	}
	check("Update", s.Update(f.ctx, "a", []byte("after"), time.Minute))
	check("UpdateTTL", s.UpdateTTL(f.ctx, "a", time.Minute))
	check("Delete", s.Delete(f.ctx, "a"))
	check("ChangeID", s.ChangeID(f.ctx, "a", "c"))
	check("Create", s.Create(f.ctx, "a", []byte("x"), time.Minute))
	v := store.FirstVersion("a", "", []byte("before"), t0.Add(time.Hour))
	_, err := s.UpdateIf(f.ctx, "a", v, []byte("after"), time.Minute)
	check("UpdateIf", err)
	_, err = s.ChangeIDIf(f.ctx, "a", "c", v, []byte("after"))
	check("ChangeIDIf", err)

	// Cleanup waits for a locked expired row rather than skip it (the
	// holder may be about to make it live): it runs into the timeout too,
	// having removed nothing, b included.
	f.clk.Add(2 * time.Hour)
	_, err = s.DeleteExpired(f.ctx, 0)
	check("DeleteExpired", err)
	_, err = store.Sweep(f.ctx, s, 10)
	check("Sweep", err)
	f.clk.Set(t0)
	release()
	f.wantRecord("a", "before", t0.Add(time.Hour))
	f.wantRecord("b", "other", t0.Add(time.Hour))
	f.wantNotFound("c")
}

// A write cancelled by its context while the server is working on it is
// ambiguous: pgx drops the connection, and the server may still commit.
// Reads cancelled the same way are definite.
func TestCancelInFlight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "before", time.Hour)
	release := lockRow(t, f, "a")

	ctx, cancel := context.WithTimeout(f.ctx, 200*time.Millisecond)
	defer cancel()
	err := f.s.Update(ctx, "a", []byte("after"), time.Minute)
	if !store.IsAmbiguous(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update cancelled in flight: %v, want ambiguous and DeadlineExceeded", err)
	}
	release()
	// Either outcome is allowed; which one happened is only logged.
	rec, loadErr := f.s.Load(f.ctx, "a")
	t.Logf("after the ambiguous Update: %q, %v", rec.State, loadErr)

	// A read cancelled in flight: an exclusive table lock held by another
	// transaction makes the SELECT wait.
	readCtx, cancelRead := context.WithTimeout(f.ctx, 100*time.Millisecond)
	defer cancelRead()
	tx, err := f.pool.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(f.ctx, "LOCK TABLE "+f.s.Table()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Load(readCtx, "a")
	if err == nil || store.IsAmbiguous(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Load cancelled in flight: %v, want a definite DeadlineExceeded", err)
	}
}

// The server ending the session while a write waits (an administrator, a
// shutdown: FATAL 57P01) leaves the outcome unknown.
func TestConnectionTerminatedMidWrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "before", time.Hour)
	release := lockRow(t, f, "a")
	defer release()

	done := make(chan error, 1)
	go func() { done <- f.s.Update(f.ctx, "a", []byte("after"), time.Minute) }()
	// Find the blocked backend by what it waits on, then end it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := f.pool.QueryRow(f.ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE ' || $1 || '%'`, f.s.Table()).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Update never blocked on the row lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	err := <-done
	var pgErr *pgconn.PgError
	if !store.IsAmbiguous(err) || !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
		t.Fatalf("Update whose backend was terminated: %v, want ambiguous with 57P01", err)
	}
}

// The classification rule on its own, for errors hard to provoke.
func TestRolledBack(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "23505"}, true},
		{&pgconn.PgError{Severity: "ERROR", Code: "57014"}, true},
		{&pgconn.PgError{Severity: "ERREUR", SeverityUnlocalized: "ERROR", Code: "40P01"}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Severity: "ERROR", Code: "42P01"}), true},
		{&pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P01"}, false},
		{&pgconn.PgError{Severity: "PANIC", Code: "XX000"}, false},
		{&pgconn.PgError{Severity: "ERROR", Code: "08006"}, false},
		{io.ErrUnexpectedEOF, false},
		{pgconn.ErrConnClosed, false}, // SafeToRetry may say yes; a commit may have happened
		{context.Canceled, false},
	}
	for _, c := range cases {
		if got := rolledBack(c.err); got != c.want {
			t.Errorf("rolledBack(%v) = %v, want %v", c.err, got, c.want)
		}
		amb := store.IsAmbiguous(writeFailed("op", c.err))
		if amb == c.want {
			t.Errorf("writeFailed(%v): ambiguous = %v", c.err, amb)
		}
		if store.IsAmbiguous(readFailed("op", c.err)) {
			t.Errorf("readFailed(%v) is ambiguous; reads are always definite", c.err)
		}
		if !errors.Is(writeFailed("op", c.err), c.err) {
			t.Errorf("writeFailed(%v) hides the cause from errors.Is", c.err)
		}
	}
}

package pgstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/store"
)

// Session IDs are credentials, states private and owners personal: none
// may reach the server's log or a pgx tracer, whatever the operation and
// however it conflicts.

// secrets hands out fresh, unguessable IDs, states and owners, and keeps
// them, so that a test can look for every one it used.
type secrets struct {
	mu  sync.Mutex
	all []string
}

func (s *secrets) keep(v string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, v)
	return v
}

func (s *secrets) id() store.ID { return store.ID(s.keep(string(store.NewID()))) }

// state is kept as it is and in hex, the form in which the server quotes
// a bytea.
func (s *secrets) state() []byte {
	v := s.keep("state-" + string(store.NewID()))
	s.keep(hex.EncodeToString([]byte(v)))
	return []byte(v)
}

func (s *secrets) owner() store.Owner { return store.Owner(s.keep("owner-" + string(store.NewID()))) }

// in returns those of the secrets that text holds.
func (s *secrets) in(text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []string
	for _, v := range s.all {
		if strings.Contains(text, v) {
			found = append(found, v)
		}
	}
	return found
}

// everyOperation runs every operation of the store on f, with fresh
// secrets, down each path that meets a conflict: a live or an expired ID
// in the way, another client's write at the same instant, a target
// inserted while a move waits. Each answer is checked, so that every path
// is known to have been taken. f's pool needs workers+2 connections.
func everyOperation(t *testing.T, f *fixture, sec *secrets) {
	t.Helper()
	ctx, s, clk := f.ctx, f.s, f.clk
	must := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	}
	const ttl = time.Hour
	expired := func() store.ID { // an ID whose record has just expired
		t.Helper()
		id := sec.id()
		must("Create to expire", s.Create(ctx, id, sec.state(), time.Second), nil)
		clk.Add(time.Second)
		return id
	}
	version := func(id store.ID) uint64 {
		t.Helper()
		rec, err := s.Load(ctx, id)
		must("Load", err, nil)
		return rec.Version
	}

	// Create onto nothing, a live ID, an expired one.
	a, live := sec.id(), sec.id()
	must("Create", s.Create(ctx, a, sec.state(), ttl), nil)
	must("Create", s.Create(ctx, live, sec.state(), 10*ttl), nil)
	must("Create onto a live ID", s.Create(ctx, a, sec.state(), ttl), store.ErrDuplicateID)
	must("Create onto an expired ID", s.Create(ctx, expired(), sec.state(), ttl), nil)

	// Reads and writes of one session.
	_, err := s.Load(ctx, sec.id())
	must("Load absent", err, store.ErrNotFound)
	must("Update", s.Update(ctx, a, sec.state(), ttl), nil)
	must("Update absent", s.Update(ctx, sec.id(), sec.state(), ttl), store.ErrNotFound)
	must("UpdateTTL", s.UpdateTTL(ctx, a, ttl), nil)
	clk.Add(time.Minute)
	_, err = s.Touch(ctx, a, ttl, 0)
	must("Touch that writes", err, nil)
	_, err = s.Touch(ctx, a, ttl, ttl)
	must("Touch that reads", err, nil)
	v := version(a)
	_, err = s.UpdateIf(ctx, a, v, sec.state(), ttl)
	must("UpdateIf", err, nil)
	_, err = s.UpdateIf(ctx, a, v, sec.state(), ttl)
	must("UpdateIf at a stale version", err, store.ErrConflict)
	_, err = s.UpdateIf(ctx, a, v+1, sec.state(), store.KeepTTL)
	must("UpdateIf KeepTTL", err, nil)
	_, err = s.UpdateIf(ctx, sec.id(), 1, sec.state(), ttl)
	must("UpdateIf absent", err, store.ErrNotFound)

	// Moves onto nothing, a live ID, an expired one, and themselves.
	b := sec.id()
	must("ChangeID", s.ChangeID(ctx, a, b), nil)
	must("ChangeID onto a live ID", s.ChangeID(ctx, b, live), store.ErrDuplicateID)
	must("ChangeID onto itself", s.ChangeID(ctx, b, b), store.ErrDuplicateID)
	must("ChangeID from nothing", s.ChangeID(ctx, sec.id(), sec.id()), store.ErrNotFound)
	c := expired()
	must("ChangeID onto an expired ID", s.ChangeID(ctx, b, c), nil)
	d := sec.id()
	_, err = s.ChangeIDIf(ctx, c, d, version(c), sec.state())
	must("ChangeIDIf", err, nil)
	_, err = s.ChangeIDIf(ctx, d, live, version(d), sec.state())
	must("ChangeIDIf onto a live ID", err, store.ErrDuplicateID)
	_, err = s.ChangeIDIf(ctx, d, sec.id(), version(d)+1, sec.state())
	must("ChangeIDIf at another version", err, store.ErrConflict)
	_, err = s.ChangeIDIf(ctx, d, d, version(d), sec.state())
	must("ChangeIDIf onto itself", err, store.ErrDuplicateID)
	_, err = s.ChangeIDIf(ctx, sec.id(), sec.id(), 1, sec.state())
	must("ChangeIDIf from nothing", err, store.ErrNotFound)
	e := expired()
	_, err = s.ChangeIDIf(ctx, d, e, version(d), sec.state())
	must("ChangeIDIf onto an expired ID", err, nil)
	owner := sec.owner()
	g := sec.id()
	must("Cycle", s.Cycle(ctx, e, g, "", sec.state(), ttl, 0), nil)
	must("Cycle onto a live ID", s.Cycle(ctx, g, live, owner, sec.state(), ttl, 0), store.ErrDuplicateID)
	must("Cycle onto itself", s.Cycle(ctx, g, g, owner, sec.state(), ttl, 2), store.ErrDuplicateID)
	h := expired()
	must("Cycle owned onto an expired ID", s.Cycle(ctx, g, h, owner, sec.state(), ttl, 0), nil)
	i := expired()
	must("Cycle capped onto an expired ID", s.Cycle(ctx, h, i, owner, sec.state(), ttl, 2), nil)
	must("Cycle capped onto a live ID", s.Cycle(ctx, i, live, owner, sec.state(), ttl, 2), store.ErrDuplicateID)

	// An owner's sessions.
	j, k, l := sec.id(), sec.id(), sec.id()
	must("CreateOwned", s.CreateOwned(ctx, j, owner, sec.state(), ttl, 0), nil)
	must("CreateOwned capped, with room", s.CreateOwned(ctx, k, owner, sec.state(), ttl, 3), nil)
	must("CreateOwned capped, evicting", s.CreateOwned(ctx, l, owner, sec.state(), ttl, 2), nil)
	must("CreateOwned onto a live ID", s.CreateOwned(ctx, l, owner, sec.state(), ttl, 0), store.ErrDuplicateID)
	must("CreateOwned capped onto a live ID", s.CreateOwned(ctx, l, owner, sec.state(), ttl, 2), store.ErrDuplicateID)
	must("CreateOwned onto an expired ID", s.CreateOwned(ctx, expired(), owner, sec.state(), ttl, 0), nil)
	must("CreateOwned capped onto an expired ID", s.CreateOwned(ctx, expired(), owner, sec.state(), ttl, 2), nil)
	list, err := s.List(ctx, owner)
	must("List", err, nil)
	must("Revoke", s.Revoke(ctx, owner, list[0].Handle), nil)
	_, err = s.RevokeAll(ctx, owner, l, sec.id())
	must("RevokeAll", err, nil)

	// The rest.
	_, err = s.Scan(ctx, "", 1000)
	must("Scan", err, nil)
	_, err = s.Scan(ctx, live, 10)
	must("Scan after an ID", err, nil)
	z := sec.id()
	must("Create", s.Create(ctx, z, sec.state(), ttl), nil)
	must("Delete", s.Delete(ctx, z), nil)
	must("Delete expired", s.Delete(ctx, expired()), store.ErrNotFound)
	_, err = s.DeleteExpired(ctx, 1)
	must("DeleteExpired", err, nil)
	expired()
	_, err = store.Sweep(ctx, s, 10)
	must("Sweep", err, nil)

	// Clients at once: Creates of one ID, onto nothing and onto an
	// expired ID; moves onto one target, likewise; two moves swapping
	// IDs.
	for _, target := range []store.ID{sec.id(), expired()} {
		errs := race(workers, func(int) error { return s.Create(ctx, target, sec.state(), ttl) })
		if n := count(errs, store.ErrDuplicateID); n != workers-1 {
			t.Fatalf("concurrent Creates of one ID: %v", errs)
		}
	}
	for round, target := range []store.ID{sec.id(), expired(), sec.id(), expired(), sec.id(), expired()} {
		srcs, versions := make([]store.ID, workers), make([]uint64, workers)
		for w := range srcs {
			srcs[w] = sec.id()
			must("Create a source", s.Create(ctx, srcs[w], sec.state(), ttl), nil)
			versions[w] = version(srcs[w])
		}
		errs := race(workers, func(w int) error {
			switch round / 2 {
			case 0:
				return s.ChangeID(ctx, srcs[w], target)
			case 1:
				_, err := s.ChangeIDIf(ctx, srcs[w], target, versions[w], sec.state())
				return err
			}
			return s.Cycle(ctx, srcs[w], target, owner, sec.state(), ttl, 0)
		})
		if n := count(errs, store.ErrDuplicateID); n != workers-1 {
			t.Fatalf("concurrent moves onto one target (round %d): %v", round, errs)
		}
	}
	x, y := sec.id(), sec.id()
	must("Create", s.Create(ctx, x, sec.state(), ttl), nil)
	errs := race(2, func(w int) error {
		if w == 0 {
			return s.ChangeID(ctx, x, y)
		}
		return s.ChangeID(ctx, y, x)
	})
	// One moves, the other finds nothing, or finds the first one's work
	// and moves it back.
	if count(errs, nil) == 0 || count(errs, nil)+count(errs, store.ErrNotFound) != 2 {
		t.Fatalf("swapping moves: %v", errs)
	}

	// A target inserted by another client while a move waits for it: the
	// rename of the version before this one failed here with
	// unique_violation.
	src, dst := sec.id(), sec.id()
	must("Create", s.Create(ctx, src, sec.state(), ttl), nil)
	tx, err := testPool(t).Begin(ctx) // not f's pool, whose tracer is the store's
	must("Begin", err, nil)
	defer func() { _ = tx.Rollback(context.Background()) }()
	_, err = tx.Exec(ctx, "INSERT INTO "+s.Table()+" (id, state, expires) VALUES ($1, $2, $3)", string(dst), sec.state(), clk.Now().Add(ttl))
	must("INSERT", err, nil)
	done := async(func() error { return s.ChangeID(ctx, src, dst) })
	blocked(t, f, 1)
	must("COMMIT", tx.Commit(ctx), nil)
	must("ChangeID onto a target inserted while it waited", <-done, store.ErrDuplicateID)
}

// settings are the logging settings the server-log test runs under, on
// the store's connections. log_statement all (or mod) is never among
// them: it logs every statement with its parameters, by design.
var logSettings = map[string]map[string]string{
	// What the server is configured with (PostgreSQL's defaults: see
	// pgcluster.DefaultSettings), log_statement stated.
	"defaults": {"log_statement": "none"},
	// Everything down to DEBUG1 logged, each error and message with the
	// statement that raised it, in the verbose error format (DETAIL,
	// HINT, CONTEXT, location).
	"verbose": {
		"log_statement":           "none",
		"log_min_messages":        "debug1",
		"log_min_error_statement": "debug1",
		"log_error_verbosity":     "verbose",
	},
}

// Every operation, every conflict, clients at once: the server's log
// holds none of the IDs, states or owners used. The planted bug shows the
// check sees a leak: the statement Create ran before this version, a
// plain INSERT, run once on a live ID, puts the ID in the log ("Key
// (id)=(...) already exists"), and the check finds it.
func TestServerLogHoldsNoSessionData(t *testing.T) {
	t.Parallel()
	path := pgtest.ServerLog(t)
	sec := &secrets{}
	for name, settings := range logSettings {
		t.Run(name, func(t *testing.T) {
			pool := siblingPool(t, func(cfg *pgxpool.Config) {
				cfg.MaxConns = workers + 2
				for k, v := range settings {
					cfg.ConnConfig.RuntimeParams[k] = v
				}
			})
			for k, v := range settings {
				var got string
				if err := pool.QueryRow(t.Context(), "SELECT current_setting($1)", k).Scan(&got); err != nil || got != v {
					t.Fatalf("%s = %q, %v; want %q", k, got, err, v)
				}
			}
			f := newFixture(t)
			f.pool, f.s = pool, newStoreOn(t, pool, Options{Clock: f.clk, Table: f.table})
			everyOperation(t, f, sec)
		})
	}

	planted := testPlant(t, sec)
	log := serverLog(t, path)
	if !strings.Contains(log, string(planted)) {
		t.Fatalf("the planted unique violation's ID is not in %s: the check could not see a leak", path)
	}
	for _, v := range sec.in(log) {
		for line := range strings.Lines(log) {
			if strings.Contains(line, v) {
				t.Errorf("the server logged %q: %s", v, line)
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d IDs, states and owners, none in the server's log (%s)", len(sec.all), path)
	}
}

// testPlant runs the statement Create ran before this version, a plain
// INSERT, on an ID a live session has, and returns the ID. It is not one
// of sec's.
func testPlant(t *testing.T, sec *secrets) store.ID {
	t.Helper()
	f := newFixture(t)
	planted := store.NewID()
	f.mustCreate(planted, "", time.Hour)
	_, err := f.pool.Exec(f.ctx, "INSERT INTO "+f.s.Table()+" (id, state, expires) VALUES ($1, '', $2)", string(planted), t0.Add(time.Hour))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("the planted INSERT: %v, want unique_violation", err)
	}
	if found := sec.in(string(planted)); len(found) != 0 {
		t.Fatalf("the planted ID is one of the secrets")
	}
	return planted
}

// serverLog returns the server's log as it is once everything done so far
// is in it: a warning raised now is, and it comes after all that.
func serverLog(t *testing.T, path string) string {
	t.Helper()
	marker := randomName("pgstore-log-marker-")
	if _, err := testPool(t).Exec(t.Context(), "DO $$ BEGIN RAISE WARNING '"+marker+"'; END $$"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), marker) {
		t.Fatalf("%s does not hold the warning just raised: it is not the server's log", path)
	}
	return string(b)
}

// traceAll is a tracer that keeps, as text, everything pgx and pgstore
// hand it: statements, arguments, command tags, and errors with every
// field of every *pgconn.PgError in them.
type traceAll struct {
	mu   sync.Mutex
	text strings.Builder
}

func (r *traceAll) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.text, format+"\n", args...)
}

func (r *traceAll) err(err error) {
	if err == nil {
		return
	}
	r.add("error %v", err)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		r.add("fields %+v", *pgErr)
	}
}

func (r *traceAll) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add("query %s args %v", d.SQL, d.Args)
	return ctx
}

func (r *traceAll) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	r.add("tag %s", d.CommandTag)
	r.err(d.Err)
}

func (r *traceAll) TracePrepareStart(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	r.add("prepare %s %s", d.Name, d.SQL)
	return ctx
}

func (r *traceAll) TracePrepareEnd(_ context.Context, _ *pgx.Conn, d pgx.TracePrepareEndData) {
	r.err(d.Err)
}

// since returns what was traced from offset on, and the new offset.
func (r *traceAll) since(offset int) (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.text.String()
	return s[offset:], len(s)
}

// Every operation, every conflict, clients at once, and errors that quote
// a row (a CHECK constraint and a trigger someone added to the table):
// a tracer on the pool is given none of the IDs, states or owners, and
// neither is a caller in an error. The planted bug, the same failing
// INSERT run through pgx itself, which hands the tracer the server's
// error as it came, shows the check sees a leak.
func TestTracerSeesNoSessionData(t *testing.T) {
	t.Parallel()
	rec := &traceAll{}
	sec := &secrets{}
	pool := siblingPool(t, func(cfg *pgxpool.Config) {
		cfg.MaxConns = workers + 2
		cfg.ConnConfig.Tracer = rec
	})
	f := newFixture(t)
	f.pool, f.s = pool, newStoreOn(t, pool, Options{Clock: f.clk, Table: f.table})
	everyOperation(t, f, sec)

	// The table is not only pgstore's: a CHECK constraint, whose
	// violation's detail holds the failing row, and a trigger that raises
	// an error quoting the ID.
	if _, err := pool.Exec(f.ctx, `ALTER TABLE `+f.s.Table()+` ADD CONSTRAINT small_state CHECK (length(state) < 100);
		CREATE FUNCTION `+f.table+`_noisy() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.state = 'noisy' THEN
				RAISE EXCEPTION 'rejected session %', NEW.id USING DETAIL = 'id ' || NEW.id, HINT = 'see ' || NEW.id;
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER noisy BEFORE INSERT OR UPDATE ON `+f.s.Table()+` FOR EACH ROW EXECUTE FUNCTION `+f.table+`_noisy()`); err != nil {
		t.Fatal(err)
	}
	big := append(sec.state(), make([]byte, 100)...)
	quiet, noisy := sec.id(), sec.id()
	f.mustCreate(quiet, "quiet", time.Hour)
	failures := map[string]struct {
		err  error
		code string
	}{
		"Create":          {f.s.Create(f.ctx, sec.id(), big, time.Hour), "23514"},
		"Update":          {f.s.Update(f.ctx, quiet, big, time.Hour), "23514"},
		"CreateOwned":     {f.s.CreateOwned(f.ctx, sec.id(), sec.owner(), big, time.Hour, 2), "23514"},
		"Create, trigger": {f.s.Create(f.ctx, noisy, []byte("noisy"), time.Hour), "P0001"},
		"Cycle, trigger":  {f.s.Cycle(f.ctx, quiet, noisy, "", []byte("noisy"), time.Hour, 0), "P0001"},
	}
	for op, c := range failures {
		var pgErr *pgconn.PgError
		if !errors.As(c.err, &pgErr) || pgErr.Code != c.code || store.IsAmbiguous(c.err) {
			t.Fatalf("%s: %v, want a definite %s", op, c.err, c.code)
		}
		text := fmt.Sprintf("%v %+v", c.err, *pgErr)
		if found := sec.in(text); len(found) != 0 {
			t.Errorf("%s: the error holds %q: %s", op, found, text)
		}
		// What happened is still said.
		if c.code == "23514" && (pgErr.ConstraintName != "small_state" || !strings.Contains(c.err.Error(), `check_violation on constraint "small_state"`)) {
			t.Errorf("%s: %v does not name the constraint", op, c.err)
		}
	}
	traced, offset := rec.since(0)
	if !strings.Contains(traced, "check_violation") || !strings.Contains(traced, "P0001") {
		t.Fatalf("the tracer was not told of the failures:\n%s", traced)
	}
	for _, v := range sec.in(traced) {
		for line := range strings.Lines(traced) {
			if strings.Contains(line, v) {
				t.Errorf("the tracer was given %q: %s", v, line)
			}
		}
	}

	// The planted bug: the same INSERT through pgx, unscrubbed.
	planted := store.NewID()
	if _, err := pool.Exec(f.ctx, "INSERT INTO "+f.s.Table()+" (id, state, expires) VALUES ($1, $2, $3)", string(planted), big, t0.Add(time.Hour)); err == nil {
		t.Fatal("the planted INSERT succeeded")
	}
	if rest, _ := rec.since(offset); !strings.Contains(rest, string(planted)) {
		t.Fatalf("the planted check violation's row is not in what the tracer got: the check could not see a leak:\n%s", rest)
	}
	if !t.Failed() {
		t.Logf("%d IDs, states and owners, none traced (%d bytes of traces)", len(sec.all), len(traced))
	}
}

// The scrubbing on its own: every *pgconn.PgError in an error's tree loses
// what may quote a value, keeps what says what happened, and stays
// reachable with errors.As; twice is once.
func TestScrub(t *testing.T) {
	const secret = "s3cr3t-id"
	mk := func(code, message string) *pgconn.PgError {
		return &pgconn.PgError{Severity: "ERROR", Code: code, Message: message,
			Detail: "Key (id)=(" + secret + ") already exists.", Hint: "see " + secret, Where: "PL/pgSQL function f(" + secret + ")",
			InternalQuery: "SELECT '" + secret + "'", ConstraintName: "t_pkey", TableName: "t", SchemaName: "s", ColumnName: "id"}
	}
	cases := []struct {
		code, message string
		scrubbed      string // "" means kept as it was
	}{
		{"23505", "duplicate key value violates unique constraint \"t_pkey\"", `unique_violation on constraint "t_pkey" ` + withheld},
		{"23514", "new row for relation \"t\" violates check constraint \"t_pkey\"", `check_violation on constraint "t_pkey" ` + withheld},
		{"22P02", "invalid input syntax for type integer: \"" + secret + "\"", `invalid_text_representation on constraint "t_pkey" ` + withheld},
		{"P0001", "rejected " + secret, `raise_exception on constraint "t_pkey" ` + withheld},
		{"22999", secret, `data_exception on constraint "t_pkey" ` + withheld},
		{"42P01", "relation \"t\" does not exist", ""},
	}
	forms := []func(error) error{
		func(err error) error { return err },
		func(err error) error { return lazyWrap{err} },
		func(err error) error { return fmt.Errorf("op: %w", err) },
		func(err error) error { return errors.Join(errors.New("other"), fmt.Errorf("op: %w", err)) },
	}
	for _, c := range cases {
		// Bare, wrapped by an error that formats itself when asked (as
		// pgconn's own do), and by fmt.Errorf, whose text is fixed when
		// it is made: scrub must then give another error, which still
		// unwraps to the first.
		for i, form := range forms {
			pgErrIn := mk(c.code, c.message)
			wrapped := form(pgErrIn)
			got := scrub(wrapped)
			if again := scrub(got); again != got {
				t.Fatalf("scrub twice gave another error: %v", again)
			}
			if i < 2 && got != wrapped {
				t.Fatalf("%s: scrub replaced an error whose text it could fix in place: %v", c.code, got)
			}
			var pgErr *pgconn.PgError
			if !errors.As(got, &pgErr) || pgErr != pgErrIn || !errors.Is(got, wrapped) {
				t.Fatalf("%s: the *pgconn.PgError (or the error) is no longer reachable from %v", c.code, got)
			}
			if text := fmt.Sprintf("%v %+v", got, *pgErr); strings.Contains(text, secret) {
				t.Errorf("%s: still holds the secret: %s", c.code, text)
			}
			want := c.scrubbed
			if want == "" {
				want = c.message
			}
			if pgErr.Message != want || pgErr.Code != c.code || pgErr.ConstraintName != "t_pkey" || pgErr.TableName != "t" ||
				pgErr.ColumnName != "id" || pgErr.Detail != withheld || pgErr.Hint != withheld || pgErr.Where != withheld {
				t.Errorf("%s: scrubbed to %+v, want message %q and the names kept", c.code, *pgErr, want)
			}
		}
	}
	if scrub(nil) != nil {
		t.Error("scrub(nil) is not nil")
	}
	plain := errors.New("no server error " + secret)
	if scrub(plain) != plain {
		t.Error("scrub changed an error without a *pgconn.PgError")
	}
}

// lazyWrap wraps an error and formats itself when asked, as
// *pgconn.ConnectError does.
type lazyWrap struct{ err error }

func (w lazyWrap) Error() string { return "lazy: " + w.err.Error() }
func (w lazyWrap) Unwrap() error { return w.err }

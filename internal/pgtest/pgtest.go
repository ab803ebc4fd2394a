// Package pgtest gives tests a real PostgreSQL server and, per test, a fresh
// empty schema on it, so that database tests run everywhere without setup
// and in parallel without seeing each other.
//
// The server is found once per test binary, on first use, in this order:
//
//  1. HOURGLASS_TEST_DSN, a connection string for an existing server (the
//     role needs CREATE on the database). If it is set but unreachable, the
//     tests fail: the developer asked for that server.
//  2. A throwaway cluster started from the PostgreSQL binaries installed on
//     the machine (package internal/pgcluster; HOURGLASS_PG_BINDIR picks the
//     directory), stopped when the binary exits.
//  3. A container from testcontainers-go's postgres module, when a Docker
//     engine answers.
//  4. Nothing: the tests that need a server are skipped with a message
//     saying how to provide one, unless HOURGLASS_REQUIRE_POSTGRES=1 (CI
//     sets it), which turns the skip into a failure so that a machine
//     without PostgreSQL cannot pass by running nothing.
//
// Use it from TestMain so that the server is stopped when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// A test then calls Pool for a pool whose search_path is its own new
// schema, dropped (with everything in it) when the test ends. A schema
// rather than a database keeps that cheap: a few milliseconds.
//
// A test that checks what the server logs (that no session ID reaches it,
// say) reads the file ServerLog names: the throwaway cluster's log, or,
// for a server named by HOURGLASS_TEST_DSN, the file named by
// HOURGLASS_TEST_SERVER_LOG; without one such a test is skipped, saying
// so.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/internal/pgcluster"
)

// Environment variables read by this package.
const (
	// EnvDSN names an existing server to use instead of starting one.
	EnvDSN = "HOURGLASS_TEST_DSN"
	// EnvRequire, set to 1, makes a missing server fail the tests that need
	// one instead of skipping them.
	EnvRequire = "HOURGLASS_REQUIRE_POSTGRES"
	// EnvServerLog names the file the server of EnvDSN writes its log to,
	// readable by the tests (see ServerLog).
	EnvServerLog = "HOURGLASS_TEST_SERVER_LOG"
)

// PasswordGroup is a role whose members must authenticate with a password
// on the throwaway cluster, where everyone else is trusted. A test that
// needs a wrong password to be rejected creates a login role IN ROLE
// PasswordGroup (EnsurePasswordGroup creates the group). Other servers
// apply their own pg_hba.conf, which may trust such a role anyway; tests
// must check and skip in that case.
const PasswordGroup = "hourglass_password_auth"

// server is the one server of this test binary.
type server struct {
	dsn    string        // admin connection string
	source string        // where it came from, for messages
	admin  *pgxpool.Pool // creates and drops schemas
	stop   func() error  // nil for a server we did not start
	// log is the file the server logs to; "" if unknown, with why in
	// noLog.
	log, noLog string
}

var (
	once     sync.Once
	srv      *server
	srvErr   error
	explicit bool // the error concerns a server the developer named
)

// Main runs the tests and then stops the server if this binary started
// one. Call it from TestMain: os.Exit(pgtest.Main(m)).
//
// m is a *testing.M, or anything that runs the tests: another server's
// Main, so that one test binary can use both servers.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	return code
}

func shutdown() error {
	if srv == nil {
		return nil
	}
	srv.admin.Close()
	if srv.stop != nil {
		return srv.stop()
	}
	return nil
}

// get returns the server, starting it on first use, or ends the test:
// a failure when the server was required or named, a skip otherwise.
func get(t testing.TB) *server {
	t.Helper()
	once.Do(func() { srv, srvErr = find() })
	if srvErr != nil {
		if explicit || os.Getenv(EnvRequire) == "1" {
			t.Fatalf("pgtest: %v", srvErr)
		}
		t.Skipf("pgtest: %v", srvErr)
	}
	return srv
}

func find() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		s, err := connect(ctx, dsn, EnvDSN, nil)
		if err != nil {
			explicit = true
			return nil, fmt.Errorf("%s is set but the server cannot be used: %w", EnvDSN, err)
		}
		s.log = os.Getenv(EnvServerLog)
		s.noLog = fmt.Sprintf("the server comes from %s and %s does not name its log file", EnvDSN, EnvServerLog)
		return s, nil
	}
	c, clusterErr := pgcluster.Start(ctx, pgcluster.Options{
		HBA: []string{"host all +" + PasswordGroup + " 127.0.0.1/32 scram-sha-256"},
	})
	if clusterErr == nil {
		s, err := connect(ctx, c.DSN("postgres"), "throwaway cluster in "+c.DataDir(), c.Stop)
		if err == nil {
			s.log = c.LogPath()
		}
		return s, err
	}
	s, dockerErr := startContainer(ctx)
	if dockerErr == nil {
		s.noLog = "the server runs in a container, whose log is not a file here"
		return s, nil
	}
	return nil, fmt.Errorf("no PostgreSQL server for the tests:\n  %s is not set;\n  local server: %v;\n  docker: %v.\n"+
		"Set %s=postgres://user:pass@host:port/db, install the PostgreSQL server binaries (e.g. apt-get install postgresql), or start Docker. "+
		"%s=1 makes this a failure instead of a skip",
		EnvDSN, clusterErr, dockerErr, EnvDSN, EnvRequire)
}

// connect checks the server answers and opens the admin pool. stop is
// called if that fails, so a server we started is not left running.
func connect(ctx context.Context, dsn, source string, stop func() error) (*server, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		err = pool.Ping(ctx)
		if err != nil {
			pool.Close()
		}
	}
	if err != nil {
		if stop != nil {
			err = errors.Join(err, stop())
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &server{dsn: dsn, source: source, admin: pool, stop: stop}, nil
}

// DSN returns the connection string of the server, for a role that may
// create schemas, databases and roles. Tests that change server-wide state
// through it must undo that at cleanup: the server is shared by every test
// in the binary (and, with HOURGLASS_TEST_DSN, by every package).
func DSN(t testing.TB) string {
	t.Helper()
	return get(t).dsn
}

// Source says where the server came from, e.g. for a test's log.
func Source(t testing.TB) string {
	t.Helper()
	return get(t).source
}

// ServerLog returns the path of the file the server writes its log to,
// for a test that reads what the server logged. It skips the test, saying
// why, when there is no such file to read: a container's server, or one
// named by EnvDSN without EnvServerLog (set it to the server's log file to
// run the test there). A file named by EnvServerLog that cannot be read
// fails the test.
func ServerLog(t testing.TB) string {
	t.Helper()
	s := get(t)
	if s.log == "" {
		t.Skipf("pgtest: no server log to read: %s", s.noLog)
	}
	if _, err := os.Stat(s.log); err != nil {
		t.Fatalf("pgtest: the server's log: %v", err)
	}
	return s.log
}

// Schema creates a new empty schema for t and drops it, with everything in
// it, when t ends. Names are unique across processes, since test binaries
// of several packages may share one server.
func Schema(t testing.TB) string {
	t.Helper()
	s := get(t)
	name := schemaName(t.Name())
	ctx := context.Background()
	quoted := pgx.Identifier{name}.Sanitize()
	if _, err := s.admin.Exec(ctx, "CREATE SCHEMA "+quoted); err != nil {
		t.Fatalf("pgtest: creating schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+quoted+" CASCADE"); err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", name, err)
		}
	})
	return name
}

// Pool returns a pool for t whose connections see only a fresh, empty
// schema (it is their search_path, so unqualified names land there). The
// pool is closed and the schema dropped when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PoolFor(t, Schema(t), nil)
}

// PoolFor returns a pool whose search_path is schema, after configure (if
// not nil) has adjusted its configuration: more connections, a time zone, a
// statement timeout. The pool is closed when t ends, before the schema of
// an earlier Schema call is dropped.
func PoolFor(t testing.TB, schema string, configure func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(get(t).dsn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// EnsurePasswordGroup creates the PasswordGroup role if it does not exist.
// Concurrent callers (tests in parallel, binaries sharing a server) may
// race on CREATE ROLE; losing that race is success.
func EnsurePasswordGroup(t testing.TB) {
	t.Helper()
	const sql = `DO $$ BEGIN
  CREATE ROLE ` + PasswordGroup + ` NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$`
	if _, err := get(t).admin.Exec(context.Background(), sql); err != nil {
		t.Fatalf("pgtest: creating role %s: %v", PasswordGroup, err)
	}
}

// schemaName derives a valid, unique, recognisable schema name (at most 63
// bytes, PostgreSQL's identifier limit) from a test name.
func schemaName(test string) string {
	var b strings.Builder
	b.WriteString("pgtest_")
	for _, r := range strings.ToLower(test) {
		if b.Len() >= 40 {
			break
		}
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(rnd[:]))
	return b.String()
}

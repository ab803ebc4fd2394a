package pgtest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hourglass-go/hourglass/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Each test's pool starts in a schema of its own, empty, so parallel tests
// can use the same table names.
func TestPoolIsFreshAndIsolated(t *testing.T) {
	for _, name := range []string{"a", "b", "c"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.Pool(t)
			var schema string
			var tables int
			err := pool.QueryRow(ctx, `SELECT current_schema()::text,
				(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema())`).Scan(&schema, &tables)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(schema, "pgtest_") || tables != 0 {
				t.Fatalf("current_schema %q with %d relations, want a fresh pgtest_ schema with none", schema, tables)
			}
			if _, err := pool.Exec(ctx, "CREATE TABLE same_name (v text)"); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(ctx, "INSERT INTO same_name VALUES ($1)", name); err != nil {
				t.Fatal(err)
			}
			var got []string
			rows, _ := pool.Query(ctx, "SELECT v FROM same_name")
			got, err = pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil || len(got) != 1 || got[0] != name {
				t.Fatalf("rows %v, %v: want only this test's own", got, err)
			}
		})
	}
}

func TestSchemaDroppedAtCleanup(t *testing.T) {
	var schema string
	t.Run("user", func(t *testing.T) {
		schema = pgtest.Schema(t)
		pool := pgtest.PoolFor(t, schema, nil)
		if _, err := pool.Exec(context.Background(), "CREATE TABLE x (v int)"); err != nil {
			t.Fatal(err)
		}
	})
	conn, err := pgx.Connect(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("schema %s still exists after its test ended", schema)
	}
	t.Logf("server: %s", pgtest.Source(t))
}

// The lookup order's last step, checked end to end: this test binary runs
// itself with no way to get a server (no DSN, no binaries, no Docker). By
// default the database test is skipped; with HOURGLASS_REQUIRE_POSTGRES=1
// it fails, so CI cannot go green by testing nothing.
func TestMissingServerSkipsUnlessRequired(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		t.Skip("already the child")
	}
	run := func(require string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPoolIsFreshAndIsolated$", "-test.v", "-test.count=1")
		cmd.Env = append(withoutEnv(pgtest.EnvDSN, pgtest.EnvRequire),
			"PGTEST_CHILD=1",
			"HOURGLASS_PG_BINDIR=/nonexistent",
			"DOCKER_HOST=unix:///nonexistent/docker.sock",
			pgtest.EnvRequire+"="+require,
		)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP") || !strings.Contains(out, "HOURGLASS_TEST_DSN") {
		t.Errorf("without a server and not required: want a skip that says how to provide one, got %v:\n%s", err, out)
	}
	out, err = run("1")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "no PostgreSQL server") {
		t.Errorf("without a server and required: want a failure, got %v:\n%s", err, out)
	}
}

func withoutEnv(names ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return env
}

// ServerLog names the file the server logs to: a warning raised in a
// session is in it when the statement returns.
func TestServerLogIsTheServersLog(t *testing.T) {
	path := pgtest.ServerLog(t)
	pool := pgtest.Pool(t)
	var b [8]byte
	_, _ = rand.Read(b[:])
	marker := "pgtest-log-marker-" + hex.EncodeToString(b[:])
	if _, err := pool.Exec(context.Background(), "DO $$ BEGIN RAISE WARNING '"+marker+"'; END $$"); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), marker) {
		t.Fatalf("%s does not hold the warning %s just raised", path, marker)
	}
}

// Without a log file to read, a test that needs one is skipped with a
// message saying how to give one: here the server comes from
// HOURGLASS_TEST_DSN (this binary's own, run again as a child) and
// HOURGLASS_TEST_SERVER_LOG is not set.
func TestServerLogSkipsWithoutAFile(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		t.Skip("already the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerLogIsTheServersLog$", "-test.v", "-test.count=1")
	cmd.Env = append(withoutEnv(pgtest.EnvDSN, pgtest.EnvServerLog), "PGTEST_CHILD=1", pgtest.EnvDSN+"="+pgtest.DSN(t))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), pgtest.EnvServerLog) {
		t.Errorf("a server from %s without %s: want a skip naming %s, got %v:\n%s", pgtest.EnvDSN, pgtest.EnvServerLog, pgtest.EnvServerLog, err, out)
	}
}

package pgcluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startOrSkip starts a cluster, skipping when the machine has no server
// unless HOURGLASS_REQUIRE_POSTGRES=1 (as in CI) makes that a failure.
func startOrSkip(t *testing.T, opts Options) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), opts)
	if errors.Is(err, ErrNoBinaries) && os.Getenv("HOURGLASS_REQUIRE_POSTGRES") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func query(ctx context.Context, dsn, sql string) (string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, sql).Scan(&s)
	return s, err
}

func execSQL(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// The whole life of a cluster, including the crash-and-restart cycle the
// simulator's fault injection will use: a commit acknowledged before Kill
// survives it (synchronous_commit on, as a crash test must set), the port
// stays the same, and Stop leaves nothing on disk.
func TestLifecycleSurvivesKill(t *testing.T) {
	ctx := context.Background()
	c := startOrSkip(t, Options{Settings: map[string]string{"synchronous_commit": "on"}})
	dsn := c.DSN("postgres")

	for _, want := range []struct{ setting, value string }{
		{"listen_addresses", "127.0.0.1"},
		{"fsync", "off"},
		{"synchronous_commit", "on"},
		{"max_connections", "200"},
		{"server_encoding", "UTF8"},
		{"lc_collate", "C"},
	} {
		got, err := query(ctx, dsn, "SELECT current_setting('"+want.setting+"')")
		if err != nil {
			t.Fatal(err)
		}
		if got != want.value {
			t.Errorf("%s = %q, want %q", want.setting, got, want.value)
		}
	}
	if err := execSQL(ctx, dsn, "CREATE TABLE kept AS SELECT 'survived'::text AS v"); err != nil {
		t.Fatal(err)
	}

	port := c.Port()
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := query(ctx, dsn, "SELECT 'up'"); err == nil {
		t.Fatal("server still answers after Kill")
	}
	if err := c.Kill(); err == nil {
		t.Error("second Kill succeeded on a server that is down")
	}
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Port() != port {
		t.Errorf("port changed across restart: %d then %d", port, c.Port())
	}
	got, err := query(ctx, dsn, "SELECT v FROM kept")
	if err != nil || got != "survived" {
		t.Fatalf("after Kill and Restart: %q, %v", got, err)
	}
	// Restart of a running server is a clean stop and start.
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := query(ctx, dsn, "SELECT v FROM kept"); err != nil || got != "survived" {
		t.Fatalf("after a clean Restart: %q, %v", got, err)
	}

	dir := filepath.Dir(c.DataDir())
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s still there after Stop (%v)", dir, err)
	}
	if err := c.Restart(ctx); err == nil {
		t.Error("Restart after Stop succeeded")
	}
	shortCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := query(shortCtx, dsn, "SELECT 'up'"); err == nil {
		t.Error("server still answers after Stop")
	}
}

// Options.HBA lines come before the trust line, so a role can be made to
// need its password while everyone else still gets in.
func TestHBAAndSettings(t *testing.T) {
	ctx := context.Background()
	c := startOrSkip(t, Options{
		HBA:      []string{"host all pwonly 127.0.0.1/32 scram-sha-256"},
		Settings: map[string]string{"application_name": "it's quoted"},
	})
	if err := execSQL(ctx, c.DSN("postgres"), "CREATE ROLE pwonly LOGIN PASSWORD 'right'"); err != nil {
		t.Fatal(err)
	}
	if got, err := query(ctx, c.DSN("postgres"), "SELECT current_setting('application_name')"); err != nil || got != "it's quoted" {
		t.Errorf("application_name = %q, %v", got, err)
	}
	base := "host=127.0.0.1 port=" + strconv.Itoa(c.Port()) + " dbname=postgres sslmode=disable user=pwonly password="
	if got, err := query(ctx, base+"right", "SELECT current_user::text"); err != nil || got != "pwonly" {
		t.Errorf("right password: %q, %v", got, err)
	}
	if _, err := query(ctx, base+"wrong", "SELECT 'in'"); err == nil || !strings.Contains(err.Error(), "28P01") {
		t.Errorf("wrong password: got %v, want SQLSTATE 28P01", err)
	}
}

func TestNoBinaries(t *testing.T) {
	empty := t.TempDir()
	if _, err := Start(context.Background(), Options{BinDir: empty}); !errors.Is(err, ErrNoBinaries) {
		t.Errorf("Start with an empty BinDir: %v, want ErrNoBinaries", err)
	}
	t.Setenv(EnvBinDir, filepath.Join(empty, "nonexistent"))
	_, err := FindBinDir()
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), EnvBinDir) {
		t.Errorf("FindBinDir with %s pointing nowhere: %v", EnvBinDir, err)
	}
	if _, err := Start(context.Background(), Options{}); !errors.Is(err, ErrNoBinaries) {
		t.Errorf("Start with %s pointing nowhere: %v", EnvBinDir, err)
	}
}

func TestRejectsMalformedConfiguration(t *testing.T) {
	for _, opts := range []Options{
		{Settings: map[string]string{"bad name": "1"}},
		{Settings: map[string]string{"work_mem": "1\nfsync = on"}},
		{HBA: []string{"host all all 0.0.0.0/0 trust\nhost all all ::/0 trust"}},
	} {
		if _, err := Start(context.Background(), opts); err == nil || errors.Is(err, ErrNoBinaries) {
			t.Errorf("Start(%+v) = %v, want a configuration error", opts, err)
		}
	}
}

func TestVersionKeySortsNumerically(t *testing.T) {
	if versionKey("/usr/lib/postgresql/15/bin") <= versionKey("/usr/lib/postgresql/9/bin") {
		t.Error("15 must sort before 9")
	}
	if versionKey("/usr/local/pgsql/bin") != -1 {
		t.Error("a path without a number has no version")
	}
}

func TestReapStaleKeepsLiveOwners(t *testing.T) {
	parent := t.TempDir()
	mk := func(owner string) string {
		dir, err := os.MkdirTemp(parent, dirPrefix+"*")
		if err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(owner+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	mine := mk(strconv.Itoa(os.Getpid()))
	dead := mk("2147483646") // above any pid_max
	young := mk("")
	reapStale(parent)
	for dir, wantKept := range map[string]bool{mine: true, dead: false, young: true} {
		_, err := os.Stat(dir)
		if kept := err == nil; kept != wantKept {
			t.Errorf("%s: kept = %v, want %v", filepath.Base(dir), kept, wantKept)
		}
	}
}

// LogPath is the server's log: a warning raised in a session lands there,
// with the settings DefaultSettings states (no statement logged).
func TestLogPathReceivesTheServerLog(t *testing.T) {
	ctx := context.Background()
	c := startOrSkip(t, Options{})
	marker := "pgcluster-log-marker-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := execSQL(ctx, c.DSN("postgres"), "DO $$ BEGIN RAISE WARNING '"+marker+"'; END $$"); err != nil {
		t.Fatal(err)
	}
	for setting, want := range map[string]string{"log_statement": "none", "log_min_error_statement": "error", "log_parameter_max_length_on_error": "0"} {
		if got, err := query(ctx, c.DSN("postgres"), "SELECT current_setting('"+setting+"')"); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", setting, got, err, want)
		}
	}
	// The server writes the line before it answers the client.
	log, err := os.ReadFile(c.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "WARNING:  "+marker) {
		t.Fatalf("%s does not hold the warning %q:\n%s", c.LogPath(), marker, log)
	}
}

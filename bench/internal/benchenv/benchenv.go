// Package benchenv gives the benchmarks and cmd/cleanup a PostgreSQL server
// and a private schema on it: either the server named by HOURGLASS_BENCH_DSN
// or a throwaway cluster started with internal/pgcluster (loopback only,
// fsync off). Everything the benchmarks create lives in the schema, which is
// dropped again by Close.
package benchenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/internal/pgcluster"
)

// EnvDSN names the environment variable holding a connection string for an
// existing server to benchmark against instead of a throwaway cluster. The
// role needs CREATE on the database (and CREATEDB with EnvICULocale).
const EnvDSN = "HOURGLASS_BENCH_DSN"

// EnvDBLocale names the environment variable that, when set, makes the
// benchmarks run in a database of their own whose default collation is the
// given locale: "icu:en-US" (ICU, nothing to install) or
// "libc:en_US.UTF-8" (the C library's, which must be installed on the
// server's machine, e.g. Debian's locales package and locale-gen), rather
// than in the throwaway cluster's "C" database. Text columns without a
// COLLATE clause, such as scs/pgxstore's token, then compare under that
// collation, as they do in a database created with a typical locale;
// pgstore's id column is COLLATE "C" whatever the database's default.
const EnvDBLocale = "HOURGLASS_BENCH_DB_LOCALE"

// Env is a server and the schema the benchmarks own on it.
type Env struct {
	DSN       string
	Schema    string // unquoted name
	Version   string // server_version
	Source    string // "throwaway cluster" or EnvDSN
	Collation string // the database's default collation, e.g. "C" or "ICU en-US"

	cluster   *pgcluster.Cluster
	serverDSN string // the server's own database, when database was created
	database  string // created by Setup, dropped by Close; "" if none
}

// Setup finds or starts the server and creates a fresh schema. settings
// override pgcluster's defaults when a throwaway cluster is started; they are
// ignored for an existing server.
func Setup(ctx context.Context, settings map[string]string) (*Env, error) {
	e := &Env{Schema: "hourglass_bench_" + randomHex(4)}
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		e.DSN, e.Source = dsn, EnvDSN
	} else {
		c, err := pgcluster.Start(ctx, pgcluster.Options{Settings: settings})
		if err != nil {
			return nil, err
		}
		e.cluster, e.DSN, e.Source = c, c.DSN("postgres"), "throwaway cluster (internal/pgcluster)"
	}
	if err := e.init(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Env) init(ctx context.Context) error {
	if loc := os.Getenv(EnvDBLocale); loc != "" {
		if err := e.createDatabase(ctx, loc); err != nil {
			return err
		}
	}
	conn, err := pgx.Connect(ctx, e.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&e.Version); err != nil {
		return err
	}
	var provider, collate string
	if err := conn.QueryRow(ctx, `SELECT datlocprovider::text, coalesce(daticulocale, datcollate)
		FROM pg_database WHERE datname = current_database()`).Scan(&provider, &collate); err != nil {
		return err
	}
	e.Collation = collate
	if provider == "i" {
		e.Collation = "ICU " + collate
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{e.Schema}.Sanitize())
	return err
}

// createDatabase creates a database whose default collation is loc
// ("icu:LOCALE" or "libc:LOCALE"), and points e.DSN at it.
func (e *Env) createDatabase(ctx context.Context, loc string) error {
	provider, locale, ok := strings.Cut(loc, ":")
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	var clause string
	switch {
	case ok && provider == "icu" && locale != "":
		clause = "LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE " + quote(locale)
	case ok && provider == "libc" && locale != "":
		clause = "LOCALE " + quote(locale) + " LOCALE_PROVIDER libc"
	default:
		return fmt.Errorf("%s=%q: want icu:LOCALE or libc:LOCALE", EnvDBLocale, loc)
	}
	conn, err := pgx.Connect(ctx, e.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	name := e.Schema // unique enough
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
		" TEMPLATE template0 ENCODING 'UTF8' "+clause); err != nil {
		return fmt.Errorf("creating a database with locale %s (%s): %w", loc, EnvDBLocale, err)
	}
	e.serverDSN, e.database = e.DSN, name
	e.DSN = replaceDatabase(e.DSN, name)
	return nil
}

// Close drops the schema and stops the throwaway cluster, if any.
func (e *Env) Close() {
	if e.cluster != nil {
		_ = e.cluster.Stop() // the schema and database go with the cluster
		return
	}
	ctx := context.Background()
	if e.database != "" {
		if conn, err := pgx.Connect(ctx, e.serverDSN); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{e.database}.Sanitize()+" WITH (FORCE)")
			_ = conn.Close(ctx)
		}
		return
	}
	if conn, err := pgx.Connect(ctx, e.DSN); err == nil {
		_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{e.Schema}.Sanitize()+" CASCADE")
		_ = conn.Close(ctx)
	}
}

// Pool returns a pool whose connections have the schema as search_path, so
// that unqualified names (scs/pgxstore's "sessions" table, pgstore's default
// table) resolve to it. Statements run in pgx's default QueryExecMode
// (prepared once per connection, then cached). All maxConns connections are
// opened before Pool returns, so that no benchmark pays for connecting.
// configure, if given, adjusts the configuration last.
func (e *Env) Pool(ctx context.Context, maxConns int, configure ...func(*pgxpool.Config)) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(e.DSN)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.RuntimeParams["search_path"] = e.Schema
	for _, f := range configure {
		f(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := Warm(ctx, pool, maxConns); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Warm holds n connections of pool at once, so that all of them exist.
func Warm(ctx context.Context, pool *pgxpool.Pool, n int) error {
	conns := make([]*pgxpool.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns[i], errs[i] = pool.Acquire(ctx)
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Release()
		}
	}
	return errors.Join(errs...)
}

// Table quotes a table name in the benchmark schema.
func (e *Env) Table(name string) string { return pgx.Identifier{e.Schema, name}.Sanitize() }

// Describe is a one-line account of the server, for reports.
func (e *Env) Describe() string {
	return fmt.Sprintf("PostgreSQL %s, %s, database collation %s", e.Version, e.Source, e.Collation)
}

// replaceDatabase points a connection string (URL or key=value form) at
// another database.
func replaceDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

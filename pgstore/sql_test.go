package pgstore

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hourglass-go/hourglass/internal/pgtest"
)

func TestNewRejectsBadNames(t *testing.T) {
	pool, _ := unreachablePool(t) // New must not need a server
	cases := []Options{
		{Table: strings.Repeat("t", 64)},
		{Table: "a\x00b"},
		{Table: "\xff"},
		{Schema: strings.Repeat("s", 64)},
		{Schema: "a\x00"},
	}
	for _, opts := range cases {
		_, err := New(pool, opts)
		var nameErr *NameError
		if !errors.Is(err, ErrInvalidName) || !errors.As(err, &nameErr) {
			t.Errorf("New(%q, %q): %v, want a *NameError", opts.Schema, opts.Table, err)
		}
		if _, err := MigrationSQL(opts.Schema, opts.Table); !errors.Is(err, ErrInvalidName) {
			t.Errorf("MigrationSQL(%q, %q): %v", opts.Schema, opts.Table, err)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil pool) succeeded")
	}
	s, err := New(pool, Options{Table: strings.Repeat("t", 63)})
	if err != nil {
		t.Fatalf("a 63-byte name is valid: %v", err)
	}
	if s.Table() != `"`+strings.Repeat("t", 63)+`"` {
		t.Errorf("Table() = %s", s.Table())
	}
	if s, _ := New(pool, Options{}); s.Table() != `"hourglass_sessions"` {
		t.Errorf("default Table() = %s", s.Table())
	}
}

// Names are quoted, never pasted: a name full of SQL creates a table of that
// exact name and nothing else.
func TestHostileNamesAreQuoted(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	ctx := t.Context()
	schema := randomName(`Odd "schema"; DROP `)
	quoted := pgx.Identifier{schema}.Sanitize()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+quoted); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP SCHEMA "+quoted+" CASCADE") })
	table := `x"; DROP TABLE y; --`
	s := newStoreOn(t, pool, Options{Schema: schema, Table: table, Clock: fixedClock(t0)})
	if err := s.Create(ctx, "a", []byte("s"), time.Minute); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = $2", schema, table).Scan(&n); err != nil || n != 1 {
		t.Fatalf("table %q.%q: count %d, %v", schema, table, n, err)
	}
}

// Long table names get distinct index names within PostgreSQL's limit,
// rather than two tables' indexes being truncated to one name.
func TestLongTableNamesGetDistinctIndexes(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	a, b := strings.Repeat("l", 62)+"a", strings.Repeat("l", 62)+"b"
	if indexName(a, expiresIndexSuffix) == indexName(b, expiresIndexSuffix) || len(indexName(a, expiresIndexSuffix)) > maxIdentLen {
		t.Fatalf("index names %q and %q", indexName(a, expiresIndexSuffix), indexName(b, expiresIndexSuffix))
	}
	multi := strings.Repeat("é", 31) + "x" // 63 bytes, cut inside a rune
	if n := indexName(multi, expiresIndexSuffix); len(n) > maxIdentLen || !strings.HasSuffix(n, "_expires_id_idx") {
		t.Fatalf("index name %q", n)
	}
	if indexName(a, ownerIndexSuffix) == indexName(b, ownerIndexSuffix) || len(indexName(a, ownerIndexSuffix)) > maxIdentLen {
		t.Fatalf("owner index names %q and %q", indexName(a, ownerIndexSuffix), indexName(b, ownerIndexSuffix))
	}
	for _, table := range []string{a, b, multi} {
		newStoreOn(t, pool, Options{Table: table})
	}
	for _, suffix := range []string{expiresIndexSuffix, ownerIndexSuffix} {
		var n int
		if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE '%' || $1", suffix).Scan(&n); err != nil || n != 3 {
			t.Fatalf("%d indexes named *%s, %v; want 3", n, suffix, err)
		}
	}
}

// MigrationSQL is what Migrate runs, usable by a migration tool: run twice
// by hand, it leaves a table Ping accepts, in the schema asked for.
func TestMigrationSQL(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	ctx := t.Context()
	home := pgtest.Schema(t) // not the pool's: the SQL must name it
	sql, err := MigrationSQL(home, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`CREATE TABLE IF NOT EXISTS "` + home + `"."hourglass_sessions"`,
		`id      text COLLATE "C" PRIMARY KEY`,
		`CREATE INDEX IF NOT EXISTS "hourglass_sessions_expires_id_idx"`,
		`(expires, id)`,
		`owner   text COLLATE "C"`,
		`version bigint NOT NULL DEFAULT 1`,
		`ALTER TABLE "` + home + `"."hourglass_sessions"
	ADD COLUMN IF NOT EXISTS owner text COLLATE "C",
	ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1;`,
		`CREATE INDEX IF NOT EXISTS "hourglass_sessions_owner_idx" ON "` + home + `"."hourglass_sessions" (owner, expires, id) WHERE owner IS NOT NULL;`,
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("MigrationSQL lacks %q:\n%s", want, sql)
		}
	}
	for range 2 {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(pool, Options{Schema: home})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	unqualified, _ := MigrationSQL("", "")
	if strings.Contains(unqualified, home) || !strings.Contains(unqualified, `EXISTS "hourglass_sessions" (`) {
		t.Errorf("MigrationSQL without a schema:\n%s", unqualified)
	}
}

// Several processes starting at once all migrate the same table.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			s, err := New(pool, Options{Table: "raced"})
			if err == nil {
				err = s.Migrate(t.Context())
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// The server's clock must never be consulted (SEMANTICS.md); the pre-stop
// hook greps the sources, this checks the statements as built.
func TestNoServerClock(t *testing.T) {
	st, err := buildStatements("s", "t")
	if err != nil {
		t.Fatal(err)
	}
	server := regexp.MustCompile(`(?i)\b(now\s*\(|current_timestamp|current_time|current_date|clock_timestamp|statement_timestamp|transaction_timestamp|localtimestamp|localtime|timeofday)\b`)
	// A column default is evaluated by the server: only a constant one
	// (the version's 1) cannot read its clock.
	defaults := regexp.MustCompile(`(?i)\bdefault\b\s*([^\s,;)]*)`)
	constant := regexp.MustCompile(`^[0-9]+$`)
	sqls := []string{st.migrate, st.shape}
	for _, op := range st.operations() {
		sqls = append(sqls, op.sql)
	}
	for _, sql := range sqls {
		if m := server.FindString(sql); m != "" {
			t.Errorf("statement uses %q:\n%s", m, sql)
		}
		for _, m := range defaults.FindAllStringSubmatch(sql, -1) {
			if !constant.MatchString(m[1]) {
				t.Errorf("statement has a default that is not a constant, %q:\n%s", m[0], sql)
			}
		}
	}
	if n := len(defaults.FindAllString(st.migrate, -1)); n != 2 {
		t.Errorf("%d defaults in the migration, want the version's two", n)
	}
}

// DeleteExpired reads the (expires, id) index in order and finds the rows
// to delete by primary key: no sequential scan and no sort, however large
// the table.
func TestDeleteExpiredPlanUsesIndexes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.pool.Exec(f.ctx, "INSERT INTO "+f.s.Table()+
		" SELECT 'id' || g, '', $1::timestamptz + g * interval '1 second' FROM generate_series(1, 20000) g", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, "ANALYZE "+f.s.Table()); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []any{int64(100), nil} {
		rows, err := f.pool.Query(f.ctx, "EXPLAIN "+f.s.sql.deleteExpired.sql, t0.Add(time.Hour), limit)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "using "+f.table+"_expires_id_idx") || !strings.Contains(plan, f.table+"_pkey") ||
			strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Sort") {
			t.Errorf("limit %v: plan does not walk the indexes:\n%s", limit, plan)
		}
	}
	f.clk.Set(t0.Add(time.Hour))
	n, err := f.s.DeleteExpired(f.ctx, 100)
	if err != nil || n != 100 {
		t.Fatalf("DeleteExpired(100) = %d, %v", n, err)
	}
}

// Scan is a range scan of the primary key in its order: no sequential
// scan and no sort, however large the table, from the start or from an ID.
func TestScanPlanUsesThePrimaryKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.pool.Exec(f.ctx, "INSERT INTO "+f.s.Table()+
		" SELECT 'id' || g, '', $1::timestamptz + g * interval '1 second' FROM generate_series(1, 20000) g", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, "ANALYZE "+f.s.Table()); err != nil {
		t.Fatal(err)
	}
	for _, after := range []string{"", "id5"} {
		rows, err := f.pool.Query(f.ctx, "EXPLAIN "+f.s.sql.scan.sql, after, t0.Add(time.Hour), int64(100))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "using "+f.table+"_pkey") || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Sort") {
			t.Errorf("after %q: the plan does not walk the primary key:\n%s", after, plan)
		}
	}
	ids, err := f.s.Scan(f.ctx, "id5", 3)
	if err != nil || join(ids) != "[id50 id500 id5000]" {
		t.Fatalf("Scan(id5, 3) = %v, %v", ids, err)
	}
}

// fixedClock is a clock.Clock that always reads t.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

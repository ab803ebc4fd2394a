package pgstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hourglass-go/hourglass/clock"
)

// previousDDL is MigrationSQL as the version before owners wrote it, for
// the table "old_sessions".
const previousDDL = `CREATE TABLE IF NOT EXISTS "old_sessions" (
	id      text COLLATE "C" PRIMARY KEY,
	state   bytea NOT NULL,
	expires timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS "old_sessions_expires_id_idx" ON "old_sessions" (expires, id);
`

// catalogOf describes a table as the catalog has it: its columns (name,
// type, collation, nullability, default) and the definitions of its
// indexes, so that a test can tell whether anything changed.
func catalogOf(t *testing.T, f *fixture, table string) []string {
	t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT 'column ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
		|| coalesce(' collate ' || co.collname, '') || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
		|| coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
	FROM pg_attribute a
	LEFT JOIN pg_collation co ON co.oid = a.attcollation
	LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1
	ORDER BY 1`, table)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A table made by the previous version, holding sessions, is upgraded in
// place: its rows stay, loadable, without owner, and the store works on
// it. Migrate is idempotent, and the upgraded table is the one Migrate
// makes from scratch.
func TestMigrateUpgradesThePreviousTable(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // a current table, to compare with
	if _, err := f.pool.Exec(f.ctx, previousDDL); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, `INSERT INTO old_sessions VALUES
		('live', 'L', $1), ('expired', 'E', $2), ('empty', '', $1)`, t0.Add(time.Hour), t0.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	old, err := New(f.pool, Options{Table: "old_sessions", Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	// Before the upgrade, Ping says what is missing and how to fix it.
	if err := old.Ping(f.ctx); !errors.Is(err, ErrTableShape) || !strings.Contains(err.Error(), "no column owner (want text; Migrate adds it)") {
		t.Fatalf("Ping on the previous version's table: %v", err)
	}
	for range 2 {
		if err := old.Migrate(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Ping(f.ctx); err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID, State string
		Expires   time.Time
		Owner     *string
	}
	r, err := f.pool.Query(f.ctx, `SELECT id, encode(state, 'escape'), expires, owner FROM old_sessions ORDER BY id COLLATE "C"`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pgx.CollectRows(r, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	want := []row{{"empty", "", t0.Add(time.Hour), nil}, {"expired", "E", t0.Add(-time.Second), nil}, {"live", "L", t0.Add(time.Hour), nil}}
	if !slices.EqualFunc(rows, want, func(a, b row) bool {
		return a.ID == b.ID && a.State == b.State && a.Expires.Equal(b.Expires) && a.Owner == nil
	}) {
		t.Fatalf("rows after the upgrade:\n%v\nwant\n%v", rows, want)
	}
	rec, err := old.Load(f.ctx, "live")
	if err != nil || string(rec.State) != "L" || !rec.Expires.Equal(t0.Add(time.Hour)) || rec.Owner != "" {
		t.Fatalf("Load after the upgrade: %+v, %v", rec, err)
	}
	if err := old.CreateOwned(f.ctx, "mine", "alice", nil, time.Hour, 2); err != nil {
		t.Fatal(err)
	}
	if err := old.Cycle(f.ctx, "live", "mine2", "alice", nil, time.Hour, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := old.List(f.ctx, "alice"); err != nil || len(got) != 2 {
		t.Fatalf("List after the upgrade: %v, %v", got, err)
	}

	// The same columns and indexes as a table Migrate creates.
	upgraded := catalogOf(t, f, "old_sessions")
	fresh := catalogOf(t, f, f.table)
	for i := range fresh {
		fresh[i] = strings.ReplaceAll(fresh[i], f.table, "old_sessions")
	}
	if !slices.Equal(upgraded, fresh) {
		t.Fatalf("the upgraded table:\n%s\na new one:\n%s", strings.Join(upgraded, "\n"), strings.Join(fresh, "\n"))
	}
}

// A table that is neither the current shape nor the previous version's is
// refused with ErrTableShape before anything is altered: same columns,
// same indexes, same rows.
func TestMigrateRefusesAWrongTableChangingNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		ddl  string
		want string
	}{
		// The previous version's columns, but IDs that do not sort as bytes.
		{`(id text PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL);
			CREATE INDEX ON %s (expires, id)`, `column id has collation "default", want "C"`},
		// The previous version's columns, with the wrong type for state.
		{`(id text COLLATE "C" PRIMARY KEY, state text NOT NULL, expires timestamptz NOT NULL)`, "column state is text, want bytea"},
		// An owner column of the wrong type: not re-added, not changed.
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, owner integer)`, "column owner is integer, want text"},
		// An extra NOT NULL column.
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, tenant text NOT NULL)`,
			"extra column tenant is NOT NULL without a default"},
	}
	for i, c := range cases {
		table := "wrong_" + string(rune('a'+i))
		ddl := "CREATE TABLE " + table + " " + strings.ReplaceAll(c.ddl, "%s", table)
		if _, err := f.pool.Exec(f.ctx, ddl); err != nil {
			t.Fatal(err)
		}
		if _, err := f.pool.Exec(f.ctx, "INSERT INTO "+table+" (id, state, expires"+extraColumn(c.ddl)+") VALUES ('x', 'X', $1"+extraValue(c.ddl)+")", t0); err != nil {
			t.Fatal(err)
		}
		before := catalogOf(t, f, table)
		s, err := New(f.pool, Options{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Migrate(f.ctx)
		if !errors.Is(err, ErrTableShape) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Migrate on %s: %v, want ErrTableShape saying %q", ddl, err, c.want)
		}
		if after := catalogOf(t, f, table); !slices.Equal(before, after) {
			t.Errorf("Migrate changed %s:\nbefore %v\nafter  %v", table, before, after)
		}
		var n int
		if err := f.pool.QueryRow(f.ctx, "SELECT count(*) FROM "+table+" WHERE id = 'x'").Scan(&n); err != nil || n != 1 {
			t.Errorf("%s lost its row: %d, %v", table, n, err)
		}
	}
}

func extraColumn(ddl string) string {
	if strings.Contains(ddl, "tenant") {
		return ", tenant"
	}
	return ""
}

func extraValue(ddl string) string {
	if strings.Contains(ddl, "tenant") {
		return ", 't'"
	}
	return ""
}

// Migrate on a table that is up to date takes no lock on it: an
// application calling it at every start does not queue behind, or hold
// up, the store's traffic. (ALTER TABLE takes ACCESS EXCLUSIVE even when
// the column exists, and CREATE INDEX takes SHARE even when the index
// does.)
func TestMigrateOnACurrentTableTakesNoLock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "A", time.Hour)
	tx, err := f.pool.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	// A transaction in the middle of writing: ROW EXCLUSIVE, held.
	if _, err := tx.Exec(f.ctx, "UPDATE "+f.s.Table()+" SET state = 'B' WHERE id = 'a'"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := f.s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate beside a writing transaction: %v", err)
	}
}

// MigrationSQL run by hand upgrades the previous version's table too.
func TestMigrationSQLUpgrades(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.pool.Exec(f.ctx, previousDDL); err != nil {
		t.Fatal(err)
	}
	sql, err := MigrationSQL("", "old_sessions")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.pool.Exec(f.ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(f.pool, Options{Table: "old_sessions", Clock: clock.NewSim(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOwned(f.ctx, "a", "alice", nil, time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Load(f.ctx, "a"); err != nil || rec.Owner != "alice" {
		t.Fatalf("Load: %+v, %v", rec, err)
	}
}

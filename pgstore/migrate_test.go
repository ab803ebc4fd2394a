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
	"github.com/hourglass-go/hourglass/store"
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

// ownersDDL is MigrationSQL as the version before versions wrote it (with
// owners), for the table "owners_sessions".
const ownersDDL = `CREATE TABLE IF NOT EXISTS "owners_sessions" (
	id      text COLLATE "C" PRIMARY KEY,
	state   bytea NOT NULL,
	expires timestamptz NOT NULL,
	owner   text COLLATE "C"
);
ALTER TABLE "owners_sessions" ADD COLUMN IF NOT EXISTS owner text COLLATE "C";
CREATE INDEX IF NOT EXISTS "owners_sessions_expires_id_idx" ON "owners_sessions" (expires, id);
CREATE INDEX IF NOT EXISTS "owners_sessions_owner_idx" ON "owners_sessions" (owner, expires, id) WHERE owner IS NOT NULL;
`

// sameAsFresh checks that table has the columns and indexes of the table
// Migrate creates from scratch (f's).
func sameAsFresh(t *testing.T, f *fixture, table string) {
	t.Helper()
	upgraded := catalogOf(t, f, table)
	fresh := catalogOf(t, f, f.table)
	for i := range fresh {
		fresh[i] = strings.ReplaceAll(fresh[i], f.table, table)
	}
	if !slices.Equal(upgraded, fresh) {
		t.Fatalf("the upgraded table:\n%s\na new one:\n%s", strings.Join(upgraded, "\n"), strings.Join(fresh, "\n"))
	}
}

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
	rows := upgradedRows(t, f, "old_sessions")
	want := []upgradedRow{{"empty", "", t0.Add(time.Hour), nil, 1}, {"expired", "E", t0.Add(-time.Second), nil, 1}, {"live", "L", t0.Add(time.Hour), nil, 1}}
	if !slices.EqualFunc(rows, want, upgradedRow.equal) {
		t.Fatalf("rows after the upgrade:\n%v\nwant\n%v", rows, want)
	}
	rec, err := old.Load(f.ctx, "live")
	if err != nil || string(rec.State) != "L" || !rec.Expires.Equal(t0.Add(time.Hour)) || rec.Owner != "" || rec.Version != 1 {
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
	sameAsFresh(t, f, "old_sessions")
}

// upgradedRow is a row of an upgraded table, as its columns have it.
type upgradedRow struct {
	ID, State string
	Expires   time.Time
	Owner     *string
	Version   int64
}

func (a upgradedRow) equal(b upgradedRow) bool {
	return a.ID == b.ID && a.State == b.State && a.Expires.Equal(b.Expires) &&
		(a.Owner == nil) == (b.Owner == nil) && (a.Owner == nil || *a.Owner == *b.Owner) && a.Version == b.Version
}

func upgradedRows(t *testing.T, f *fixture, table string) []upgradedRow {
	t.Helper()
	r, err := f.pool.Query(f.ctx, `SELECT id, encode(state, 'escape'), expires, owner, version FROM `+table+` ORDER BY id COLLATE "C"`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pgx.CollectRows(r, pgx.RowToStructByPos[upgradedRow])
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// A table made by the version before versions (it has owners), holding
// sessions, is upgraded in place under the migration lock: every row is
// kept, at version 1, owners and all, and the store works on it, versions
// included. Migrate is idempotent, and the upgraded table is the one
// Migrate makes from scratch.
func TestMigrateUpgradesTheOwnersTable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.pool.Exec(f.ctx, ownersDDL); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, `INSERT INTO owners_sessions VALUES
		('live', 'L', $1, NULL), ('mine', 'M', $1, 'alice'), ('expired', 'E', $2, 'alice')`, t0.Add(time.Hour), t0.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	old, err := New(f.pool, Options{Table: "owners_sessions", Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Ping(f.ctx); !errors.Is(err, ErrTableShape) || !strings.Contains(err.Error(), "no column version (want bigint; Migrate adds it)") ||
		strings.Contains(err.Error(), "column owner") {
		t.Fatalf("Ping on the owners version's table: %v", err)
	}
	// Before the upgrade, the store refuses the table without running a
	// statement on it.
	if _, err := old.Load(f.ctx, "live"); !errors.Is(err, ErrTableShape) || store.IsAmbiguous(err) {
		t.Fatalf("Load before the upgrade: %v, want a definite ErrTableShape", err)
	}
	for range 2 {
		if err := old.Migrate(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Ping(f.ctx); err != nil {
		t.Fatal(err)
	}
	alice := "alice"
	want := []upgradedRow{{"expired", "E", t0.Add(-time.Second), &alice, 1}, {"live", "L", t0.Add(time.Hour), nil, 1}, {"mine", "M", t0.Add(time.Hour), &alice, 1}}
	if rows := upgradedRows(t, f, "owners_sessions"); !slices.EqualFunc(rows, want, upgradedRow.equal) {
		t.Fatalf("rows after the upgrade:\n%v\nwant\n%v", rows, want)
	}
	rec, err := old.Load(f.ctx, "mine")
	if err != nil || string(rec.State) != "M" || rec.Owner != "alice" || rec.Version != 1 {
		t.Fatalf("Load after the upgrade: %+v, %v", rec, err)
	}
	if v, err := old.UpdateIf(f.ctx, "mine", 1, []byte("M2"), store.KeepTTL); err != nil || v != 2 {
		t.Fatalf("UpdateIf after the upgrade: %d, %v", v, err)
	}
	if _, err := old.UpdateIf(f.ctx, "live", 2, nil, time.Hour); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UpdateIf at the wrong version after the upgrade: %v", err)
	}
	if v, err := old.ChangeIDIf(f.ctx, "live", "expired", 1, nil); err != nil || v != 2 {
		t.Fatalf("ChangeIDIf onto the expired row after the upgrade: %d, %v", v, err)
	}
	if ids, err := old.Scan(f.ctx, "", 10); err != nil || join(ids) != "[expired mine]" {
		t.Fatalf("Scan after the upgrade: %v, %v", ids, err)
	}
	sameAsFresh(t, f, "owners_sessions")
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
		// The owners version's columns, with a version column of the
		// wrong type, or nullable.
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, owner text COLLATE "C", version integer NOT NULL DEFAULT 1)`,
			"column version is integer, want bigint"},
		{`(id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL, expires timestamptz NOT NULL, owner text COLLATE "C", version bigint)`,
			"column version is nullable, want NOT NULL"},
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

// MigrationSQL run by hand upgrades the earlier versions' tables too.
func TestMigrationSQLUpgrades(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for table, ddl := range map[string]string{"old_sessions": previousDDL, "owners_sessions": ownersDDL} {
		if _, err := f.pool.Exec(f.ctx, ddl); err != nil {
			t.Fatal(err)
		}
		if _, err := f.pool.Exec(f.ctx, "INSERT INTO "+table+" (id, state, expires) VALUES ('old', '', $1)", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		sql, err := MigrationSQL("", table)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := f.pool.Exec(f.ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
		s, err := New(f.pool, Options{Table: table, Clock: clock.NewSim(t0)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(f.ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateOwned(f.ctx, "a", "alice", nil, time.Hour, 1); err != nil {
			t.Fatal(err)
		}
		if rec, err := s.Load(f.ctx, "a"); err != nil || rec.Owner != "alice" || rec.Version != store.FirstVersion("a", "alice", nil, t0.Add(time.Hour)) {
			t.Fatalf("%s: Load: %+v, %v", table, rec, err)
		}
		if rec, err := s.Load(f.ctx, "old"); err != nil || rec.Version != 1 {
			t.Fatalf("%s: Load of a row from before: %+v, %v", table, rec, err)
		}
		sameAsFresh(t, f, table)
	}
}

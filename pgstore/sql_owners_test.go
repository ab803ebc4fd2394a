package pgstore

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hourglass-go/hourglass/store"
)

// Revoke computes handles in SQL: they must be store.HandleOf's, byte for
// byte, for IDs of every length and character.
func TestHandleSQLMatchesHandleOf(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	ids := []store.ID{"a", "A", "0", "-", "_", "abc", "Zz-_09", store.ID(strings.Repeat("x", store.MaxIDLen)), store.NewID(), store.NewID()}
	for _, id := range ids {
		var got string
		if err := pool.QueryRow(t.Context(), `SELECT `+handleSQL+` FROM (SELECT $1::text COLLATE "C" AS id) x`, string(id)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := store.HandleOf(id); got != string(want) {
			t.Errorf("handle of %q: SQL %s, HandleOf %s", id, got, want)
		}
	}
}

// xminOf returns the transaction that wrote id's row version, and where
// the version is.
func (f *fixture) xminOf(id store.ID) string {
	f.t.Helper()
	var v string
	if err := f.pool.QueryRow(f.ctx, "SELECT xmin::text || ' ' || ctid::text FROM "+f.s.Table()+" WHERE id = $1", string(id)).Scan(&v); err != nil {
		f.t.Fatal(err)
	}
	return v
}

// A Touch within the resolution writes nothing: the row version (xmin and
// ctid) and the record's version stay the ones Create wrote. One beyond it
// writes a new row version, at the next version.
func TestTouchWithinResolutionWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "A", time.Hour)
	before := f.xminOf("a")
	first := store.FirstVersion("a", "", []byte("A"), t0.Add(time.Hour))
	for range 3 {
		f.clk.Add(10 * time.Second)
		rec, err := f.s.Touch(f.ctx, "a", time.Hour, time.Minute)
		if err != nil || !rec.Expires.Equal(t0.Add(time.Hour)) || string(rec.State) != "A" || rec.Version != first {
			t.Fatalf("Touch within the resolution: %+v, %v; want version %d, as created", rec, err, first)
		}
		if after := f.xminOf("a"); after != before {
			t.Fatalf("Touch within the resolution wrote a row version: %s, then %s", before, after)
		}
	}
	// A never-meetable resolution, answered by a plain read.
	if _, err := f.s.Touch(f.ctx, "a", time.Minute, time.Minute); err != nil {
		t.Fatal(err)
	}
	if after := f.xminOf("a"); after != before {
		t.Fatalf("Touch with resolution = TTL wrote a row version: %s, then %s", before, after)
	}
	f.clk.Add(30 * time.Second) // a minute since Create
	rec, err := f.s.Touch(f.ctx, "a", time.Hour, time.Minute)
	if err != nil || !rec.Expires.Equal(t0.Add(time.Minute+time.Hour)) || rec.Version != first+1 {
		t.Fatalf("Touch by the resolution: %+v, %v; want version %d", rec, err, first+1)
	}
	if after := f.xminOf("a"); after == before {
		t.Fatalf("Touch by the resolution wrote nothing (%s)", after)
	}
	f.wantRecord("a", "A", t0.Add(time.Minute+time.Hour))
}

// The owner operations walk the owner index: their cost is the owner's
// rows, not the table's.
func TestOwnerStatementsUseTheOwnerIndex(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// 20,000 sessions of 2,000 owners, and as many without one.
	if _, err := f.pool.Exec(f.ctx, "INSERT INTO "+f.s.Table()+" (id, state, expires, owner)"+
		" SELECT 'id' || g, '', $1::timestamptz + g * interval '1 second', CASE WHEN g % 2 = 0 THEN 'owner' || (g % 2000) END"+
		" FROM generate_series(1, 40000) g", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, "ANALYZE "+f.s.Table()); err != nil {
		t.Fatal(err)
	}
	index := indexName(f.table, ownerIndexSuffix)
	plans := []struct {
		name string
		st   *statement
		args []any
	}{
		{"list", &f.s.sql.list, []any{"owner2", t0}},
		{"revoke", &f.s.sql.revoke, []any{"owner2", string(store.HandleOf("id2"))}},
		{"revoke all", &f.s.sql.revokeAll, []any{"owner2", []string{"id2"}, t0}},
		{"prelock", &f.s.sql.prelock, []any{"owner2", "id1", nil}},
		{"create capped", &f.s.sql.createCapped, []any{"new", []byte{}, t0.Add(time.Hour), "owner2", t0, int64(7), int64(3)}},
		{"cycle capped", &f.s.sql.cycleCapped, []any{"id2", "new", []byte{}, t0.Add(time.Hour), "owner2", t0, int64(3)}},
	}
	for _, p := range plans {
		rows, err := f.pool.Query(f.ctx, "EXPLAIN "+p.st.sql, p.args...)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, index) || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the plan does not walk %s:\n%s", p.name, index, plan)
		}
	}
	// And the answers, on this table.
	f.clk.Set(t0)
	got, err := f.s.List(f.ctx, "owner2")
	if err != nil || len(got) != 20 {
		t.Fatalf("List = %d sessions, %v; want 20", len(got), err)
	}
	if n, err := f.s.RevokeAll(f.ctx, "owner2", "id2"); err != nil || n != 19 {
		t.Fatalf("RevokeAll = %d, %v; want 19", n, err)
	}
	if err := f.s.Revoke(f.ctx, "owner2", store.HandleOf("id2")); err != nil {
		t.Fatal(err)
	}
	if n := f.rows(); n != 40000-20 {
		t.Fatalf("%d rows left, want %d", n, 40000-20)
	}
}

package pgstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/store"
)

// localeDatabase creates a database whose default collation is a natural
// language one (ICU en-US, or libc en_US), where text sorts as a person would
// sort it and not as bytes, and returns a pool on it. It reports false if the
// server can make neither.
func localeDatabase(t *testing.T) (*pgxpool.Pool, string, bool) {
	t.Helper()
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := randomName("pgstore_locale_")
	var made string
	for _, attempt := range []struct{ how, sql string }{
		{"ICU en-US", "CREATE DATABASE " + name + " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"},
		{"libc en_US.UTF-8", "CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8' LOCALE 'en_US.UTF-8'"},
		{"libc en_US.utf8", "CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8' LOCALE 'en_US.utf8'"},
	} {
		if _, err := admin.Exec(ctx, attempt.sql); err != nil {
			t.Logf("cannot create a database with %s collation: %v", attempt.how, err)
			continue
		}
		made = attempt.how
		break
	}
	if made == "" {
		return nil, "", false
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), pgtest.DSN(t))
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	cfg, err := pgxpool.ParseConfig(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, made, true
}

// IDs sort as bytes even where the database sorts text by language rules:
// the column is COLLATE "C" and DeleteExpired's ORDER BY says so too.
func TestDeleteExpiredTiesInByteOrderUnderLocaleCollation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids := []string{"B", "a", "_", "-", "Z", "b", "A0", "a_", "a-"}
	byteOrder := slices.Clone(ids)
	slices.Sort(byteOrder) // Go compares strings as bytes

	pool, how, ok := localeDatabase(t)
	if !ok {
		// Still show what protects us everywhere: the column's collation.
		pool = testPool(t)
		how = "the server's default"
		t.Log("no natural-language database could be made; checking COLLATE \"C\" on the default one only")
	}

	// The database really does sort differently, or this test proves little.
	var natural []string
	if err := pool.QueryRow(ctx, "SELECT array_agg(x ORDER BY x) FROM unnest($1::text[]) x", ids).Scan(&natural); err != nil {
		t.Fatal(err)
	}
	if ok && slices.Equal(natural, byteOrder) {
		t.Fatalf("the %s database sorts %v in byte order; the test needs one that does not", how, ids)
	}
	t.Logf("%s collation sorts %v; byte order is %v", how, natural, byteOrder)

	clk := clock.NewSim(t0)
	s := newStoreOn(t, pool, Options{Clock: clk})
	var coll string
	if err := pool.QueryRow(ctx, `SELECT collation_name FROM information_schema.columns
		WHERE table_name = $1 AND column_name = 'id'`, strings.Trim(s.Table(), `"`)).Scan(&coll); err != nil || coll != "C" {
		t.Fatalf("id column collation %q, %v; want C", coll, err)
	}
	for _, id := range ids {
		if err := s.Create(ctx, store.ID(id), nil, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Minute) // all expire at the same instant: a full tie
	for i := range byteOrder {
		if n, err := s.DeleteExpired(ctx, 1); n != 1 || err != nil {
			t.Fatalf("DeleteExpired(1) = %d, %v", n, err)
		}
		var left []string
		if err := pool.QueryRow(ctx, "SELECT coalesce(array_agg(id), '{}') FROM "+s.Table()).Scan(&left); err != nil {
			t.Fatal(err)
		}
		slices.Sort(left)
		if !slices.Equal(left, byteOrder[i+1:]) {
			t.Fatalf("after %d removals %v are left, want %v (byte order %v)", i+1, left, byteOrder[i+1:], byteOrder)
		}
	}
}

// Scan pages through IDs in byte order even where the database sorts text
// by language rules: the comparison and the order are the id column's,
// "C".
func TestScanInByteOrderUnderLocaleCollation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids := []string{"B", "a", "_", "-", "Z", "b", "A0", "a_", "a-"}
	byteOrder := slices.Clone(ids)
	slices.Sort(byteOrder)
	pool, how, ok := localeDatabase(t)
	if !ok {
		pool = testPool(t)
		how = "the server's default"
	}
	s := newStoreOn(t, pool, Options{Clock: clock.NewSim(t0)})
	for _, id := range ids {
		if err := s.Create(ctx, store.ID(id), nil, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var after store.ID
	for {
		page, err := s.Scan(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range page {
			got = append(got, string(id))
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	if !slices.Equal(got, byteOrder) {
		t.Fatalf("Scan under the %s collation walked %v, want byte order %v", how, got, byteOrder)
	}
}

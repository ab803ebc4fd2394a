package pgstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// timeScript runs the same operations at any starting instant and writes
// down what they returned, with instants relative to the start, so that runs
// from different epochs and time zones can be compared line by line.
func timeScript(ctx context.Context, s *Store, clk *clock.Sim) []string {
	base := store.Instant(clk.Now())
	var out []string
	note := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	load := func(id store.ID) {
		rec, err := s.Load(ctx, id)
		if err != nil {
			note("load %s: %v", id, err)
			return
		}
		note("load %s: %q expires %v (%s)", id, rec.State, rec.Expires.Sub(base), rec.Expires.Location())
	}
	note("create a: %v", s.Create(ctx, "a", []byte("A"), 10*time.Second))
	note("create b: %v", s.Create(ctx, "b", []byte("B"), time.Hour))
	note("create c: %v", s.Create(ctx, "c", []byte("C"), 1500*time.Nanosecond))
	load("a")
	load("c")
	clk.Add(time.Microsecond)
	load("c")
	clk.Add(10*time.Second - 2*time.Microsecond)
	load("a")
	clk.Add(time.Microsecond)
	load("a")
	note("create a again: %v", s.Create(ctx, "a", []byte("A2"), 5*time.Second))
	clk.Add(5 * time.Second)
	note("update b: %v", s.Update(ctx, "b", []byte("B2"), 2*time.Hour))
	note("update ttl b: %v", s.UpdateTTL(ctx, "b", 3*time.Hour))
	note("update a (expired): %v", s.Update(ctx, "a", []byte("x"), time.Hour))
	note("change b->a: %v", s.ChangeID(ctx, "b", "a"))
	load("a")
	load("b")
	note("create d: %v", s.Create(ctx, "d", []byte("D"), time.Second))
	note("create e: %v", s.Create(ctx, "e", []byte("E"), time.Second))
	clk.Add(time.Second)
	n, err := s.DeleteExpired(ctx, 1)
	note("delete expired 1: %d %v", n, err)
	n, err = s.DeleteExpired(ctx, 0)
	note("delete expired all: %d %v", n, err)
	note("delete a: %v", s.Delete(ctx, "a"))
	note("delete e: %v", s.Delete(ctx, "e"))
	return out
}

// Results depend neither on the epoch nor on the connection's TimeZone nor
// on the pool's DefaultQueryExecMode (pgstore prepares and encodes its own
// statements whatever it is): a store that compared against the server's
// local time, or let the server round instants, would diverge here.
func TestTimeIndependence(t *testing.T) {
	t.Parallel()
	starts := []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999500, time.UTC), // sub-µs, before the Unix epoch
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),              // PostgreSQL's own epoch
		time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 1, 59, 59, 999999999, time.FixedZone("CET", 3600)), // a DST change, sub-µs
	}
	type session struct {
		tz   string
		mode pgx.QueryExecMode
	}
	sessions := []session{
		{"UTC", pgx.QueryExecModeCacheStatement},
		{"America/New_York", pgx.QueryExecModeCacheStatement},
		{"Asia/Tokyo", pgx.QueryExecModeCacheStatement},
		{"Asia/Tokyo", pgx.QueryExecModeSimpleProtocol},
		{"America/New_York", pgx.QueryExecModeExec},
	}
	var reference []string
	for _, sess := range sessions {
		pool := siblingPool(t, func(cfg *pgxpool.Config) {
			cfg.ConnConfig.RuntimeParams["timezone"] = sess.tz
			cfg.ConnConfig.DefaultQueryExecMode = sess.mode
		})
		var tz string
		if err := pool.QueryRow(t.Context(), "SELECT current_setting('TimeZone')").Scan(&tz); err != nil || tz != sess.tz {
			t.Fatalf("session TimeZone = %q, %v; want %q", tz, err, sess.tz)
		}
		for _, start := range starts {
			clk := clock.NewSim(start)
			s := newStoreOn(t, pool, Options{Clock: clk})
			got := timeScript(t.Context(), s, clk)
			if reference == nil {
				reference = got
				t.Logf("reference transcript:\n%s", strings.Join(got, "\n"))
				continue
			}
			if g, w := strings.Join(got, "\n"), strings.Join(reference, "\n"); g != w {
				t.Errorf("TimeZone %s, mode %v, start %v: transcript differs.\ngot:\n%s\nwant:\n%s", sess.tz, sess.mode, start, g, w)
			}
		}
	}
}

// The instants stored are the clock's, to the microsecond, whatever the
// session's TimeZone; read back through SQL in another zone they are the
// same instants.
func TestStoredInstantIsAbsolute(t *testing.T) {
	t.Parallel()
	tokyo := siblingPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.RuntimeParams["timezone"] = "Asia/Tokyo" })
	clk := clock.NewSim(time.Date(2100, 6, 30, 23, 59, 59, 123456789, time.UTC))
	s := newStoreOn(t, tokyo, Options{Clock: clk})
	if err := s.Create(t.Context(), "a", nil, 90*time.Minute); err != nil {
		t.Fatal(err)
	}
	var epochMicros int64
	var text string
	if err := testPool(t).QueryRow(t.Context(),
		"SELECT (extract(epoch FROM expires) * 1000000)::bigint, expires::text FROM "+s.Table()).Scan(&epochMicros, &text); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2100, 7, 1, 1, 29, 59, 123456000, time.UTC)
	if epochMicros != want.UnixMicro() {
		t.Fatalf("stored %d µs since the epoch (%s), want %d (%v)", epochMicros, text, want.UnixMicro(), want)
	}
}

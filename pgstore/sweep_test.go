package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"pgregory.net/rapid"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// sweepRecord is a row written straight into the table, so that a check
// can hold hundreds of records with chosen expiries.
type sweepRecord struct {
	id      string
	expires time.Time
}

func insertRecords(t testing.TB, ctx context.Context, pool *pgxpool.Pool, table string, recs []sweepRecord) {
	t.Helper()
	ids := make([]string, len(recs))
	exps := make([]time.Time, len(recs))
	for i, r := range recs {
		ids[i], exps[i] = r.id, r.expires
	}
	if _, err := pool.Exec(ctx, "INSERT INTO "+table+" (id, state, expires) SELECT id, '', e FROM unnest($1::text[], $2::timestamptz[]) AS u(id, e)", ids, exps); err != nil {
		t.Fatal(err)
	}
}

// staggered is n records e00, e01, ... expiring a second apart from t0.
func staggered(n int) []sweepRecord {
	recs := make([]sweepRecord, n)
	for i := range recs {
		recs[i] = sweepRecord{fmt.Sprintf("e%02d", i), t0.Add(time.Duration(i) * time.Second)}
	}
	return recs
}

// idsLeft lists the IDs in the table in byte order.
func idsLeft(t testing.TB, ctx context.Context, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, "SELECT id FROM "+table+" ORDER BY id COLLATE \"C\"")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// Sweep removes exactly the records that had expired, whatever the batch
// size: with runs of equal expiries cut anywhere by a batch boundary, IDs
// whose byte order differs from any locale's, expiries at the clock
// reading itself, and batch sizes from 1 to larger than the backlog.
func TestSweepRemovesExactlyTheExpired(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	ctx := context.Background()
	rapid.Check(t, func(rt *rapid.T) {
		// Few distinct expiries, so that ties are the rule.
		offsets := rapid.SliceOfN(rapid.IntRange(-6, 3), 0, 300).Draw(rt, "expiry offsets (s)")
		batch := rapid.IntRange(1, 40).Draw(rt, "batch")
		clk := clock.NewSim(t0)
		s := newStoreOn(t, pool, Options{Clock: clk})
		defer func() { _, _ = pool.Exec(ctx, "DROP TABLE "+s.Table()) }()
		recs := make([]sweepRecord, len(offsets))
		var want []string
		for i, off := range offsets {
			// Prefixes in byte order: '-' < 'A' < '_' < 'a'.
			id := fmt.Sprintf("%c%03d", "a-_A"[i%4], i)
			recs[i] = sweepRecord{id, t0.Add(time.Duration(off) * time.Second)}
			if off > 0 {
				want = append(want, id)
			}
		}
		insertRecords(t, ctx, pool, s.Table(), recs)
		n, err := s.Sweep(ctx, batch)
		if err != nil {
			rt.Fatal(err)
		}
		if n != len(recs)-len(want) {
			rt.Fatalf("Sweep(%d) = %d, want %d", batch, n, len(recs)-len(want))
		}
		slices.Sort(want)
		if got := idsLeft(t, ctx, pool, s.Table()); !slices.Equal(got, want) {
			rt.Fatalf("Sweep(%d) left %v, want %v", batch, got, want)
		}
		if n, err := s.Sweep(ctx, batch); n != 0 || err != nil {
			rt.Fatalf("second Sweep(%d) = %d, %v; want 0", batch, n, err)
		}
	})
}

// Sweep judges every record by the one clock reading it took when it
// started, and an earlier sweep leaves no position behind: after the clock
// steps back and records expiring before the earlier sweep's last batch are
// written, the next sweep still finds them.
func TestSweepReadsTheClockOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 10 {
		f.mustCreate(store.ID(fmt.Sprintf("first%d", i)), "s", time.Duration(i+1)*time.Second)
	}
	f.clk.Add(time.Hour)
	if n, err := f.s.Sweep(f.ctx, 3); n != 10 || err != nil {
		t.Fatalf("Sweep(3) = %d, %v; want 10", n, err)
	}
	f.clk.Set(t0) // an NTP correction
	f.mustCreate("again", "s", time.Second)
	f.mustCreate("live", "s", time.Hour)
	f.clk.Add(2 * time.Second)
	if n, err := f.s.Sweep(f.ctx, 3); n != 1 || err != nil {
		t.Fatalf("Sweep after the clock stepped back = %d, %v; want 1", n, err)
	}
	f.wantRecord("live", "s", t0.Add(time.Hour))
	if f.rows() != 1 {
		t.Fatalf("%d rows left, want 1", f.rows())
	}
}

func TestSweepRejectsBadBatch(t *testing.T) {
	t.Parallel()
	pool, attempts := unreachablePool(t)
	s, err := New(pool, Options{Clock: clock.NewSim(t0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{0, -1} {
		if n, err := s.Sweep(context.Background(), batch); n != 0 || !errors.Is(err, store.ErrInvalidLimit) {
			t.Fatalf("Sweep(%d) = %d, %v; want ErrInvalidLimit", batch, n, err)
		}
	}
	if n := attempts.Load(); n != 0 {
		t.Fatalf("%d connection attempts, want none", n)
	}
}

// afterStatements is a pool tracer that calls do once n more cleanup
// batches have passed their check (never while n is 0): a way into a
// sweep between batches, just before a batch commits.
type afterStatements struct {
	mu sync.Mutex
	n  int
	do func()
}

func (a *afterStatements) arm(n int, do func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n, a.do = n, do
}

type isCheck struct{}

func (a *afterStatements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, isCheck{}, strings.Contains(d.SQL, "1 / (CASE"))
}

func (a *afterStatements) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if check, _ := ctx.Value(isCheck{}).(bool); !check {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n > 0 {
		if a.n--; a.n == 0 {
			a.do()
		}
	}
}

// sweepFixture is a store whose pool calls a tracer, with 25 records that
// expired a second apart, e00 first.
func sweepFixture(t *testing.T) (*Store, *afterStatements) {
	tracer := &afterStatements{}
	pool := siblingPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = tracer })
	s := newStoreOn(t, pool, Options{Clock: clock.NewSim(t0.Add(time.Hour))})
	insertRecords(t, context.Background(), testPool(t), s.Table(), staggered(25))
	return s, tracer
}

// A sweep stopped between batches reports what the finished batches
// removed, with a definite error, and the rest is still there.
func TestSweepStoppedBetweenBatches(t *testing.T) {
	t.Parallel()
	s, tracer := sweepFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tracer.arm(2, cancel)
	n, err := s.Sweep(ctx, 10)
	if n != 20 || !errors.Is(err, context.Canceled) || store.IsAmbiguous(err) {
		t.Fatalf("Sweep cancelled after two batches = %d, %v; want 20 and a definite context.Canceled", n, err)
	}
	if got := idsLeft(t, context.Background(), testPool(t), s.Table()); strings.Join(got, " ") != "e20 e21 e22 e23 e24" {
		t.Fatalf("left %v, want the five latest", got)
	}
}

// A sweep taken batch by batch: each step says whether it was the last,
// a step after the last removes nothing, a bad batch changes nothing, and a
// clock moved after StartSweep does not change what the sweep removes.
func TestSweepingStepByStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	insertRecords(t, f.ctx, f.pool, f.s.Table(), append(staggered(25), sweepRecord{"later", t0.Add(time.Hour)}))
	f.clk.Set(t0.Add(30 * time.Second))
	sw := f.s.StartSweep()
	f.clk.Set(t0.Add(2 * time.Hour)) // "later" has expired too, but after the sweep began
	if n, done, err := sw.Next(f.ctx, 0); n != 0 || done || !errors.Is(err, store.ErrInvalidLimit) {
		t.Fatalf("Next(0) = %d, %v, %v; want ErrInvalidLimit", n, done, err)
	}
	for i, want := range []struct {
		n    int
		done bool
	}{{10, false}, {10, false}, {5, true}, {0, true}} {
		if n, done, err := sw.Next(f.ctx, 10); n != want.n || done != want.done || err != nil {
			t.Fatalf("step %d: Next(10) = %d, %v, %v; want %d, %v", i+1, n, done, err, want.n, want.done)
		}
	}
	if got := idsLeft(t, f.ctx, f.pool, f.s.Table()); strings.Join(got, " ") != "later" {
		t.Fatalf("left %v, want only the record that expired after the sweep began", got)
	}
}

// Each batch starts where the previous one ended, which is what keeps the
// batches cheap: a record written during the sweep with an expiry before
// that point is left for the next sweep, as Sweep documents.
func TestSweepResumesWhereTheLastBatchEnded(t *testing.T) {
	t.Parallel()
	s, tracer := sweepFixture(t)
	ctx := context.Background()
	tracer.arm(1, func() {
		insertRecords(t, ctx, testPool(t), s.Table(), []sweepRecord{{"early", t0.Add(-time.Second)}})
	})
	if n, err := s.Sweep(ctx, 10); n != 25 || err != nil {
		t.Fatalf("Sweep(10) = %d, %v; want the 25 records there when it started", n, err)
	}
	if got := idsLeft(t, ctx, testPool(t), s.Table()); strings.Join(got, " ") != "early" {
		t.Fatalf("left %v, want the record written behind the sweep", got)
	}
	if n, err := s.Sweep(ctx, 10); n != 1 || err != nil {
		t.Fatalf("the next Sweep(10) = %d, %v; want 1", n, err)
	}
}

// Several sweepers at once, while writers keep creating fresh sessions:
// every record that had expired before the sweeps began is removed exactly
// once, and no live one is touched.
func TestConcurrentSweep(t *testing.T) {
	t.Parallel()
	const expired = 3000
	s, pool, clk := expiredBacklog(t, expired)
	clk.Add(time.Hour)
	var mu sync.Mutex
	total := 0
	const writes = 50
	errs := race(workers, func(i int) error {
		if i%2 == 1 {
			// A writer: fresh live sessions, interleaved with the sweeps.
			for k := range writes {
				if err := s.Create(t.Context(), store.ID(fmt.Sprintf("live%d-%d", i, k)), nil, time.Hour); err != nil {
					return err
				}
			}
			return nil
		}
		n, err := s.Sweep(t.Context(), 37)
		mu.Lock()
		total += n
		mu.Unlock()
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != expired {
		t.Fatalf("the sweeps removed %d, want %d: a record was counted twice or missed", total, expired)
	}
	var live, left int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FILTER (WHERE id LIKE 'live%'), count(*) FROM "+s.Table()).Scan(&live, &left); err != nil {
		t.Fatal(err)
	}
	if want := workers / 2 * writes; live != want || left != want {
		t.Fatalf("%d live sessions and %d rows left, want %d of each", live, left, want)
	}
}

// The reason Sweep exists, checked on the buffers a batch touches rather
// than on a timing: once many rows have gone (their index entries stay
// until VACUUM), a batch of Sweep starts past them, while DeleteExpired's
// batch walks past every one of them again.
func TestSweepBatchSkipsWhatEarlierBatchesRemoved(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, sql := range []string{
		"ALTER TABLE " + f.s.Table() + " SET (autovacuum_enabled = off)",
		"INSERT INTO " + f.s.Table() + " SELECT 'id' || g, '', $1::timestamptz + g * interval '1 millisecond' FROM generate_series(1, 50000) g",
		// What the batches of a sweep under way have removed so far.
		"DELETE FROM " + f.s.Table() + " WHERE expires <= $1::timestamptz + interval '40 seconds'",
	} {
		args := []any{t0}
		if !strings.Contains(sql, "$1") {
			args = nil
		}
		if _, err := f.pool.Exec(f.ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	now, from := t0.Add(time.Hour), t0.Add(40*time.Second)
	buffers := func(sql string, args ...any) int {
		tx, err := f.pool.Begin(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(f.ctx) }()
		rows, err := tx.Query(f.ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) "+sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return buffersOf(t, lines)
	}
	// Twice: a first walk past the dead entries may mark them dead in the
	// index, which makes later walks cheaper; compare with the cheaper one.
	buffers(f.s.sql.deleteExpired.sql, now, int64(10))
	dx := buffers(f.s.sql.deleteExpired.sql, now, int64(10))
	sw := buffers(f.s.sql.sweep.sql, now, int64(10), from)
	t.Logf("buffers touched by a batch of 10: DeleteExpired %d, Sweep %d", dx, sw)
	if sw*2 > dx {
		t.Fatalf("a Sweep batch touched %d buffers and DeleteExpired's %d: the sweep does not start where the last batch ended", sw, dx)
	}
}

// buffersOf reads the first "Buffers:" line of an EXPLAIN (ANALYZE,
// BUFFERS) output, the top node's, which counts everything below it: the
// shared buffers hit and read.
func buffersOf(t testing.TB, lines []string) int {
	t.Helper()
	for _, l := range lines {
		_, after, ok := strings.Cut(l, "Buffers: ")
		if !ok {
			continue
		}
		total := 0
		for _, f := range strings.Fields(after) {
			for _, key := range []string{"hit=", "read="} {
				if v, ok := strings.CutPrefix(f, key); ok {
					k, err := strconv.Atoi(v)
					if err != nil {
						t.Fatalf("buffers %q: %v", l, err)
					}
					total += k
				}
			}
		}
		return total
	}
	t.Fatalf("no Buffers line in:\n%s", strings.Join(lines, "\n"))
	return 0
}

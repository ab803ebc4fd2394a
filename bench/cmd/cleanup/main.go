// Command cleanup measures what reclaiming expired sessions costs the
// requests served at the same time.
//
// For each batch size it builds pgstore's table afresh with -records expired
// sessions (inserted with COPY) and -live live ones, then runs -clients
// clients, each doing Load then Update of a live session in a loop, through
// three phases:
//
//  1. warm-up (-warmup), not measured;
//  2. baseline (-baseline): the clients alone;
//  3. cleanup: the clients, plus one cleaner on a connection of its own
//     until nothing expired is left, or -max-cleanup has passed. The
//     cleaner (-cleaner) is pgstore's Sweep(ctx, batch) by default, or
//     DeleteExpired(ctx, batch) called back to back (or every -pause).
//
// It prints each phase's request rate and the clients' latencies (p50, p99,
// max, per operation and per request, i.e. Load+Update), the cleaner's
// reclaim rate and statement times, and how the p99 during cleanup compares
// with the baseline. With -rate or -load the clients are open-loop:
// requests are scheduled at a fixed total rate and latency counts from the
// scheduled start, so that a stall shows up in full instead of merely
// delaying the next request. -load sets that rate as a fraction of what the
// clients reach flat out during a warm-up, so the load means the same on a
// fast host and on a slow one.
//
// Without HOURGLASS_BENCH_DSN it starts a throwaway PostgreSQL cluster on
// 127.0.0.1 and removes it at the end. It stops by itself.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/bench/internal/benchenv"
	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/store"
)

var (
	records       = flag.Int("records", 1_000_000, "expired records inserted before each round")
	live          = flag.Int("live", 10_000, "live sessions the clients load and update")
	clients       = flag.Int("clients", 16, "concurrent clients (and pool connections)")
	payloadSize   = flag.Int("payload", 512, "bytes of state per session, live or expired")
	batchList     = flag.String("batches", "1000,5000", "DeleteExpired batch sizes, one round each")
	warmup        = flag.Duration("warmup", 3*time.Second, "unmeasured warm-up before the baseline")
	baseline      = flag.Duration("baseline", 15*time.Second, "duration of the phase without cleanup")
	maxCleanup    = flag.Duration("max-cleanup", 3*time.Minute, "stop the cleanup phase after this long even if records remain")
	pause         = flag.Duration("pause", 0, "sleep between the cleaner's statements: between DeleteExpired calls, or between the batches of a sweep (taken with StartSweep and Next)")
	windows       = flag.Duration("windows", 0, "alternate the cleaner on and off for this long each (it is paused by holding its only connection), and compare requests beside cleanup with requests without it in the same phase; 0: the cleaner runs throughout")
	rate          = flag.Float64("rate", 0, "open loop: total requests (Load+Update) per second over all clients; 0: closed loop")
	loadFrac      = flag.Float64("load", 0, "open loop at this fraction of the request rate the clients reach flat out during the warm-up (overrides -rate); 0: off")
	sharedBuffers = flag.String("shared-buffers", "1GB", "shared_buffers of the throwaway cluster")
	seed          = flag.Uint64("seed", 1, "seed of the keys and expiries")
	cleanerKind   = flag.String("cleaner", "sweep", `"sweep": pgstore's Sweep(batch), called until it returns 0; "pgstore": pgstore's DeleteExpired(batch), called until it returns 0; "ctid" and "cursor": experiments (see ctidDeleteExpired, cursorDeleteExpired)`)
)

// ctidDeleteExpired is an experiment, not pgstore's statement: the same
// batch as pgstore's DeleteExpired (earliest expiry first, rows locked
// with SKIP LOCKED), but the DELETE finds the locked rows by ctid (a TID
// scan) instead of probing the primary key once per row. Measured with
// -cleaner ctid to tell pgstore's authors what the change would buy.
const ctidDeleteExpired = `DELETE FROM %s WHERE ctid = ANY (ARRAY(
	SELECT ctid FROM %s WHERE expires <= $1
	ORDER BY expires, id COLLATE "C"
	LIMIT $2
	FOR UPDATE SKIP LOCKED
))`

// cursorDeleteExpired is an experiment: pgstore's batch, started at the
// latest expiry the previous call removed instead of at the index's low end.
const cursorDeleteExpired = `WITH d AS (DELETE FROM %s WHERE id = ANY (ARRAY(
	SELECT id FROM %s WHERE expires <= $1 AND expires >= $3
	ORDER BY expires, id COLLATE "C"
	LIMIT $2
	FOR UPDATE SKIP LOCKED
)) RETURNING expires) SELECT count(*)::int, max(expires) FROM d`

const ttl = 24 * time.Hour

func main() {
	flag.Parse()
	batches, err := parseBatches(*batchList)
	if err != nil {
		fatal(err)
	}
	ctx := context.Background()
	env, err := benchenv.Setup(ctx, map[string]string{
		"shared_buffers": *sharedBuffers,
		"max_wal_size":   "4GB", // no checkpoint forced by WAL volume mid-phase
	})
	if err != nil {
		fatal(err)
	}
	err = run(ctx, env, batches)
	env.Close()
	if err != nil {
		fatal(err)
	}
}

func run(ctx context.Context, env *benchenv.Env, batches []int) error {
	pool, err := env.Pool(ctx, *clients)
	if err != nil {
		return err
	}
	defer pool.Close()
	timer := &statementTimer{}
	cleanerPool, err := env.Pool(ctx, 1, func(c *pgxpool.Config) { c.ConnConfig.Tracer = timer })
	if err != nil {
		return err
	}
	defer cleanerPool.Close()
	st, err := pgstore.New(pool, pgstore.Options{Clock: clock.Real()})
	if err != nil {
		return err
	}
	cleanerStore, err := pgstore.New(cleanerPool, pgstore.Options{Clock: clock.Real()})
	if err != nil {
		return err
	}
	var cleaner deleteExpired = cleanerStore.DeleteExpired
	switch *cleanerKind {
	case "pgstore":
	case "sweep":
		cleaner = cleanerStore.Sweep
		if *pause > 0 {
			// Paced: the same sweep, a batch at a time, sleeping between.
			cleaner = func(ctx context.Context, batch int) (int, error) {
				sw := cleanerStore.StartSweep()
				total := 0
				for {
					n, done, err := sw.Next(ctx, batch)
					total += n
					if err != nil || done {
						return total, err
					}
					time.Sleep(*pause)
				}
			}
		}
	case "ctid":
		sql := fmt.Sprintf(ctidDeleteExpired, st.Table(), st.Table())
		cleaner = func(ctx context.Context, limit int) (int, error) {
			tag, err := cleanerPool.Exec(ctx, sql, store.Instant(time.Now()), limit)
			return int(tag.RowsAffected()), err
		}
	case "cursor":
		sql := fmt.Sprintf(cursorDeleteExpired, st.Table(), st.Table())
		var from time.Time
		cleaner = func(ctx context.Context, limit int) (int, error) {
			var n int
			var last *time.Time
			err := cleanerPool.QueryRow(ctx, sql, store.Instant(time.Now()), limit, from).Scan(&n, &last)
			if n < limit || last == nil {
				from = time.Time{}
			} else {
				from = *last
			}
			return n, err
		}
	default:
		return fmt.Errorf("-cleaner %q: want pgstore, sweep, ctid or cursor", *cleanerKind)
	}

	mode := "closed loop"
	switch {
	case *loadFrac > 0:
		mode = fmt.Sprintf("open loop at %.2f of the closed-loop rate measured in the warm-up", *loadFrac)
	case *rate > 0:
		mode = fmt.Sprintf("open loop at %.0f requests/s", *rate)
	}
	fmt.Printf("server: %s, shared_buffers=%s; GOMAXPROCS=%d\n", env.Describe(), *sharedBuffers, runtime.GOMAXPROCS(0))
	fmt.Printf("%d expired + %d live records of %d bytes; %d clients, %s, each request = Load + Update of a live session\n",
		*records, *live, *payloadSize, *clients, mode)
	fmt.Printf("cleaner: %s, pause between calls %v\n\n", *cleanerKind, *pause)

	var results []roundResult
	for _, batch := range batches {
		r, err := round(ctx, pool, cleanerPool, st, cleaner, timer, batch)
		if err != nil {
			return fmt.Errorf("batch %d: %w", batch, err)
		}
		results = append(results, r)
	}
	printTable(results)
	if *windows > 0 {
		printWindows(results)
	}
	return nil
}

type roundResult struct {
	batch             int
	loadTime          time.Duration
	base, during      phase
	reclaimed, left   int64
	calls             []time.Duration // each statement of the cleaner, in order
	cleanupDur        time.Duration
	cleanupIncomplete bool
}

// statementTimer is the cleaner pool's tracer: it times each statement the
// cleaner sends (a DeleteExpired call, or one batch of a Sweep), and lets
// the clients tell whether a request overlapped one.
type statementTimer struct {
	mu    sync.Mutex
	start time.Time
	took  []time.Duration

	busy    atomic.Bool  // a cleaner statement is running
	seq     atomic.Int64 // statements started so far
	lastEnd atomic.Int64 // when the last one ended, Unix nanoseconds
}

func (s *statementTimer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.busy.Store(true)
	s.seq.Add(1)
	s.mu.Lock()
	s.start = time.Now()
	s.mu.Unlock()
	return ctx
}

func (s *statementTimer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {
	now := time.Now()
	s.mu.Lock()
	s.took = append(s.took, now.Sub(s.start))
	s.mu.Unlock()
	s.lastEnd.Store(now.UnixNano())
	s.busy.Store(false)
}

// settle is how long after a cleaner statement a request must start to
// count as one without cleanup, so that what a statement leaves behind
// (dirty buffers, a backlog of queued requests) is not counted as quiet.
const settle = 50 * time.Millisecond

// probe is the cleaner's state when a request starts; classify compares
// it with the state when the request ends.
type probe struct {
	seq     int64
	busy    bool
	lastEnd int64
}

func (s *statementTimer) probe() probe {
	return probe{seq: s.seq.Load(), busy: s.busy.Load(), lastEnd: s.lastEnd.Load()}
}

// classify says whether a request from begin to now ran beside cleanup
// (it overlapped a cleaner statement), without it (it overlapped none and
// began at least settle after the last one), or neither.
func (s *statementTimer) classify(p probe, begin time.Time) (on, off bool) {
	if p.busy || s.busy.Load() || s.seq.Load() != p.seq {
		return true, false
	}
	return false, p.lastEnd == 0 || begin.Sub(time.Unix(0, p.lastEnd)) >= settle
}

// reset returns the durations so far and forgets them.
func (s *statementTimer) reset() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	took := s.took
	s.took = nil
	return took
}

// alternate pauses the cleaner every other window of length w, by taking
// its pool's only connection (which waits for the statement in flight) and
// holding it for w; any cleaner, a Sweep included, then simply waits for
// its next statement. The returned function stops it.
func alternate(ctx context.Context, cleanerPool *pgxpool.Pool, w time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-time.After(w):
			}
			conn, err := cleanerPool.Acquire(ctx)
			if err != nil {
				return
			}
			select {
			case <-done:
			case <-time.After(w):
			}
			conn.Release()
		}
	}()
	return func() { close(done); <-finished }
}

// deleteExpired is the cleaner's one call: pgstore's DeleteExpired or an
// experiment with the same signature.
type deleteExpired func(ctx context.Context, limit int) (int, error)

func round(ctx context.Context, pool, cleanerPool *pgxpool.Pool, st *pgstore.Store, cleaner deleteExpired, timer *statementTimer, batch int) (roundResult, error) {
	r := roundResult{batch: batch}
	fmt.Printf("batch %d: loading the table... ", batch)
	t := time.Now()
	keys, err := fill(ctx, pool, st)
	if err != nil {
		return r, err
	}
	r.loadTime = time.Since(t)
	fmt.Printf("%v\n", r.loadTime.Round(100*time.Millisecond))

	cl := newWorkload(st, keys)
	cl.cleaner = timer
	cl.rate = *rate
	if *loadFrac > 0 {
		// The warm-up runs flat out, so that the open-loop rate is a
		// fraction of what the host manages now, not of a fixed number
		// that a slow moment of a shared host cannot reach.
		cl.rate = 0
		w := cl.run(*warmup, nil)
		cl.rate = *loadFrac * w.rate()
		fmt.Printf("batch %d: warm-up flat out %.0f req/s; open loop at %.0f req/s\n", batch, w.rate(), cl.rate)
	}
	cl.run(*warmup, nil)
	r.base = cl.run(*baseline, nil)
	fmt.Printf("batch %d: baseline %s\n", batch, r.base.brief())

	timer.reset()
	r.during = cl.run(0, func() {
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, *maxCleanup)
		defer cancel()
		if *windows > 0 {
			defer alternate(cctx, cleanerPool, *windows)()
		}
		for {
			n, err := cleaner(cctx, batch)
			// A Sweep stopped by -max-cleanup reports what it removed.
			r.reclaimed += int64(n)
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) && cctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "cleanup:", err)
				}
				r.cleanupIncomplete = true
				break
			}
			if n == 0 {
				break
			}
			if *pause > 0 {
				time.Sleep(*pause)
			}
		}
		r.cleanupDur = time.Since(start)
	})
	r.calls = timer.reset()
	fmt.Printf("batch %d: cleanup %s; reclaimed %d in %v\n", batch, r.during.brief(), r.reclaimed, r.cleanupDur.Round(time.Millisecond))
	if *windows > 0 {
		on, off := r.during.on, r.during.off
		fmt.Printf("batch %d: beside cleanup %d requests, p99 %s; without %d, p99 %s: %.2f×\n", batch,
			len(on), ms(pct(on, 99)), len(off), ms(pct(off, 99)), float64(pct(on, 99))/float64(pct(off, 99)))
	}
	fmt.Printf("batch %d: cleanup statement p50 by quarter of the statements, in order: %s\n", batch, quarters(r.calls))
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+st.Table()+" WHERE expires <= now()").Scan(&r.left); err != nil {
		return r, err
	}
	if cl.errs.Load() > 0 {
		return r, fmt.Errorf("%d client operations failed, first: %v", cl.errs.Load(), cl.firstErr())
	}
	return r, nil
}

// fill recreates the table with the expired and live records, returns the
// live keys, and leaves the table vacuumed, analysed and checkpointed so
// that no maintenance is pending when the measurements start.
func fill(ctx context.Context, pool *pgxpool.Pool, st *pgstore.Store) ([]string, error) {
	if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+st.Table()); err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(*seed, *seed))
	payload := make([]byte, *payloadSize)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	key := func() string {
		var b [32]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return base64.RawURLEncoding.EncodeToString(b[:])
	}
	now := time.Now()
	keys := make([]string, *live)
	for i := range keys {
		keys[i] = key()
	}
	// Live records first, then expired ones with expiries spread over the
	// last week, in random order.
	src := &rowSource{n: *live + *records, row: func(i int) []any {
		if i < *live {
			return []any{keys[i], payload, now.Add(ttl)}
		}
		age := time.Minute + time.Duration(rng.Int64N(int64(7*24*time.Hour)))
		return []any{key(), payload, now.Add(-age)}
	}}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{pgstore.DefaultTable}, []string{"id", "state", "expires"}, src); err != nil {
		return nil, err
	}
	for _, sql := range []string{"VACUUM (ANALYZE) " + st.Table(), "CHECKPOINT"} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// rowSource generates the rows of a COPY one at a time.
type rowSource struct {
	n, i int
	row  func(i int) []any
	cur  []any
}

func (s *rowSource) Next() bool {
	if s.i >= s.n {
		return false
	}
	s.cur = s.row(s.i)
	s.i++
	return true
}
func (s *rowSource) Values() ([]any, error) { return s.cur, nil }
func (s *rowSource) Err() error             { return nil }

// workload is the request load: each client works on its own share of the
// live keys, round robin.
type workload struct {
	st      *pgstore.Store
	rate    float64         // requests/s over all clients; 0: closed loop
	cleaner *statementTimer // classifies requests as beside cleanup or not
	keys    []string
	payload []byte
	errs    atomic.Int64
	mu      sync.Mutex
	first   error
}

func newWorkload(st *pgstore.Store, keys []string) *workload {
	p := make([]byte, *payloadSize)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return &workload{st: st, keys: keys, payload: p}
}

func (c *workload) fail(err error) {
	c.errs.Add(1)
	c.mu.Lock()
	if c.first == nil {
		c.first = err
	}
	c.mu.Unlock()
}

func (c *workload) firstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// phase holds one phase's latency samples.
type phase struct {
	dur                   time.Duration
	load, update, request []time.Duration
	// on and off split the requests by whether they overlapped a cleaner
	// statement (see statementTimer.classify).
	on, off []time.Duration
}

// run runs the clients for d, or, if during is not nil, until during
// returns (d is then ignored).
func (c *workload) run(d time.Duration, during func()) phase {
	var stop atomic.Bool
	per := make([]phase, *clients)
	var wg sync.WaitGroup
	start := time.Now()
	var interval time.Duration
	if c.rate > 0 {
		interval = time.Duration(float64(*clients) / c.rate * float64(time.Second))
	}
	ctx := context.Background()
	for i := range per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &per[i]
			// Stagger the open-loop schedules so the clients do not fire together.
			next := start.Add(time.Duration(i) * interval / time.Duration(*clients))
			for k := i; !stop.Load(); k += *clients {
				id := store.ID(c.keys[k%len(c.keys)])
				pr := c.cleaner.probe()
				begin := time.Now()
				if interval > 0 {
					if wait := time.Until(next); wait > 0 {
						time.Sleep(wait)
					}
					begin = next // latency counts from the scheduled start
					next = next.Add(interval)
				}
				t := time.Now()
				if _, err := c.st.Load(ctx, id); err != nil {
					c.fail(fmt.Errorf("load: %w", err))
				}
				t2 := time.Now()
				if err := c.st.Update(ctx, id, c.payload, ttl); err != nil {
					c.fail(fmt.Errorf("update: %w", err))
				}
				end := time.Now()
				p.load = append(p.load, t2.Sub(t))
				p.update = append(p.update, end.Sub(t2))
				p.request = append(p.request, end.Sub(begin))
				switch on, off := c.cleaner.classify(pr, begin); {
				case on:
					p.on = append(p.on, end.Sub(begin))
				case off:
					p.off = append(p.off, end.Sub(begin))
				}
			}
		}()
	}
	if during != nil {
		during()
	} else {
		time.Sleep(d)
	}
	stop.Store(true)
	wg.Wait()
	all := phase{dur: time.Since(start)}
	for _, p := range per {
		all.load = append(all.load, p.load...)
		all.update = append(all.update, p.update...)
		all.request = append(all.request, p.request...)
		all.on = append(all.on, p.on...)
		all.off = append(all.off, p.off...)
	}
	for _, s := range [][]time.Duration{all.load, all.update, all.request, all.on, all.off} {
		slices.Sort(s)
	}
	return all
}

func (p phase) rate() float64 { return float64(len(p.request)) / p.dur.Seconds() }

func (p phase) brief() string {
	return fmt.Sprintf("%.1fs, %.0f req/s, request p50 %v p99 %v", p.dur.Seconds(), p.rate(),
		ms(pct(p.request, 50)), ms(pct(p.request, 99)))
}

// pct is the q-th percentile of sorted samples (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 2, 64) + "ms" }

func printTable(rs []roundResult) {
	fmt.Println()
	fmt.Println("| batch | phase | duration | req/s | Load p50 / p99 | Update p50 / p99 | request p50 / p99 / max | request p99 vs baseline | reclaimed | reclaim rate | cleanup statement p50 / max |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		for _, ph := range []struct {
			name string
			p    phase
		}{{"baseline", r.base}, {"cleanup", r.during}} {
			p := ph.p
			cells := []string{
				strconv.Itoa(r.batch), ph.name,
				fmt.Sprintf("%.1fs", p.dur.Seconds()),
				fmt.Sprintf("%.0f", p.rate()),
				ms(pct(p.load, 50)) + " / " + ms(pct(p.load, 99)),
				ms(pct(p.update, 50)) + " / " + ms(pct(p.update, 99)),
				ms(pct(p.request, 50)) + " / " + ms(pct(p.request, 99)) + " / " + ms(pct(p.request, 100)),
			}
			if ph.name == "baseline" {
				cells = append(cells, "1.00×", "", "", "")
			} else {
				ratio := float64(pct(p.request, 99)) / float64(pct(r.base.request, 99))
				calls := slices.Clone(r.calls)
				slices.Sort(calls)
				reclaimed := strconv.FormatInt(r.reclaimed, 10)
				if r.cleanupIncomplete || r.left > 0 {
					reclaimed += fmt.Sprintf(" (%d left)", r.left)
				}
				cells = append(cells,
					fmt.Sprintf("%.2f×", ratio),
					reclaimed,
					fmt.Sprintf("%.0f/s", float64(r.reclaimed)/r.cleanupDur.Seconds()),
					ms(pct(calls, 50))+" / "+ms(pct(calls, 100)),
				)
			}
			fmt.Println("| " + strings.Join(cells, " | ") + " |")
		}
	}
	fmt.Println("\nGoal: request p99 during cleanup at most 2× the baseline's.")
}

// printWindows compares, within each cleanup phase, the requests that
// overlapped a cleaner statement with those that started at least settle
// after one and overlapped none: time-adjacent samples, so that the host's
// drift over minutes does not pass for an effect of the cleanup.
func printWindows(rs []roundResult) {
	fmt.Printf("\nCleaner on and off in alternate windows of %v; requests classified by overlap with a cleaner statement:\n\n", *windows)
	fmt.Println("| batch | requests beside cleanup | p50 / p99 | requests without | p50 / p99 | p99 beside / without | baseline p99 | reclaim rate while running |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		var busy time.Duration
		for _, c := range r.calls {
			busy += c
		}
		on, off := r.during.on, r.during.off
		fmt.Printf("| %d | %d | %s / %s | %d | %s / %s | %.2f× | %s | %.0f/s |\n", r.batch,
			len(on), ms(pct(on, 50)), ms(pct(on, 99)),
			len(off), ms(pct(off, 50)), ms(pct(off, 99)),
			float64(pct(on, 99))/float64(pct(off, 99)), ms(pct(r.base.request, 99)),
			float64(r.reclaimed)/busy.Seconds())
	}
}

// quarters gives the median of each quarter of the calls, in the order they
// were made: whether a call gets slower as the cleanup goes on.
func quarters(calls []time.Duration) string {
	if len(calls) < 4 {
		return "-"
	}
	var out []string
	for q := 0; q < 4; q++ {
		part := slices.Clone(calls[q*len(calls)/4 : (q+1)*len(calls)/4])
		slices.Sort(part)
		out = append(out, ms(pct(part, 50)))
	}
	return strings.Join(out, " / ")
}

func parseBatches(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-batches: %q is not a positive batch size", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "cleanup:", err)
	os.Exit(1)
}

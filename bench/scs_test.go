package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/bench/internal/benchenv"
	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/scsstore"
)

// BenchmarkSCS (issue 13) measures whole HTTP requests through scs v2's
// SessionManager, over a real net/http server and client in this process,
// with two stores on one PostgreSQL server of PostgreSQL's default
// durability (the owner benchmarks' settings, durableSettings; a cluster of
// its own, with only this benchmark's sessions):
//
//   - impl=hourglass: pgstore under the scsstore adapter, the middleware
//     being the adapter's st.LoadAndSave(sm, mux);
//   - impl=pgxstore: scs/pgxstore on its README's table, scs's own
//     sm.LoadAndSave(mux), background cleanup off.
//
// Both share one pool (MaxConns 16, as the other benchmarks). Two kinds of
// request, as sub-benchmarks op=…/impl=…:
//
//   - op=modify: load, modify, save. The handler increments a counter;
//     the session also holds a 512-byte value. Lifetime 24 h, no idle
//     timeout, so scs commits because the session changed.
//   - op=read: the handler only reads the counter, with an idle timeout of
//     30 minutes, so scs commits on every request all the same (to move
//     the expiry). Under the adapter the read is a Touch, which writes
//     nothing until the expiry moves by its resolution (a minute), and the
//     commit of a request that changed nothing sends no statement.
//
// Each (impl, op) has scsSessions sessions of its own, created before the
// runs by one request each (for op=read, under the idle timeout, so they
// expire 30 minutes after their creation); the runs send them round robin
// from 16 concurrent clients. Every response must be 200, and the handler
// answers 500 unless the request's session existed, so a session that was
// lost (or never saved) fails the run; after each op=modify run the
// counters of all sessions must add up to the requests made. Each run
// starts after a VACUUM of its table and a CHECKPOINT, and reports req/s,
// the client's (this process: HTTP client, server, scs, store) and the
// PostgreSQL server's CPU per request, and the WAL written per request.
// Even rounds of run.sh run the implementations in reverse order.
func BenchmarkSCS(b *testing.B) {
	e, err := newSCSEnv(context.Background())
	if err != nil {
		b.Fatal("scs benchmark: setup:", err)
	}
	b.Cleanup(e.close)
	for _, op := range []string{"modify", "read"} {
		b.Run("op="+op, func(b *testing.B) {
			for _, c := range e.casesFor(op) {
				b.Run("impl="+c.impl, func(b *testing.B) { e.measure(b, c) })
			}
		})
	}
}

const (
	scsSessions = 1_000 // per implementation and op
	scsCookie   = "session"
)

// scsEnv is the benchmark's server, pool, and one HTTP server per
// (implementation, op).
type scsEnv struct {
	env    *benchenv.Env
	pool   *pgxpool.Pool
	client *http.Client
	cases  []*scsCase
}

// scsCase is one (implementation, op): its SessionManager behind an HTTP
// server, and the cookies of its sessions.
type scsCase struct {
	impl, op string
	table    string // vacuumed before each run
	srv      *httptest.Server
	tokens   []string
	// total is the requests made so far on the op=modify sessions, which
	// their counters must add up to.
	total int64
}

func newSCSEnv(ctx context.Context) (_ *scsEnv, err error) {
	if payload == nil {
		return nil, errors.New("payload not set up")
	}
	e := &scsEnv{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	settings, err := ownedSettings()
	if err != nil {
		return nil, err
	}
	if e.env, err = benchenv.Setup(ctx, settings); err != nil {
		return nil, err
	}
	if e.pool, err = e.env.Pool(ctx, maxConns); err != nil {
		return nil, err
	}
	var fsync, syncCommit, fpw string
	if err := e.pool.QueryRow(ctx, `SELECT current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('full_page_writes')`).Scan(&fsync, &syncCommit, &fpw); err != nil {
		return nil, err
	}

	pg, err := pgstore.New(e.pool, pgstore.Options{Clock: clock.Real()})
	if err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx); err != nil {
		return nil, err
	}
	st, err := scsstore.New(pg, scsstore.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := e.pool.Exec(ctx, scsTableDDL); err != nil {
		return nil, err
	}
	px := pgxstore.NewWithCleanupInterval(e.pool, 0) // no background cleanup

	// Enough idle connections that each of the clients keeps its own.
	e.client = &http.Client{Transport: &http.Transport{
		MaxIdleConns:        4 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     time.Minute,
	}}
	for _, op := range []string{"modify", "read"} {
		sm := newSCSManager(op)
		sm.Store = st
		e.cases = append(e.cases, &scsCase{impl: "hourglass", op: op, table: pg.Table(),
			srv: httptest.NewServer(st.LoadAndSave(sm, scsMux(sm, op)))})
		sm = newSCSManager(op)
		sm.Store = px
		e.cases = append(e.cases, &scsCase{impl: "pgxstore", op: op, table: "sessions",
			srv: httptest.NewServer(sm.LoadAndSave(scsMux(sm, op)))})
	}
	for _, c := range e.cases {
		if err := e.createSessions(c); err != nil {
			return nil, fmt.Errorf("%s, op=%s: %w", c.impl, c.op, err)
		}
	}
	for _, t := range []string{pg.Table(), "sessions"} {
		if _, err := e.pool.Exec(ctx, "ALTER TABLE "+t+" SET (autovacuum_enabled = off)"); err != nil {
			return nil, err
		}
		if _, err := e.pool.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return nil, err
		}
	}
	// benchfmt configuration lines, kept by benchstat with the results.
	fmt.Printf("scs-server: %s\n", e.env.Describe())
	fmt.Printf("scs-durability: fsync=%s synchronous_commit=%s full_page_writes=%s\n", fsync, syncCommit, fpw)
	fmt.Printf("scs-setup: %d sessions per impl and op, %d-byte value in each, %d HTTP clients, pool MaxConns=%d, GOMAXPROCS=%d\n",
		scsSessions, payloadSize, clients, maxConns, runtime.GOMAXPROCS(0))
	return e, nil
}

// newSCSManager is the SessionManager of an op: op=read has the idle
// timeout, op=modify scs's defaults (a 24-hour lifetime, no idle timeout).
func newSCSManager(op string) *scs.SessionManager {
	sm := scs.New()
	sm.Cookie.Name = scsCookie
	sm.Lifetime = ttl
	if op == "read" {
		sm.IdleTimeout = idleTimeout
	}
	return sm
}

// scsMux is the application: /new starts a session, / is the benchmarked
// request, /n reports a session's counter (read-only without an idle
// timeout: scs then commits nothing).
func scsMux(sm *scs.SessionManager, op string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "n", 0)
		sm.Put(r.Context(), "payload", payload)
	})
	mux.HandleFunc("/n", func(w http.ResponseWriter, r *http.Request) {
		if !sm.Exists(r.Context(), "n") {
			http.Error(w, "no session", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, strconv.Itoa(sm.GetInt(r.Context(), "n")))
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if !sm.Exists(ctx, "n") {
			http.Error(w, "no session", http.StatusInternalServerError)
			return
		}
		if op == "modify" {
			sm.Put(ctx, "n", sm.GetInt(ctx, "n")+1)
		} else {
			_ = sm.GetInt(ctx, "n")
		}
	})
	return mux
}

// createSessions makes the case's sessions, one request each, and keeps
// their cookies.
func (e *scsEnv) createSessions(c *scsCase) error {
	c.tokens = make([]string, scsSessions)
	for i := range c.tokens {
		resp, err := e.client.Get(c.srv.URL + "/new")
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/new: %s", resp.Status)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == scsCookie {
				c.tokens[i] = ck.Value
			}
		}
		if c.tokens[i] == "" {
			return errors.New("/new: no session cookie")
		}
	}
	return nil
}

// request sends one request of the case with token's cookie and returns
// the body.
func (e *scsEnv) request(ctx context.Context, c *scsCase, path, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.srv.URL+path, nil)
	if err != nil {
		return "", err
	}
	req.AddCookie(&http.Cookie{Name: scsCookie, Value: token})
	resp, err := e.client.Do(req)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: %s: %s", c.impl, path, resp.Status, body)
	}
	return string(body), nil
}

// casesFor returns op's cases, in reverse order in even rounds of run.sh.
func (e *scsEnv) casesFor(op string) []*scsCase {
	var out []*scsCase
	for _, c := range e.cases {
		if c.op == op {
			out = append(out, c)
		}
	}
	if r, err := strconv.Atoi(os.Getenv("HOURGLASS_BENCH_ROUND")); err == nil && r%2 == 0 {
		slices.Reverse(out)
	}
	return out
}

func (e *scsEnv) measure(b *testing.B, c *scsCase) {
	ctx := context.Background()
	// Each run starts from a fresh checkpoint, so that each pays for the
	// full-page images of the pages it is first to write after one (with
	// full_page_writes on), rather than whichever runs first in a round.
	for _, q := range []string{"VACUUM " + c.table, "CHECKPOINT"} {
		if _, err := e.pool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	walStart, err := e.walPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	cpu := startCPU(e.env)
	b.ResetTimer()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((clients + procs - 1) / procs)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			token := c.tokens[(seq.Add(1)-1)%scsSessions]
			if _, err := e.request(ctx, c, "/", token); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if b.Failed() {
		b.FailNow()
	}
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	walEnd, err := e.walPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(walEnd-walStart)/float64(b.N), "wal-B/op")
	if c.op == "modify" {
		c.total += int64(b.N)
		if err := e.checkCounters(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// checkCounters makes sure no modification was lost: the counters of the
// case's sessions add up to the requests made on them.
func (e *scsEnv) checkCounters(ctx context.Context, c *scsCase) error {
	var sum int64
	for _, t := range c.tokens {
		body, err := e.request(ctx, c, "/n", t)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return err
		}
		sum += n
	}
	if sum != c.total {
		return fmt.Errorf("%s: the counters add up to %d after %d requests", c.impl, sum, c.total)
	}
	return nil
}

// walPosition is the server's current WAL insert position, in bytes.
func (e *scsEnv) walPosition(ctx context.Context) (int64, error) { return walPosition(ctx, e.pool) }

func (e *scsEnv) close() {
	for _, c := range e.cases {
		c.srv.Close()
	}
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	if e.pool != nil {
		e.pool.Close()
	}
	if e.env != nil {
		e.env.Close()
	}
}

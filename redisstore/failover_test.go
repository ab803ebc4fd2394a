package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/rediscluster"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/store"
)

// failoverSeed seeds the delays before each kill, so that a run can be
// repeated (the timing of real processes still varies).
const failoverSeed = 12

// failoverWriters is how many goroutines create sessions during a round.
const failoverWriters = 8

// TestFailoverDurability measures how many acknowledged writes a failover
// to an asynchronous replica loses, without WAIT and with WaitReplicas 1.
// It is a measurement, not a regression test: it runs only when
// HOURGLASS_FAILOVERS=N asks for N failovers per mode (a cycle takes
// seconds). Each round, writers create fresh sessions in a tight loop while,
// after a random delay, the primary is killed and its replica promoted; once
// the old primary has rejoined, every Create that returned nil is looked up
// on the new primary. Append-only files are fsynced on every write, so what
// is lost is lost by replication. With WaitReplicas 1 nothing may be lost:
// a nil return means a replica had the write.
func TestFailoverDurability(t *testing.T) {
	env := os.Getenv("HOURGLASS_FAILOVERS")
	if env == "" {
		t.Skip("a measurement of seconds per failover: set HOURGLASS_FAILOVERS=N to run N failovers per mode")
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 1 {
		t.Fatalf("HOURGLASS_FAILOVERS=%q: want a positive number of failovers", env)
	}
	if _, err := rediscluster.FindBinary(); err != nil && os.Getenv("HOURGLASS_REQUIRE_REDIS") != "1" {
		t.Skipf("no redis-server (%v); HOURGLASS_REQUIRE_REDIS=1 makes this a failure", err)
	}
	ctx := context.Background()
	c, err := rediscluster.Start(ctx, rediscluster.Options{Primaries: 1, Cluster: true, Replicas: 1, AppendFsync: "always"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()

	rng := rand.New(rand.NewPCG(failoverSeed, 0))
	modes := []struct {
		name string
		wait int
	}{{"async", 0}, {"wait", 1}}
	for _, m := range modes {
		var tot failoverTally
		began := time.Now()
		for round := range n {
			r, err := failoverRound(ctx, c, rng, m.name, m.wait)
			if err != nil {
				t.Fatalf("%s round %d: %v", m.name, round, err)
			}
			if r.lost > 0 {
				t.Logf("%s round %d: lost %d of %d acknowledged writes (killed after %v)", m.name, round, r.lost, r.acked, r.delay)
			}
			tot.add(r)
		}
		tot.report(t, m.name, n, time.Since(began))
		if m.wait > 0 && tot.lost > 0 {
			t.Errorf("%s: %d acknowledged writes lost with WaitReplicas %d", m.name, tot.lost, m.wait)
		}
	}
}

// failoverTally counts what the writers of one or more rounds saw.
type failoverTally struct {
	delay          time.Duration // from the writers' start to the kill (one round)
	acked, lost    int
	ambiguous      int // errors that may have been applied
	notReplicated  int // of which ErrNotReplicated
	definite       int // errors that certainly were not applied
	latencies      []time.Duration
	failoverTimes  []time.Duration
	ackedBeforeFO  int            // acknowledged before the kill
	steadyDuration time.Duration  // time writers ran before the kill
	kinds          map[string]int // errors by message, ports and IDs elided
}

func (a *failoverTally) add(r failoverTally) {
	a.acked += r.acked
	a.lost += r.lost
	a.ambiguous += r.ambiguous
	a.notReplicated += r.notReplicated
	a.definite += r.definite
	a.latencies = append(a.latencies, r.latencies...)
	a.failoverTimes = append(a.failoverTimes, r.failoverTimes...)
	a.ackedBeforeFO += r.ackedBeforeFO
	a.steadyDuration += r.steadyDuration
	if a.kinds == nil {
		a.kinds = map[string]int{}
	}
	for k, v := range r.kinds {
		a.kinds[k] += v
	}
}

func (a *failoverTally) report(t *testing.T, mode string, failovers int, took time.Duration) {
	t.Helper()
	slices.Sort(a.latencies)
	slices.Sort(a.failoverTimes)
	pct := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[int(p*float64(len(d)-1))]
	}
	rate := 0.0
	if a.steadyDuration > 0 {
		rate = float64(a.ackedBeforeFO) / a.steadyDuration.Seconds()
	}
	t.Logf("mode %s: failovers %d, acknowledged writes %d (%d of them after a kill), lost acknowledged writes %d, lost per 1,000 failovers %.1f",
		mode, failovers, a.acked, a.acked-a.ackedBeforeFO, a.lost, 1000*float64(a.lost)/float64(failovers))
	t.Logf("mode %s: errors: ambiguous %d (of which ErrNotReplicated %d), definite %d",
		mode, a.ambiguous, a.notReplicated, a.definite)
	for k, v := range a.kinds {
		t.Logf("mode %s:   %6d × %s", mode, v, k)
	}
	t.Logf("mode %s: acknowledged Create latency p50 %v p90 %v p99 %v; %.0f acknowledged Creates/s before the kills (%d writers)",
		mode, pct(a.latencies, .5), pct(a.latencies, .9), pct(a.latencies, .99), rate, failoverWriters)
	t.Logf("mode %s: Failover call p50 %v max %v; mode took %v",
		mode, pct(a.failoverTimes, .5), pct(a.failoverTimes, 1), took.Round(time.Millisecond))
}

// failoverRound runs writers, fails the primary over under them, stops
// them once the old primary has rejoined, and counts the acknowledged
// writes the new primary does not have.
func failoverRound(ctx context.Context, c *rediscluster.Cluster, rng *rand.Rand, mode string, wait int) (failoverTally, error) {
	r := failoverTally{kinds: map[string]int{}}
	primary := -1
	var seeds []string
	for _, nd := range c.Nodes() {
		seeds = append(seeds, nd.Addr)
		if nd.Primary {
			primary = nd.Index
		}
	}
	if primary < 0 {
		return r, errors.New("no primary")
	}
	opts := redisstore.Options{
		Addrs:        seeds,
		Cluster:      true,
		Prefix:       "failover-" + mode,
		Clock:        clock.Real(),
		WaitReplicas: wait,
		WaitTimeout:  time.Second,
	}
	st, err := redisstore.New(ctx, opts)
	if err != nil {
		return r, err
	}
	defer st.Close()

	// The kill lands between 50 and 500 ms into the writes: past the
	// connection set-up, at a random point of the replication stream.
	r.delay = 50*time.Millisecond + time.Duration(rng.Int64N(int64(450*time.Millisecond)))

	wctx, stop := context.WithCancel(ctx)
	var (
		mu     sync.Mutex
		acked  []store.ID
		killAt time.Time // zero until the kill; under mu
		wg     sync.WaitGroup
	)
	state := []byte("failover")
	for range failoverWriters {
		wg.Go(func() {
			var mine []store.ID
			var lat []time.Duration
			var amb, notRepl, def, before int
			for wctx.Err() == nil {
				id := store.NewID()
				octx, cancel := context.WithTimeout(wctx, 3*time.Second)
				t0 := time.Now()
				err := st.Create(octx, id, state, time.Hour)
				d := time.Since(t0)
				cancel()
				switch {
				case err == nil:
					mine = append(mine, id)
					lat = append(lat, d)
					mu.Lock()
					if killAt.IsZero() || t0.Add(d).Before(killAt) {
						before++
					}
					mu.Unlock()
				case wctx.Err() != nil:
					// Cut short by the end of the round: not counted.
				case store.IsAmbiguous(err):
					amb++
					if errors.Is(err, redisstore.ErrNotReplicated) {
						notRepl++
					}
				default:
					def++
				}
				if err != nil && wctx.Err() == nil {
					mu.Lock()
					r.kinds[errKind(err)]++
					mu.Unlock()
				}
			}
			mu.Lock()
			acked = append(acked, mine...)
			r.latencies = append(r.latencies, lat...)
			r.ambiguous += amb
			r.notReplicated += notRepl
			r.definite += def
			r.ackedBeforeFO += before
			mu.Unlock()
		})
	}
	start := time.Now()
	select {
	case <-time.After(r.delay):
	case <-ctx.Done():
	}
	mu.Lock()
	killAt = time.Now()
	mu.Unlock()
	r.steadyDuration = killAt.Sub(start)
	_, ferr := c.Failover(ctx, primary)
	r.failoverTimes = append(r.failoverTimes, time.Since(killAt))
	stop()
	wg.Wait()
	if ferr != nil {
		return r, ferr
	}
	r.acked = len(acked)

	// A fresh store, so that nothing the writers' client cached about the
	// old primary plays a part in the check.
	opts.Addrs, opts.WaitReplicas = c.Addrs(), 0
	check, err := redisstore.New(ctx, opts)
	if err != nil {
		return r, fmt.Errorf("store on the new primary: %w", err)
	}
	defer check.Close()
	for _, id := range acked {
		_, err := check.Load(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			r.lost++
		case err != nil:
			return r, fmt.Errorf("load after failover: %w", err)
		}
	}
	// Start the next round empty: a dataset that grew round after round
	// would make every restart and resync of the old primary slower.
	rc := redis.NewClient(&redis.Options{Addr: opts.Addrs[0]})
	defer rc.Close()
	conn := rc.Conn()
	defer conn.Close()
	if err := conn.FlushAll(ctx).Err(); err != nil {
		return r, fmt.Errorf("flushall: %w", err)
	}
	if err := conn.Do(ctx, "wait", 1, 5000).Err(); err != nil {
		return r, fmt.Errorf("wait after flushall: %w", err)
	}
	return r, nil
}

var digits = regexp.MustCompile(`[0-9]+`)

// errKind is err's message with numbers elided, to count errors by kind.
func errKind(err error) string {
	return digits.ReplaceAllString(err.Error(), "N")
}

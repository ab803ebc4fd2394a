package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	scsredis "github.com/alexedwards/scs/redisstore"
	fiberredis "github.com/gofiber/storage/redis/v3"
	"github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/hourglass-go/hourglass/bench/internal/benchenv"
	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/rediscluster"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/store"
)

// The benchmarks of issue 12: Hourglass's Redis store (redisstore) against
// github.com/alexedwards/scs/redisstore (redigo) and
// github.com/gofiber/storage/redis/v3 (go-redis), on one plain Redis node
// they share; ChangeID within and across hash slots; throughput against the
// number of primaries; and the two Go clients the store could be built on.
//
// Every server is a throwaway redis-server started by this process (see
// internal/rediscluster) the first time a benchmark needs it and stopped
// when the process exits, with appendfsync everysec for all of them: the
// comparison is of the stores, not of Redis's fsync. Every store holds the
// same 10,000 sessions of 512 bytes (keys and payload of bench_test.go),
// with a one-hour TTL, and has at most redisPool connections per node.
//
// BENCH=Redis ROUNDS=5 BENCHTIME=1s RATIOS='...' ./run.sh (BENCHMARKS.md,
// "Redis (issue 12)"). HOURGLASS_BENCH_REDIS_MEM=1 go test -run RedisMemory -v
// measures the memory each store takes per session.

const (
	redisTTL   = time.Hour
	redisPool  = 16 // connections per node, every client
	redisFsync = "everysec"
	memCount   = 100_000 // sessions created by TestRedisMemory
)

// redisServers are the throwaway servers, each started on first use.
var (
	redisMu      sync.Mutex
	redisStarted = map[string]*rediscluster.Cluster{}
	redisInfo    sync.Once
)

// redisServer returns the server called name, starting it on first use: a
// plain node when primaries is 0, else a cluster of that many primaries.
func redisServer(name string, primaries int) (*rediscluster.Cluster, error) {
	redisMu.Lock()
	defer redisMu.Unlock()
	if c, ok := redisStarted[name]; ok {
		return c, nil
	}
	opts := rediscluster.Options{Primaries: 1, AppendFsync: redisFsync}
	if primaries > 0 {
		opts = rediscluster.Options{Primaries: primaries, Cluster: true, AppendFsync: redisFsync}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := rediscluster.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	redisStarted[name] = c
	redisInfo.Do(func() {
		// benchfmt configuration lines, kept by benchstat.
		v, _ := redisField(c.Addrs()[0], "server", "redis_version")
		fmt.Printf("redis: %s\n", v)
		fmt.Printf("redis-appendfsync: %s\n", redisFsync)
		fmt.Printf("redis-setup: %d sessions of %d bytes per store, TTL %v, %d connections per node\n", sessions, payloadSize, redisTTL, redisPool)
	})
	return c, nil
}

// stopRedis stops every server started by this process.
func stopRedis() {
	redisMu.Lock()
	defer redisMu.Unlock()
	for name, c := range redisStarted {
		_ = c.Stop()
		delete(redisStarted, name)
	}
}

// redisOnly reports whether the -test.bench pattern asks for Redis
// benchmarks only, which need no PostgreSQL.
func redisOnly(pattern string) bool {
	for _, alt := range strings.Split(pattern, "|") {
		alt = strings.TrimPrefix(strings.TrimPrefix(alt, "^"), "Benchmark")
		if !strings.HasPrefix(alt, "Redis") {
			return false
		}
	}
	return true
}

// redisField reads one field of INFO section from addr.
func redisField(addr, section, field string) (string, error) {
	c := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 1, DisableIdentity: true})
	defer c.Close()
	info, err := c.Info(context.Background(), section).Result()
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO %s: no %s", section, field)
}

// redisCPU is the CPU time the servers at addrs have used so far (INFO
// cpu, user + system, microsecond resolution).
func redisCPU(addrs []string) (time.Duration, bool) {
	var sum time.Duration
	for _, a := range addrs {
		for _, f := range []string{"used_cpu_user", "used_cpu_sys"} {
			v, err := redisField(a, "cpu", f)
			if err != nil {
				return 0, false
			}
			s, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, false
			}
			sum += time.Duration(s * float64(time.Second))
		}
	}
	return sum, true
}

// hourglassStore opens redisstore on c and fills it with the benchmark's
// sessions.
func hourglassStore(ctx context.Context, c *rediscluster.Cluster) (*redisstore.Store, error) {
	s, err := redisstore.New(ctx, redisstore.Options{Addrs: c.Addrs(), Cluster: c.IsCluster(), Clock: clock.Real(), PoolSize: redisPool})
	if err != nil {
		return nil, err
	}
	if err := fillParallel(keys, func(k string) error { return s.Create(ctx, store.ID(k), payload, redisTTL) }); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// fillParallel runs create for every key, 16 at a time.
func fillParallel(ks []string, create func(k string) error) error {
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		first atomic.Pointer[error]
	)
	for range redisPool {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(ks)) || first.Load() != nil {
					return
				}
				if err := create(ks[i]); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

func splitAddr(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	return host, p, err
}

// redisImpls are the three stores of BenchmarkRedisStores, on one plain
// node, each with the same sessions under its own keys.
type redisImpls struct {
	list  []impl
	addrs []string
	hg    *redisstore.Store // for BenchmarkRedisClients's keys
}

var (
	storesOnce sync.Once
	storesVal  redisImpls
	storesErr  error
)

func redisStores(b *testing.B) redisImpls {
	storesOnce.Do(func() { storesVal, storesErr = setupRedisStores(context.Background()) })
	if storesErr != nil {
		b.Fatal(storesErr)
	}
	return storesVal
}

func setupRedisStores(ctx context.Context) (redisImpls, error) {
	if keys == nil {
		redisKeys()
	}
	c, err := redisServer("plain", 0)
	if err != nil {
		return redisImpls{}, err
	}
	addr := c.Addrs()[0]
	hg, err := hourglassStore(ctx, c)
	if err != nil {
		return redisImpls{}, fmt.Errorf("hourglass: %w", err)
	}

	// scs/redisstore: a redigo pool, sized like the others, and its own
	// key prefix ("scs:session:").
	rp := &redis.Pool{
		MaxIdle: redisPool, MaxActive: redisPool, Wait: true,
		Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
	}
	scs := scsredis.New(rp)
	if err := fillParallel(keys, func(k string) error { return scs.Commit(k, payload, time.Now().Add(redisTTL)) }); err != nil {
		return redisImpls{}, fmt.Errorf("scs: %w", err)
	}

	// gofiber/storage/redis: go-redis underneath; its keys are the IDs
	// themselves, which no other store uses.
	host, port, err := splitAddr(addr)
	if err != nil {
		return redisImpls{}, err
	}
	fiber := fiberredis.New(fiberredis.Config{Host: host, Port: port, PoolSize: redisPool})
	if err := fillParallel(keys, func(k string) error { return fiber.Set(k, payload, redisTTL) }); err != nil {
		return redisImpls{}, fmt.Errorf("fiber: %w", err)
	}

	list := []impl{
		{
			name: "hourglass",
			load: func(ctx context.Context, key string) error {
				rec, err := hg.Load(ctx, store.ID(key))
				if err == nil && len(rec.State) != payloadSize {
					err = fmt.Errorf("%d bytes of state, want %d", len(rec.State), payloadSize)
				}
				return err
			},
			update: func(ctx context.Context, key string) error {
				return hg.Update(ctx, store.ID(key), payload, redisTTL)
			},
			create: func(ctx context.Context, key string) error {
				return hg.Create(ctx, store.ID(key), payload, redisTTL)
			},
			delete: func(ctx context.Context, key string) error {
				return hg.Delete(ctx, store.ID(key))
			},
		},
		{
			name: "scs",
			load: func(_ context.Context, key string) error {
				st, found, err := scs.Find(key)
				if err == nil && (!found || len(st) != payloadSize) {
					err = fmt.Errorf("scs: found %v, %d bytes", found, len(st))
				}
				return err
			},
			// Commit upserts: what scs.SessionManager calls for a new or
			// modified session alike.
			update: func(_ context.Context, key string) error {
				return scs.Commit(key, payload, time.Now().Add(redisTTL))
			},
			create: func(_ context.Context, key string) error {
				return scs.Commit(key, payload, time.Now().Add(redisTTL))
			},
			delete: func(_ context.Context, key string) error { return scs.Delete(key) },
		},
		{
			name: "fiber",
			load: func(ctx context.Context, key string) error {
				st, err := fiber.GetWithContext(ctx, key)
				if err == nil && len(st) != payloadSize {
					err = fmt.Errorf("fiber: %d bytes", len(st))
				}
				return err
			},
			update: func(ctx context.Context, key string) error {
				return fiber.SetWithContext(ctx, key, payload, redisTTL)
			},
			create: func(ctx context.Context, key string) error {
				return fiber.SetWithContext(ctx, key, payload, redisTTL)
			},
			delete: func(ctx context.Context, key string) error { return fiber.DeleteWithContext(ctx, key) },
		},
	}
	reverseOnEvenRounds(list)
	return redisImpls{list: list, addrs: c.Addrs(), hg: hg}, nil
}

// redisKeys makes bench_test.go's keys and payload when TestMain skipped
// PostgreSQL's setup (a Redis-only run): the same seed, the same values.
func redisKeys() {
	rng := rand.New(rand.NewPCG(seed, seed))
	payload = make([]byte, payloadSize)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	keys = make([]string, sessions)
	for i := range keys {
		var b [32]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		keys[i] = base64.RawURLEncoding.EncodeToString(b[:])
	}
}

func reverseOnEvenRounds(list []impl) {
	if r, err := strconv.Atoi(os.Getenv("HOURGLASS_BENCH_ROUND")); err == nil && r%2 == 0 {
		slices.Reverse(list)
	}
}

func BenchmarkRedisStores(b *testing.B) {
	st := redisStores(b)
	ops := []struct {
		name string
		o    op
	}{
		{"Load", func(ctx context.Context, im impl, next func() string) error { return im.load(ctx, next()) }},
		{"Update", func(ctx context.Context, im impl, next func() string) error { return im.update(ctx, next()) }},
		// A session created under a fresh ID and deleted: two round trips.
		{"CreateDelete", func(ctx context.Context, im impl, _ func() string) error {
			key := freshKey()
			if err := im.create(ctx, key); err != nil {
				return fmt.Errorf("create: %w", err)
			}
			if err := im.delete(ctx, key); err != nil {
				return fmt.Errorf("delete: %w", err)
			}
			return nil
		}},
	}
	for _, o := range ops {
		b.Run("op="+o.name, func(b *testing.B) { runRedis(b, st.list, st.addrs, o.o, 1, clients) })
	}
}

// BenchmarkRedisChangeID moves one session along a ring of IDs on a
// 3-primary cluster, one client: IDs all in one hash slot (one script per
// move) against IDs in different slots (the four-step protocol over two
// primaries, or one, at random).
func BenchmarkRedisChangeID(b *testing.B) {
	ctx := context.Background()
	c, err := redisServer("cluster3", 3)
	if err != nil {
		b.Fatal(err)
	}
	s, err := redisstore.New(ctx, redisstore.Options{Addrs: c.Addrs(), Cluster: true, Clock: clock.Real(), PoolSize: redisPool, Prefix: "move"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(seed, 2))
	randomID := func() store.ID {
		var k [32]byte
		for j := range k {
			k[j] = byte(rng.Uint32())
		}
		return store.ID(base64.RawURLEncoding.EncodeToString(k[:]))
	}
	const ring = 16
	same := []store.ID{randomID()}
	slot := rediscluster.Slot(string(same[0]))
	for len(same) < ring {
		if id := randomID(); rediscluster.Slot(string(id)) == slot {
			same = append(same, id)
		}
	}
	across := []store.ID{randomID()}
	seen := map[int]bool{rediscluster.Slot(string(across[0])): true}
	for len(across) < ring {
		id := randomID()
		if sl := rediscluster.Slot(string(id)); !seen[sl] {
			seen[sl] = true
			across = append(across, id)
		}
	}
	mover := func(name string, ids []store.ID) impl {
		// One session per ring, created once: every run of the
		// sub-benchmark moves it on from where the last one left it.
		if err := s.Create(ctx, ids[0], payload, redisTTL); err != nil {
			b.Fatal(err)
		}
		var at int
		return impl{name: name, update: func(ctx context.Context, _ string) error {
			from, to := ids[at%len(ids)], ids[(at+1)%len(ids)]
			at++
			return s.ChangeID(ctx, from, to)
		}}
	}
	list := []impl{mover("sameslot", same), mover("crossslot", across)}
	reverseOnEvenRounds(list)
	// The movers keep their own ring of IDs: no session key is drawn (the
	// key list is filled only when a store benchmark runs).
	runRedis(b, list, c.Addrs(), func(ctx context.Context, im impl, _ func() string) error {
		return im.update(ctx, "")
	}, 1)
}

var (
	primariesOnce sync.Once
	primariesVal  []impl
	primariesCPU  map[string][]string
	primariesErr  error
)

// BenchmarkRedisPrimaries is hourglass at 16 clients, half Loads and half
// Updates, on clusters of 1, 2 and 3 primaries, all on this machine's two
// cores.
func BenchmarkRedisPrimaries(b *testing.B) {
	primariesOnce.Do(func() {
		if keys == nil {
			redisKeys()
		}
		ctx := context.Background()
		primariesCPU = map[string][]string{}
		for n := 1; n <= 3; n++ {
			c, err := redisServer("cluster"+strconv.Itoa(n), n)
			if err != nil {
				primariesErr = err
				return
			}
			s, err := hourglassStore(ctx, c)
			if err != nil {
				primariesErr = err
				return
			}
			var i atomic.Uint64
			name := "primaries=" + strconv.Itoa(n)
			primariesCPU[name] = c.Addrs()
			primariesVal = append(primariesVal, impl{name: name,
				load: func(ctx context.Context, key string) error {
					if i.Add(1)%2 == 0 {
						return s.Update(ctx, store.ID(key), payload, redisTTL)
					}
					_, err := s.Load(ctx, store.ID(key))
					return err
				}})
		}
		reverseOnEvenRounds(primariesVal)
	})
	if primariesErr != nil {
		b.Fatal(primariesErr)
	}
	b.Run("clients="+strconv.Itoa(clients), func(b *testing.B) {
		for _, im := range primariesVal {
			b.Run("impl="+im.name, func(b *testing.B) {
				measureRedis(b, im, primariesCPU[im.name], func(ctx context.Context, im impl, next func() string) error {
					return im.load(ctx, next())
				}, clients)
			})
		}
	})
}

// loadScript is a Load reduced to its Redis side: read the record, answer
// nothing unless it is live at the caller's instant (µs, ARGV[1]).
const loadScript = `
local r = redis.call('HMGET', KEYS[1], 's', 'e', 'v')
if not r[2] or tonumber(ARGV[1]) >= tonumber(r[2]) then return false end
return r`

// BenchmarkRedisClients runs the same Lua script over hourglass's sessions
// on the plain node through go-redis v9 (redis.Script.Run: EVALSHA, EVAL
// on NOSCRIPT) and rueidis (Lua.Exec, client-side cache off), each with
// its own connections.
func BenchmarkRedisClients(b *testing.B) {
	st := redisStores(b)
	addr := st.addrs[0]
	gr := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: redisPool, DisableIdentity: true})
	defer gr.Close()
	grScript := goredis.NewScript(loadScript)
	ru, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer ru.Close()
	ruScript := rueidis.NewLuaScript(loadScript)
	key := func(k string) string { return "hourglass:{" + k + "}" }
	now := func() string { return strconv.FormatInt(time.Now().UnixMicro(), 10) }
	check := func(state string) error {
		if len(state) != payloadSize {
			return fmt.Errorf("%d bytes of state, want %d", len(state), payloadSize)
		}
		return nil
	}
	list := []impl{
		{name: "goredis", load: func(ctx context.Context, k string) error {
			r, err := grScript.Run(ctx, gr, []string{key(k)}, now()).Slice()
			if err != nil {
				return err
			}
			s, _ := r[0].(string)
			return check(s)
		}},
		{name: "rueidis", load: func(ctx context.Context, k string) error {
			r, err := ruScript.Exec(ctx, ru, []string{key(k)}, []string{now()}).ToArray()
			if err != nil {
				return err
			}
			s, err := r[0].ToString()
			if err != nil {
				return err
			}
			return check(s)
		}},
	}
	reverseOnEvenRounds(list)
	runRedis(b, list, st.addrs, func(ctx context.Context, im impl, next func() string) error {
		return im.load(ctx, next())
	}, 1, clients)
}

// runRedis is run for Redis: sub-benchmarks clients=N/impl=NAME, the
// implementation innermost, for each client count given.
func runRedis(b *testing.B, list []impl, addrs []string, o op, counts ...int) {
	for _, n := range counts {
		b.Run("clients="+strconv.Itoa(n), func(b *testing.B) {
			for _, im := range list {
				b.Run("impl="+im.name, func(b *testing.B) { measureRedis(b, im, addrs, o, n) })
			}
		})
	}
}

// measureRedis is measure for Redis: no vacuum, the servers' CPU from INFO.
func measureRedis(b *testing.B, im impl, addrs []string, o op, n int) {
	ctx := context.Background()
	var seq atomic.Uint64
	next := func() string { return keys[(seq.Add(1)-1)%sessions] }
	b.ReportAllocs()
	client, clientOK := benchenv.ClientCPU()
	server, serverOK := redisCPU(addrs)
	b.ResetTimer()
	if n == 1 {
		for i := 0; i < b.N; i++ {
			if err := o(ctx, im, next); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((n + procs - 1) / procs)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := o(ctx, im, next); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	if c, ok := benchenv.ClientCPU(); ok && clientOK {
		b.ReportMetric(float64(c-client)/float64(b.N), "client-cpu-ns/op")
	}
	if s, ok := redisCPU(addrs); ok && serverOK {
		b.ReportMetric(float64(s-server)/float64(b.N), "server-cpu-ns/op")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// TestRedisMemory creates memCount sessions of 512 bytes in each store,
// each on a fresh plain node, and reports INFO memory's used_memory delta
// per session. Off unless HOURGLASS_BENCH_REDIS_MEM=1 (it takes ~20 s).
func TestRedisMemory(t *testing.T) {
	if os.Getenv("HOURGLASS_BENCH_REDIS_MEM") != "1" {
		t.Skip("HOURGLASS_BENCH_REDIS_MEM=1 to run")
	}
	if keys == nil {
		redisKeys()
	}
	ids := make([]string, memCount)
	for i := range ids {
		ids[i] = fmt.Sprintf("mem%040d", i) // 43 bytes, like store.NewID
	}
	ctx := context.Background()
	hourglass := func(addr string) (func(string) error, func()) {
		s, err := redisstore.New(ctx, redisstore.Options{Addrs: []string{addr}, PoolSize: redisPool})
		if err != nil {
			t.Fatal(err)
		}
		return func(k string) error { return s.Create(ctx, store.ID(k), payload, redisTTL) }, func() { s.Close() }
	}
	stores := []struct {
		name     string
		settings map[string]string
		open     func(addr string) (create func(k string) error, closer func())
	}{
		{"hourglass", nil, hourglass},
		// A 512-byte field is over the default hash-max-listpack-value
		// (64), which makes every session a hashtable; with a higher
		// limit it stays a compact listpack.
		{"hourglass, hash-max-listpack-value 1024", map[string]string{"hash-max-listpack-value": "1024"}, hourglass},
		{"scs", nil, func(addr string) (func(string) error, func()) {
			rp := &redis.Pool{MaxIdle: redisPool, MaxActive: redisPool, Wait: true,
				Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
			s := scsredis.New(rp)
			return func(k string) error { return s.Commit(k, payload, time.Now().Add(redisTTL)) }, func() { rp.Close() }
		}},
		{"fiber", nil, func(addr string) (func(string) error, func()) {
			host, port, err := splitAddr(addr)
			if err != nil {
				t.Fatal(err)
			}
			s := fiberredis.New(fiberredis.Config{Host: host, Port: port, PoolSize: redisPool})
			return func(k string) error { return s.Set(k, payload, redisTTL) }, func() { s.Close() }
		}},
	}
	for _, st := range stores {
		c, err := rediscluster.Start(ctx, rediscluster.Options{Primaries: 1, AppendFsync: redisFsync, Settings: st.settings})
		if err != nil {
			t.Fatal(err)
		}
		addr := c.Addrs()[0]
		create, closer := st.open(addr)
		used := func() int64 {
			v, err := redisField(addr, "memory", "used_memory")
			if err != nil {
				t.Fatal(err)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := used()
		if err := fillParallel(ids, create); err != nil {
			t.Fatal(err)
		}
		after := used()
		closer()
		_ = c.Stop()
		t.Logf("%s: used_memory %d -> %d bytes: %.0f bytes per session of %d bytes", st.name, before, after, float64(after-before)/memCount, payloadSize)
	}
}

package rediscluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startOrSkip starts nodes, skipping when the machine has no redis-server
// unless HOURGLASS_REQUIRE_REDIS=1 (as in CI) makes that a failure.
func startOrSkip(t *testing.T, opts Options) *Cluster {
	t.Helper()
	start := time.Now()
	c, err := Start(context.Background(), opts)
	if errors.Is(err, ErrNoBinary) && os.Getenv("HOURGLASS_REQUIRE_REDIS") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes up in %v", len(c.Nodes()), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func clusterClient(t *testing.T, c *Cluster) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// The crash test the store's fault injection relies on: with appendfsync
// always, every write acknowledged before a primary is killed is there
// after it restarts, on the same address, and the cluster serves every
// slot again.
func TestClusterSurvivesKill(t *testing.T) {
	ctx := context.Background()
	c := startOrSkip(t, Options{})
	addrs := c.Addrs()
	if len(addrs) != 3 || len(c.Nodes()) != 3 {
		t.Fatalf("Addrs %v, Nodes %v: want 3 primaries", addrs, c.Nodes())
	}
	cc := clusterClient(t, c)
	const keys = 300
	onVictim := 0
	victim := 1
	for i := range keys {
		k := "k" + strconv.Itoa(i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if c.PrimaryFor(k) == victim {
			onVictim++
		}
	}
	if onVictim == 0 {
		t.Fatalf("no key on node %d", victim)
	}
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	if c.Nodes()[victim].Up {
		t.Error("node reported up after Kill")
	}
	if err := c.Kill(victim); err == nil {
		t.Error("second Kill of a dead node succeeded")
	}
	if err := c.Restart(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if got := c.Addrs(); !slices.Equal(got, addrs) {
		t.Errorf("Addrs changed across restart: %v then %v", addrs, got)
	}
	cc2 := clusterClient(t, c)
	for i := range keys {
		k := "k" + strconv.Itoa(i)
		got, err := cc2.Get(ctx, k).Int()
		if err != nil || got != i {
			t.Fatalf("%s after kill and restart of node %d: %d, %v", k, victim, got, err)
		}
	}
	// A clean restart of a running node works as well.
	if err := c.Restart(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := cc2.Set(ctx, "after", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// Failover promotes the replica, the keys it had received are still there,
// and the old primary comes back as its replica.
func TestFailover(t *testing.T) {
	ctx := context.Background()
	c := startOrSkip(t, Options{Primaries: 2, Replicas: 1})
	nodes := c.Nodes()
	if len(nodes) != 4 || nodes[2].ReplicaOf != 0 || nodes[3].ReplicaOf != 1 || !nodes[0].Primary || nodes[2].Primary {
		t.Fatalf("layout: %+v", nodes)
	}
	cc := clusterClient(t, c)
	for i := range 100 {
		if err := cc.Set(ctx, "f"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Every primary's replica has what it acknowledged.
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.Do(ctx, "WAIT", 1, 5000).Int()
		if err == nil && n != 1 {
			err = fmt.Errorf("WAIT: %d replicas", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Failover(ctx, 2); err == nil {
		t.Error("Failover of a replica succeeded")
	}
	got, err := c.Failover(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Fatalf("new primary %d, want 2", got)
	}
	nodes = c.Nodes()
	if !nodes[2].Primary || nodes[0].Primary || nodes[0].ReplicaOf != 2 || !nodes[0].Up {
		t.Fatalf("after failover: %+v", nodes)
	}
	want := []string{nodes[1].Addr, nodes[2].Addr}
	slices.Sort(want)
	if a := c.Addrs(); !slices.Equal(a, want) {
		t.Errorf("Addrs %v, want %v", a, want)
	}
	cc2 := clusterClient(t, c)
	for i := range 100 {
		k := "f" + strconv.Itoa(i)
		if v, err := cc2.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("%s after failover: %d, %v", k, v, err)
		}
	}
	// Back again: the old primary is now the replica that takes over.
	if got, err := c.Failover(ctx, 2); err != nil || got != 0 {
		t.Fatalf("failing back: %d, %v", got, err)
	}
	if n := c.Nodes(); !n[0].Primary || n[2].ReplicaOf != 0 {
		t.Errorf("after failing back: %+v", n)
	}
	if _, err := c.Failover(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Without a replica there is nothing to promote.
	if err := c.Kill(1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Failover(ctx, 3); !errors.Is(err, ErrNoReplica) {
		t.Errorf("Failover without a running replica: %v, want ErrNoReplica", err)
	}
}

func TestSingleNode(t *testing.T) {
	ctx := context.Background()
	c := startOrSkip(t, Options{Primaries: 1, AppendFsync: "everysec"})
	if c.IsCluster() || len(c.Addrs()) != 1 {
		t.Fatalf("IsCluster %v, Addrs %v", c.IsCluster(), c.Addrs())
	}
	rc := redis.NewClient(&redis.Options{Addr: c.Addrs()[0], Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	info, err := rc.Info(ctx, "cluster").Result()
	if err != nil || !strings.Contains(info, "cluster_enabled:0") {
		t.Fatalf("INFO cluster: %q, %v", info, err)
	}
	if v, err := rc.ConfigGet(ctx, "appendfsync").Result(); err != nil || v["appendfsync"] != "everysec" {
		t.Errorf("appendfsync %v, %v", v, err)
	}
	if err := rc.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if c.PrimaryFor("anything") != 0 {
		t.Error("PrimaryFor of a single node is not 0")
	}
	if err := c.Kill(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := rc.Get(ctx, "a").Result(); err != nil || v != "1" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
}

// A plain primary with a replica fails over with REPLICAOF.
func TestSingleNodeFailover(t *testing.T) {
	ctx := context.Background()
	c := startOrSkip(t, Options{Primaries: 1, Replicas: 1})
	rc := redis.NewClient(&redis.Options{Addr: c.Addrs()[0], Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	if err := rc.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT: %d, %v", n, err)
	}
	got, err := c.Failover(ctx, 0)
	if err != nil || got != 1 {
		t.Fatalf("Failover: %d, %v", got, err)
	}
	nc := redis.NewClient(&redis.Options{Addr: c.Addrs()[0], Protocol: 2, DisableIdentity: true})
	defer nc.Close()
	if c.Addrs()[0] != c.Nodes()[1].Addr {
		t.Fatalf("Addrs %v after failover to node 1", c.Addrs())
	}
	if v, err := nc.Get(ctx, "a").Result(); err != nil || v != "1" {
		t.Fatalf("on the new primary: %q, %v", v, err)
	}
	if err := nc.Set(ctx, "b", "2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := nc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("the old primary does not replicate the new one: WAIT %d, %v", n, err)
	}
}

// Stop kills every process and removes the directory; nothing answers on
// the old addresses.
func TestStopLeavesNoProcess(t *testing.T) {
	c := startOrSkip(t, Options{Primaries: 1, Cluster: true, Replicas: 1})
	c.mu.Lock()
	var pids []int
	for _, n := range c.nodes {
		pids = append(pids, n.srv.cmd.Process.Pid)
	}
	c.mu.Unlock()
	dir := c.Dir()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for _, pid := range pids {
		if processAlive(pid) {
			t.Errorf("pid %d still alive after Stop", pid)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Stop (%v)", dir, err)
	}
	if err := c.Restart(context.Background(), 0); err == nil {
		t.Error("Restart after Stop succeeded")
	}
}

// A directory given in Options is used and kept, and the log is where
// LogPath says.
func TestOwnDirKeptAndLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "redis")
	c := startOrSkip(t, Options{Primaries: 1, Dir: dir})
	log, err := os.ReadFile(c.LogPath(0))
	if err != nil || !strings.Contains(string(log), "Ready to accept connections") {
		t.Errorf("log %s: %v\n%s", c.LogPath(0), err, log)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node-0", "redis.conf")); err != nil {
		t.Errorf("given Dir not kept: %v", err)
	}
	if _, err := Start(context.Background(), Options{Primaries: 1, Dir: dir}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Start in a used Dir: %v", err)
	}
}

func TestSlotMatchesRedis(t *testing.T) {
	for key, want := range map[string]int{"foo": 12182, "bar": 5061, "{user1000}.following": Slot("user1000"), "a{}b": Slot("a{}b"), "": 0} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
	c := startOrSkip(t, Options{Primaries: 1, Cluster: true})
	rc := redis.NewClient(&redis.Options{Addr: c.Addrs()[0], Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	for _, k := range []string{"foo", "x{tag}y", "{}z", "{a}{b}", "héllo", "k:123:{s}"} {
		want, err := rc.ClusterKeySlot(context.Background(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := Slot(k); got != int(want) {
			t.Errorf("Slot(%q) = %d, CLUSTER KEYSLOT says %d", k, got, want)
		}
		if c.PrimaryFor(k) != 0 {
			t.Errorf("PrimaryFor(%q) in a one-primary cluster = %d", k, c.PrimaryFor(k))
		}
	}
}

func TestNoBinary(t *testing.T) {
	empty := t.TempDir()
	t.Setenv(EnvBinDir, empty)
	_, err := FindBinary()
	if !errors.Is(err, ErrNoBinary) || !strings.Contains(err.Error(), EnvBinDir) {
		t.Errorf("FindBinary with %s empty: %v", EnvBinDir, err)
	}
	if _, err := Start(context.Background(), Options{}); !errors.Is(err, ErrNoBinary) {
		t.Errorf("Start: %v, want ErrNoBinary", err)
	}
	if _, err := Start(context.Background(), Options{Binary: filepath.Join(empty, "redis-server")}); !errors.Is(err, ErrNoBinary) {
		t.Errorf("Start with a missing Binary: %v, want ErrNoBinary", err)
	}
}

func TestRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{Primaries: -1},
		{Primaries: 1000},
		{Replicas: 9},
		{AppendFsync: "sometimes"},
		{Settings: map[string]string{"port": "6379"}},
		{Settings: map[string]string{"bad name": "1"}},
		{Settings: map[string]string{"maxmemory": "1mb\nport 6379"}},
	} {
		if _, err := Start(context.Background(), opts); err == nil || errors.Is(err, ErrNoBinary) {
			t.Errorf("Start(%+v) = %v, want an options error", opts, err)
		}
	}
}

func TestDirectiveQuoting(t *testing.T) {
	for in, want := range map[string]string{"": `x ""` + "\n", "a b": `x "a b"` + "\n", `q"\`: `x "q\"\\"` + "\n", "yes": "x yes\n"} {
		if got, err := directive("x", in); err != nil || got != want {
			t.Errorf("directive(x, %q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestReapStaleKeepsLiveOwners(t *testing.T) {
	parent := t.TempDir()
	mk := func(owner string) string {
		dir, err := os.MkdirTemp(parent, dirPrefix+"*")
		if err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(owner+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	mine := mk(strconv.Itoa(os.Getpid()))
	dead := mk("2147483646") // above any pid_max
	young := mk("")
	serving := mk("2147483646")
	if err := os.MkdirAll(filepath.Join(serving, "node-0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(serving, "node-0", "redis.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reapStale(parent)
	for dir, wantKept := range map[string]bool{mine: true, dead: false, young: true, serving: true} {
		_, err := os.Stat(dir)
		if kept := err == nil; kept != wantKept {
			t.Errorf("%s: kept = %v, want %v", filepath.Base(dir), kept, wantKept)
		}
	}
}

// A test binary that dies without Stop takes its nodes with it (the
// parent-death signal, on Linux), and the next Start removes the directory
// it left. The child is this binary, run again.
func TestNodesDieWithTheirOwner(t *testing.T) {
	if os.Getenv("REDISCLUSTER_ORPHAN") == "1" {
		c, err := Start(context.Background(), Options{Primaries: 1})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		c.mu.Lock()
		fmt.Printf("pid %d dir %s\n", c.nodes[0].srv.cmd.Process.Pid, c.dir)
		os.Exit(0) // no Stop
	}
	if runtime.GOOS != "linux" {
		t.Skip("only Linux has a parent-death signal")
	}
	if _, err := FindBinary(); err != nil && os.Getenv("HOURGLASS_REQUIRE_REDIS") != "1" {
		t.Skip(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNodesDieWithTheirOwner$")
	cmd.Env = append(os.Environ(), "REDISCLUSTER_ORPHAN=1")
	out, err := cmd.Output()
	var pid int
	var dir string
	if _, serr := fmt.Sscanf(string(out), "pid %d dir %s\n", &pid, &dir); err != nil || serr != nil {
		t.Fatalf("child: %v, %v:\n%s", err, serr, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
			t.Fatalf("redis-server %d outlived its owner by 10s", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	reapStale(filepath.Dir(dir))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		_ = os.RemoveAll(dir)
		t.Errorf("the dead owner's %s was not reaped (%v)", dir, err)
	}
}

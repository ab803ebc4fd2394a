package redistest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hourglass-go/hourglass/internal/rediscluster"
	"github.com/hourglass-go/hourglass/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// Tests sharing the cluster write the same key names under their own
// prefixes and see only their own values; the keys spread over every
// primary.
func TestClusterServes(t *testing.T) {
	for _, name := range []string{"a", "b", "c"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := redistest.Cluster(t)
			if !s.Cluster || len(s.Addrs) == 0 {
				t.Fatalf("server %+v", s)
			}
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: s.Addrs, Protocol: 2, DisableIdentity: true})
			defer c.Close()
			prefix := redistest.Prefix(t)
			for i := range 50 {
				if err := c.Set(ctx, prefix+":k"+strconv.Itoa(i), name, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 50 {
				if got, err := c.Get(ctx, prefix+":k"+strconv.Itoa(i)).Result(); err != nil || got != name {
					t.Fatalf("k%d = %q, %v; want this test's own %q", i, got, err, name)
				}
			}
			if s.Ctl != nil {
				primaries := map[int]bool{}
				for i := range 50 {
					primaries[s.Ctl.PrimaryFor(prefix+":k"+strconv.Itoa(i))] = true
				}
				if len(primaries) != 3 {
					t.Errorf("keys landed on primaries %v, want all three", primaries)
				}
			}
			t.Logf("server: %s", s.Source)
		})
	}
}

func TestSingleServes(t *testing.T) {
	ctx := context.Background()
	s := redistest.Single(t)
	if s.Cluster || len(s.Addrs) != 1 {
		t.Fatalf("server %+v", s)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addrs[0], Protocol: 2, DisableIdentity: true})
	defer c.Close()
	info, err := c.Info(ctx, "cluster").Result()
	if err != nil || !strings.Contains(info, "cluster_enabled:0") {
		t.Fatalf("INFO cluster: %q, %v", info, err)
	}
	k := redistest.Prefix(t) + ":x"
	if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, k).Result(); err != nil || got != "v" {
		t.Fatalf("%q, %v", got, err)
	}
	t.Logf("server: %s", s.Source)
}

var prefixShape = regexp.MustCompile(`^t[A-Za-z0-9_\-:.]*-[0-9a-f]{12}$`)

func TestPrefix(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range []string{"plain", "with space/and {braces} and ünïcode", strings.Repeat("long", 40)} {
		t.Run(name, func(t *testing.T) {
			for range 3 {
				p := redistest.Prefix(t)
				if !prefixShape.MatchString(p) || len(p) > 64 {
					t.Errorf("Prefix = %q (%d bytes)", p, len(p))
				}
				if seen[p] {
					t.Errorf("Prefix %q given twice", p)
				}
				seen[p] = true
			}
		})
	}
	if p := redistest.Prefix(t); !strings.HasPrefix(p, "tTestPrefix-") {
		t.Errorf("Prefix %q does not name the test", p)
	}
}

// NewCluster gives a test nodes of its own to crash.
func TestNewCluster(t *testing.T) {
	c := redistest.NewCluster(t, rediscluster.Options{Primaries: 1})
	if err := c.Kill(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

// runChild runs this test binary again, on tests matching pattern, with
// the environment variables of this package removed and env added.
func runChild(pattern string, env ...string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1")
	cmd.Env = append(withoutEnv(redistest.EnvAddrs, redistest.EnvSingle, redistest.EnvRequire, rediscluster.EnvBinDir),
		append([]string{"REDISTEST_CHILD=1"}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The lookup order's last step, checked end to end: this test binary runs
// itself with no way to get a server (no addresses, no redis-server, no
// Docker). By default the Redis tests are skipped; with
// HOURGLASS_REQUIRE_REDIS=1 they fail, so CI cannot go green by testing
// nothing.
func TestMissingServerSkipsUnlessRequired(t *testing.T) {
	if os.Getenv("REDISTEST_CHILD") == "1" {
		t.Skip("already the child")
	}
	env := []string{rediscluster.EnvBinDir + "=" + t.TempDir(), "DOCKER_HOST=unix:///nonexistent/docker.sock"}
	const tests = "^(TestClusterServes|TestSingleServes|TestNewCluster)$"
	out, err := runChild(tests, env...)
	skipped := strings.Contains(out, "--- SKIP: TestClusterServes/a") && strings.Contains(out, "--- SKIP: TestSingleServes") && strings.Contains(out, "--- SKIP: TestNewCluster")
	if err != nil || !skipped || !strings.Contains(out, redistest.EnvAddrs) || !strings.Contains(out, redistest.EnvSingle) {
		t.Errorf("without a server and not required: want skips that say how to provide one, got %v:\n%s", err, out)
	}
	out, err = runChild(tests, append(env, redistest.EnvRequire+"=1")...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || strings.Count(out, "--- FAIL") != 6 || !strings.Contains(out, "no Redis Cluster") || !strings.Contains(out, "no plain Redis node") || strings.Contains(out, "--- SKIP") {
		t.Errorf("without a server and required: want failures, got %v:\n%s", err, out)
	}
}

// Servers named in the environment are used as they are, and one that
// cannot be used fails the tests rather than skipping them.
func TestExternalServers(t *testing.T) {
	if os.Getenv("REDISTEST_CHILD") == "1" {
		t.Skip("already the child")
	}
	cl, single := redistest.Cluster(t), redistest.Single(t)
	out, err := runChild("^(TestClusterServes|TestSingleServes|TestExternalSource)$",
		redistest.EnvAddrs+"="+strings.Join(cl.Addrs, ","), redistest.EnvSingle+"="+single.Addrs[0],
		rediscluster.EnvBinDir+"="+t.TempDir())
	if err != nil || strings.Contains(out, "--- SKIP") || !strings.Contains(out, "server: "+redistest.EnvAddrs) || !strings.Contains(out, "server: "+redistest.EnvSingle) {
		t.Errorf("with servers named: want them used, got %v:\n%s", err, out)
	}

	out, err = runChild("^(TestClusterServes|TestSingleServes)$",
		redistest.EnvAddrs+"=127.0.0.1:1", redistest.EnvSingle+"="+cl.Addrs[0])
	if err == nil || strings.Count(out, "--- FAIL") != 5 ||
		!strings.Contains(out, redistest.EnvAddrs+" is set but") || !strings.Contains(out, "is in cluster mode") {
		t.Errorf("with unusable servers named: want failures naming them, got %v:\n%s", err, out)
	}
}

// Run only as the child of TestExternalServers: servers from the
// environment are not controlled by this binary.
func TestExternalSource(t *testing.T) {
	if os.Getenv("REDISTEST_CHILD") != "1" {
		t.Skip("only as a child")
	}
	if s := redistest.Cluster(t); s.Ctl != nil {
		t.Errorf("Ctl set for an external cluster")
	}
	if s := redistest.Single(t); s.Ctl != nil {
		t.Errorf("Ctl set for an external node")
	}
}

func withoutEnv(names ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return env
}

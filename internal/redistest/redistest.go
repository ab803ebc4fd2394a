// Package redistest gives tests a real Redis, a cluster of three primaries
// or a plain single node, and, per test, a fresh key prefix, so that Redis
// tests run everywhere without setup and in parallel without seeing each
// other's keys.
//
// Each kind of server is found once per test binary, on first use, in this
// order:
//
//  1. An existing server: HOURGLASS_TEST_REDIS_ADDRS, comma-separated seed
//     addresses of a Redis Cluster, for Cluster; HOURGLASS_TEST_REDIS_SINGLE,
//     the address of a node not in cluster mode, for Single. If it is set
//     but the server cannot be used, the tests fail: the developer asked
//     for that server.
//  2. Throwaway nodes started from the redis-server installed on the
//     machine (package internal/rediscluster; HOURGLASS_REDIS_BINDIR picks
//     the directory), stopped when the binary exits.
//  3. A container of redis:7.0 run by testcontainers-go, when a Docker
//     engine answers. For Cluster that is one node in cluster mode serving
//     all 16384 slots, announcing the address the container's port is
//     mapped to: a real cluster to the client (MOVED, CLUSTER SLOTS,
//     cluster-mode command restrictions), but with a single shard nothing
//     ever moves between nodes, so cross-slot mistakes that a real cluster
//     reports as CROSSSLOT are still reported, while those that would only
//     show once keys land on different primaries are not.
//  4. Nothing: the tests that need a server are skipped with a message
//     saying how to provide one, unless HOURGLASS_REQUIRE_REDIS=1 (CI sets
//     it), which turns the skip into a failure so that a machine without
//     Redis cannot pass by running nothing.
//
// Use it from TestMain so that the servers are stopped when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
//
// The shared servers are shared by every test of the binary (and, with the
// environment variables, by every package): a test writes only keys under
// its own Prefix, and never kills, restarts or reconfigures them. A test
// that injects faults into the nodes themselves starts nodes of its own
// with NewCluster.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hourglass-go/hourglass/internal/rediscluster"
)

// Environment variables read by this package.
const (
	// EnvAddrs names the seed addresses of an existing Redis Cluster to use
	// instead of starting one, separated by commas.
	EnvAddrs = "HOURGLASS_TEST_REDIS_ADDRS"
	// EnvSingle names the address of an existing Redis node, not in cluster
	// mode, to use instead of starting one.
	EnvSingle = "HOURGLASS_TEST_REDIS_SINGLE"
	// EnvRequire, set to 1, makes a missing server fail the tests that need
	// one instead of skipping them.
	EnvRequire = "HOURGLASS_REQUIRE_REDIS"
)

// Server is a Redis the tests may use.
type Server struct {
	// Addrs are the addresses to give a client: the primaries of a
	// cluster (seeds enough to discover it), or the one plain node.
	Addrs []string
	// Cluster reports whether the server is a Redis Cluster.
	Cluster bool
	// Ctl controls the throwaway nodes this binary started; nil for a
	// server it did not start from redis-server. Shared servers must not
	// be killed or restarted through it (see NewCluster).
	Ctl *rediscluster.Cluster
	// Source says where the server came from, for messages.
	Source string

	stop func() error // nil for a server we did not start
}

// shared is one kind of server, found at most once per binary.
type shared struct {
	once     sync.Once
	srv      *Server
	err      error
	explicit bool // the error concerns a server the developer named
	find     func(context.Context, *shared) (*Server, error)
}

var (
	clusterSrv = &shared{find: findCluster}
	singleSrv  = &shared{find: findSingle}
)

// Main runs the tests and then stops the servers this binary started.
// Call it from TestMain: os.Exit(redistest.Main(m)).
//
// m is a *testing.M, or anything that runs the tests: another server's
// Main, so that one test binary can use both servers.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	for _, s := range []*shared{clusterSrv, singleSrv} {
		if s.srv != nil && s.srv.stop != nil {
			if err := s.srv.stop(); err != nil {
				fmt.Fprintln(os.Stderr, "redistest:", err)
			}
		}
	}
	return code
}

// Cluster returns the binary's Redis Cluster (three primaries when it is
// started here), starting it on first use, or ends the test: a failure
// when a server was required or named, a skip otherwise.
func Cluster(t testing.TB) *Server {
	t.Helper()
	return clusterSrv.get(t)
}

// Single returns the binary's plain Redis node (not in cluster mode),
// starting it on first use, or ends the test as Cluster does.
func Single(t testing.TB) *Server {
	t.Helper()
	return singleSrv.get(t)
}

func (s *shared) get(t testing.TB) *Server {
	t.Helper()
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s.srv, s.err = s.find(ctx, s)
	})
	if s.err != nil {
		if s.explicit || os.Getenv(EnvRequire) == "1" {
			t.Fatalf("redistest: %v", s.err)
		}
		t.Skipf("redistest: %v", s.err)
	}
	return s.srv
}

func findCluster(ctx context.Context, s *shared) (*Server, error) {
	if v := os.Getenv(EnvAddrs); v != "" {
		addrs := splitAddrs(v)
		if err := checkCluster(ctx, addrs); err != nil {
			s.explicit = true
			return nil, fmt.Errorf("%s is set but the cluster cannot be used: %w", EnvAddrs, err)
		}
		return &Server{Addrs: addrs, Cluster: true, Source: EnvAddrs + "=" + v}, nil
	}
	return startLocal(ctx, true, EnvAddrs)
}

func findSingle(ctx context.Context, s *shared) (*Server, error) {
	if v := os.Getenv(EnvSingle); v != "" {
		if err := checkSingle(ctx, v); err != nil {
			s.explicit = true
			return nil, fmt.Errorf("%s is set but the server cannot be used: %w", EnvSingle, err)
		}
		return &Server{Addrs: []string{v}, Source: EnvSingle + "=" + v}, nil
	}
	return startLocal(ctx, false, EnvSingle)
}

// startLocal starts throwaway nodes, or a container, or says why neither
// could be had and how to provide a server.
func startLocal(ctx context.Context, cluster bool, env string) (*Server, error) {
	opts := rediscluster.Options{Primaries: 1}
	if cluster {
		opts.Primaries = 3
	}
	c, localErr := rediscluster.Start(ctx, opts)
	if localErr == nil {
		return &Server{Addrs: c.Addrs(), Cluster: cluster, Ctl: c, Source: "throwaway nodes in " + c.Dir(), stop: c.Stop}, nil
	}
	s, dockerErr := startContainer(ctx, cluster)
	if dockerErr == nil {
		return s, nil
	}
	what := "Redis Cluster"
	if !cluster {
		what = "plain Redis node"
	}
	return nil, fmt.Errorf("no %s for the tests:\n  %s is not set;\n  local redis-server: %v;\n  docker: %v.\n"+
		"Set %s to the address of one, install redis-server (e.g. apt-get install redis-server), or start Docker. "+
		"%s=1 makes this a failure instead of a skip",
		what, env, localErr, dockerErr, env, EnvRequire)
}

func splitAddrs(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// checkCluster checks that some seed answers and reports a healthy cluster.
func checkCluster(ctx context.Context, addrs []string) error {
	if len(addrs) == 0 {
		return errors.New("no address")
	}
	var errs []error
	for _, a := range addrs {
		info, err := clusterInfo(ctx, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !strings.Contains(info, "cluster_state:ok") {
			errs = append(errs, fmt.Errorf("%s: cluster_state is not ok", a))
			continue
		}
		return nil
	}
	return errors.Join(errs...)
}

func clusterInfo(ctx context.Context, addr string) (string, error) {
	c := dial(addr)
	defer c.Close()
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return "", fmt.Errorf("%s: CLUSTER INFO: %w", addr, err)
	}
	return info, nil
}

// checkSingle checks that the node answers and is not in cluster mode, which
// a client for a plain node would trip over at the first MOVED.
func checkSingle(ctx context.Context, addr string) error {
	c := dial(addr)
	defer c.Close()
	info, err := c.Info(ctx, "cluster").Result()
	if err != nil {
		return fmt.Errorf("%s: INFO: %w", addr, err)
	}
	if strings.Contains(info, "cluster_enabled:1") {
		return fmt.Errorf("%s is in cluster mode; name it in %s instead", addr, EnvAddrs)
	}
	return nil
}

func dial(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:            addr,
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     5 * time.Second,
		MaxRetries:      1,
	})
}

// NewCluster starts throwaway nodes of t's own, for a test that kills,
// restarts or fails them over, and stops them when t ends. Without a
// redis-server it ends the test as Cluster does (it never uses a
// container or the servers of the environment variables).
func NewCluster(t testing.TB, opts rediscluster.Options) *rediscluster.Cluster {
	t.Helper()
	c, err := rediscluster.Start(context.Background(), opts)
	if errors.Is(err, rediscluster.ErrNoBinary) && os.Getenv(EnvRequire) != "1" {
		t.Skipf("redistest: %v", err)
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("redistest: %v", err)
		}
	})
	return c
}

// Prefix returns a key prefix of t's own: "t", the test's name reduced to
// letters, digits, '_', '-', ':' and '.', then '-' and random hex, at most
// 64 bytes in all. It has no hash-tag braces, so keys under it spread over
// the cluster as the code under test makes them, and no separator at the
// end: the caller adds its own. Tests sharing a server never collide,
// across processes too; the keys are left behind, for the server to drop
// when it goes (or their TTL, on a server of the environment variables).
func Prefix(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t")
	for _, r := range t.Name() {
		if b.Len() >= 50 {
			break
		}
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		case r == '/':
			b.WriteByte(':')
		default:
			b.WriteByte('_')
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	b.WriteByte('-')
	b.WriteString(hex.EncodeToString(rnd[:]))
	return b.String()
}

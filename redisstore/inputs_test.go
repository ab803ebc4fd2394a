package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/redistest"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/store"
)

func TestOptionsRejected(t *testing.T) {
	ctx := context.Background()
	for name, o := range map[string]redisstore.Options{
		"no address":     {},
		"bad address":    {Addrs: []string{"nohost"}},
		"brace prefix":   {Addrs: []string{"127.0.0.1:1"}, Prefix: "a{b}"},
		"glob prefix":    {Addrs: []string{"127.0.0.1:1"}, Prefix: "a*"},
		"long prefix":    {Addrs: []string{"127.0.0.1:1"}, Prefix: string(make([]byte, 65))},
		"tiny margin":    {Addrs: []string{"127.0.0.1:1"}, Margin: time.Millisecond},
		"negative wait":  {Addrs: []string{"127.0.0.1:1"}, WaitReplicas: -1},
		"negative fence": {Addrs: []string{"127.0.0.1:1"}, FenceTimeout: -1},
	} {
		if _, err := redisstore.New(ctx, o); !errors.Is(err, redisstore.ErrInvalidOptions) {
			t.Errorf("%s: got %v, want ErrInvalidOptions", name, err)
		}
	}
}

// No reachable node: New fails, and within the context's deadline.
func TestUnreachable(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		began := time.Now()
		_, err := redisstore.New(ctx, redisstore.Options{Addrs: []string{"127.0.0.1:1"}, Cluster: cluster})
		cancel()
		if err == nil {
			t.Fatalf("cluster=%v: New succeeded with nothing listening", cluster)
		}
		if d := time.Since(began); d > 3*time.Second {
			t.Fatalf("cluster=%v: New took %v, past its 2s deadline", cluster, d)
		}
	}
}

// A plain node when a cluster was asked for, and a cluster node when a
// plain one was, are refused at New.
func TestClusterModeMismatch(t *testing.T) {
	ctx := context.Background()
	single, cluster := redistest.Single(t), redistest.Cluster(t)
	if _, err := redisstore.New(ctx, redisstore.Options{Addrs: single.Addrs, Cluster: true}); !errors.Is(err, redisstore.ErrNotCluster) {
		t.Errorf("plain node as a cluster: got %v, want ErrNotCluster", err)
	}
	if _, err := redisstore.New(ctx, redisstore.Options{Addrs: cluster.Addrs[:1], Cluster: false}); !errors.Is(err, redisstore.ErrNotCluster) {
		t.Errorf("cluster node as a plain one: got %v, want ErrNotCluster", err)
	}
}

// Two stores with different prefixes on one cluster, one prefix the start
// of the other's, never see each other's sessions, nor sweep them.
func TestPrefixesIsolate(t *testing.T) {
	srv := redistest.Cluster(t)
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := redistest.Prefix(t)
	a, err := redisstore.New(ctx, redisstore.Options{Addrs: srv.Addrs, Cluster: true, Clock: clk, Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := a.WithPrefix(p + ":b")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, "s", []byte("a"), time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, "s"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b sees a's session: %v", err)
	}
	if err := b.Create(ctx, "s", []byte("b"), time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if n, err := a.DeleteExpired(ctx, 0); err != nil || n != 1 {
		t.Fatalf("a swept %d, %v; want its own 1", n, err)
	}
	if r, err := b.Load(ctx, "s"); err != nil || string(r.State) != "b" {
		t.Fatalf("b's session after a's sweep: %+v, %v", r, err)
	}
	if _, err := a.WithPrefix("x}"); !errors.Is(err, redisstore.ErrInvalidOptions) {
		t.Fatalf("WithPrefix accepted a brace: %v", err)
	}
}

// Bad input is refused before anything reaches the server, and changes
// nothing.
func TestBadInputChangesNothing(t *testing.T) {
	srv := redistest.Single(t)
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := redisstore.New(ctx, redisstore.Options{Addrs: srv.Addrs, Clock: clk, Prefix: redistest.Prefix(t), Limits: store.Limits{MaxStateSize: 8}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Create(ctx, "ok", []byte("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{
		"bad id":      s.Create(ctx, "a b", nil, time.Hour),
		"bad ttl":     s.Update(ctx, "ok", []byte("y"), -time.Second),
		"too large":   s.Update(ctx, "ok", make([]byte, 9), time.Hour),
		"bad target":  s.ChangeID(ctx, "ok", "no/slash"),
		"version 0":   func() error { _, err := s.UpdateIf(ctx, "ok", 0, nil, time.Hour); return err }(),
		"neg limit":   func() error { _, err := s.DeleteExpired(ctx, -1); return err }(),
		"neg touch":   func() error { _, err := s.Touch(ctx, "ok", time.Hour, -1); return err }(),
		"keep in ttl": s.UpdateTTL(ctx, "ok", store.KeepTTL),
	}
	want := map[string]error{"bad id": store.ErrInvalidID, "bad ttl": store.ErrInvalidTTL, "too large": store.ErrTooLarge,
		"bad target": store.ErrInvalidID, "version 0": store.ErrInvalidVersion, "neg limit": store.ErrInvalidLimit,
		"neg touch": store.ErrInvalidTTL, "keep in ttl": store.ErrInvalidTTL}
	for name, err := range checks {
		if !errors.Is(err, want[name]) {
			t.Errorf("%s: got %v, want %v", name, err, want[name])
		}
	}
	r, err := s.Load(ctx, "ok")
	if err != nil || string(r.State) != "x" || !r.Expires.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("after bad input: %+v, %v", r, err)
	}
}

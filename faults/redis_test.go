package faults_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hourglass-go/hourglass/faults"
)

// startRedis starts a redis-server of the test's own on a free loopback
// port, or skips the test if there is none on PATH.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for start := time.Now(); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case err := <-exited:
			t.Fatalf("redis-server exited: %v", err)
		case <-time.After(20 * time.Millisecond): // waiting for it to start
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("redis-server did not start")
		}
	}
}

// TestGoRedisFaults drives a real server with go-redis through a RESP fault
// dialer, as a backend's harness does: each fault hits the armed operation,
// not the handshake of the connection it dials, and ends with it.
func TestGoRedisFaults(t *testing.T) {
	addr := startRedis(t)
	in := faults.New()
	d := faults.NewDialerFor(faults.RESP, nil)
	d.Use(in)
	c := redis.NewClient(&redis.Options{Addr: addr, Dialer: d.DialContext, MaxRetries: -1, ContextTimeoutEnabled: true, PoolSize: 1})
	defer c.Close()
	check := redis.NewClient(&redis.Options{Addr: addr})
	defer check.Close()
	bg := context.Background()

	// op runs f as one operation under fault k, armed for request at, and
	// checks that k fired (k = 0: that none did) and f's error.
	op := func(name string, k faults.Kind, at int, f func(ctx context.Context) error) {
		t.Helper()
		if k != 0 {
			in.Arm(k, at)
		}
		ctx := in.Begin(bg)
		err := f(ctx)
		if fired := in.End(); fired != k {
			t.Errorf("%s: fired %v, want %v", name, fired, k)
		}
		if (err != nil) != (k != 0) {
			t.Errorf("%s under %v: error %v", name, k, err)
		}
	}
	exists := func(key string) bool {
		t.Helper()
		n, err := check.Exists(bg, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	set := func(key string) func(context.Context) error {
		return func(ctx context.Context) error { return c.Set(ctx, key, "1", 0).Err() }
	}

	op("warm-up", 0, 1, set("warm"))

	op("refused set", faults.NetRefuse, 1, set("refused"))
	if exists("refused") {
		t.Error("a refused SET reached the server")
	}

	// The refused connection is gone: this operation dials a new one,
	// whose handshake must not take the fault.
	op("dropped set", faults.NetDrop, 1, set("dropped"))
	if !exists("dropped") {
		t.Error("a dropped SET did not reach the server")
	}

	var stallCtx context.Context
	op("stalled set", faults.NetStall, 1, func(ctx context.Context) error {
		stallCtx = ctx
		return set("stalled")(ctx)
	})
	if stallCtx.Err() == nil {
		t.Error("the stall did not end its operation's context")
	}
	if !exists("stalled") {
		t.Error("a stalled SET did not reach the server")
	}
	op("after the stall", 0, 1, func(ctx context.Context) error {
		v, err := c.Get(ctx, "stalled").Result()
		if err == nil && v != "1" {
			err = errors.New("GET stalled = " + v)
		}
		if err == nil {
			err = ctx.Err()
		}
		return err
	})

	op("second request refused", faults.NetRefuse, 2, func(ctx context.Context) error {
		if err := c.Set(ctx, "first", "1", 0).Err(); err != nil {
			t.Errorf("the first request of the operation failed: %v", err)
		}
		return c.Set(ctx, "second", "1", 0).Err()
	})
	if !exists("first") || exists("second") {
		t.Errorf("at=2: first applied %v, second %v; want only the first", exists("first"), exists("second"))
	}

	op("pipeline, second command refused", faults.NetRefuse, 2, func(ctx context.Context) error {
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "p1", "1", 0)
			p.Set(ctx, "p2", "1", 0)
			return nil
		})
		return err
	})
	if exists("p1") || exists("p2") {
		t.Error("a refused pipeline reached the server")
	}
}

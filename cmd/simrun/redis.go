package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hourglass-go/hourglass/internal/rediscluster"
	"github.com/hourglass-go/hourglass/internal/redissim"
	"github.com/hourglass-go/hourglass/internal/stack"
	"github.com/hourglass-go/hourglass/redisstore"
)

// openRedis connects to the Redis the URL dsn names, or starts a
// throwaway cluster of three primaries from the local redis-server (with
// appendfsync always, so that crash faults lose nothing acknowledged).
// Only a cluster simrun started can be crashed by crash faults.
func openRedis(ctx context.Context, dsn string, layers stack.Stack, log io.Writer) (*backend, error) {
	opts := redissim.Options{}
	stop := func() {}
	if dsn == "" {
		fmt.Fprintln(log, "simrun: starting a throwaway Redis Cluster of 3 primaries (pass -dsn redis://host:port,... to use your own)")
		c, err := rediscluster.Start(ctx, rediscluster.Options{Primaries: 3, Cluster: true, AppendFsync: "always"})
		if err != nil {
			return nil, fmt.Errorf("backend redis: %w", err)
		}
		opts.Addrs, opts.Cluster, opts.Ctl = c.Addrs(), true, c
		stop = func() { _ = c.Stop() }
	} else {
		o, err := redisstore.ParseURL(dsn)
		if err != nil {
			return nil, fmt.Errorf("backend redis: -dsn: %w", err)
		}
		opts.Addrs, opts.Cluster = o.Addrs, o.Cluster
	}
	h, err := redissim.New(ctx, opts)
	if err != nil {
		stop()
		return nil, fmt.Errorf("backend redis: %w", err)
	}
	f := h.Factory
	if len(layers) > 0 {
		f = h.Stacked(layers)
	}
	return &backend{name: "redis", layers: layers, factory: f, close: func() { h.Close(); stop() }}, nil
}

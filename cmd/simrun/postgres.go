package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hourglass-go/hourglass/internal/pgsim"
	"github.com/hourglass-go/hourglass/internal/stack"
)

// openPostgres connects to the server at dsn, or starts a throwaway one from
// the local PostgreSQL binaries so that a newcomer sees the real thing with
// one command. Only a server simrun started can be crashed by crash faults.
func openPostgres(ctx context.Context, dsn string, layers stack.Stack, log io.Writer) (*backend, error) {
	opts := pgsim.Options{}
	stop := func() {}
	if dsn == "" {
		fmt.Fprintln(log, "simrun: starting a throwaway PostgreSQL server (pass -dsn to use your own)")
		c, err := pgsim.StartCluster(ctx)
		if err != nil {
			return nil, fmt.Errorf("backend postgres: %w", err)
		}
		dsn, opts.Cluster = c.DSN("postgres"), c
		stop = func() { _ = c.Stop() }
	}
	h, err := pgsim.New(ctx, dsn, opts)
	if err != nil {
		stop()
		return nil, fmt.Errorf("backend postgres: %w", err)
	}
	f := h.Factory
	if len(layers) > 0 {
		f = h.Stacked(layers)
	}
	return &backend{name: "postgres", layers: layers, factory: f, close: func() { h.Close(); stop() }}, nil
}

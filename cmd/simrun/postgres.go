package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hourglass-go/hourglass/internal/pgsim"
)

// openPostgres connects to the server at dsn, or starts a throwaway one from
// the local PostgreSQL binaries so that a newcomer sees the real thing with
// one command. Only a server simrun started can be crashed by crash faults.
func openPostgres(ctx context.Context, dsn string, log io.Writer) (*backend, error) {
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
	return &backend{name: "postgres", factory: h.Factory, close: func() { h.Close(); stop() }}, nil
}

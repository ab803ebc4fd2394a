package pgtest

import (
	"context"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// containerImage is the server used when no local binaries exist.
const containerImage = "postgres:16-alpine"

// startContainer runs PostgreSQL in Docker through testcontainers-go. The
// engine is probed first, briefly, so that a machine without Docker costs a
// moment and not a pull timeout. testcontainers panics in some
// misconfigurations; that is reported as an error like any other.
func startContainer(ctx context.Context) (s *server, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("testcontainers: %v", r)
		}
	}()
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return nil, fmt.Errorf("no Docker engine: %w", err)
	}
	probe, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := provider.Health(probe); err != nil { // Health also closes the provider
		return nil, fmt.Errorf("no Docker engine answers: %w", err)
	}

	ctr, err := tcpostgres.Run(ctx, containerImage,
		tcpostgres.BasicWaitStrategies(),
		testcontainers.WithCmdArgs("-c", "max_connections=200", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
	)
	stop := func() error { return testcontainers.TerminateContainer(ctr) }
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("starting %s: %w", containerImage, err)
	}
	dsn, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		_ = stop()
		return nil, err
	}
	return connect(ctx, dsn, "testcontainers "+containerImage, stop)
}

package redistest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// containerImage is the server used when no local redis-server exists.
const containerImage = "redis:7.0"

// startContainer runs one Redis node in Docker through testcontainers-go:
// plain, or in cluster mode serving every slot (see the package
// documentation for what a one-node cluster does not exercise). The engine
// is probed first, briefly, so that a machine without Docker costs a moment
// and not a pull timeout. testcontainers panics in some misconfigurations;
// that is reported as an error like any other.
func startContainer(ctx context.Context, cluster bool) (s *Server, err error) {
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

	cmd := []string{"redis-server", "--appendonly", "yes", "--appendfsync", "always"}
	if cluster {
		cmd = append(cmd, "--cluster-enabled", "yes")
	}
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        containerImage,
			ExposedPorts: []string{"6379/tcp"},
			Cmd:          cmd,
			WaitingFor:   wait.ForLog("Ready to accept connections"),
		},
		Started: true,
	})
	stop := func() error { return testcontainers.TerminateContainer(ctr) }
	fail := func(err error) (*Server, error) {
		_ = stop()
		return nil, fmt.Errorf("%s: %w", containerImage, err)
	}
	if err != nil {
		return fail(err)
	}
	host, err := ctr.Host(ctx)
	if err != nil {
		return fail(err)
	}
	port, err := ctr.MappedPort(ctx, "6379/tcp")
	if err != nil {
		return fail(err)
	}
	addr := net.JoinHostPort(host, port.Port())
	if cluster {
		if err := announceAndCover(ctx, addr, host, port.Port()); err != nil {
			return fail(err)
		}
	}
	return &Server{Addrs: []string{addr}, Cluster: cluster, Source: "testcontainers " + containerImage, stop: stop}, nil
}

// announceAndCover turns the container's fresh cluster-mode node into a
// cluster: it must announce the address clients reach it at (the mapped
// port, not 6379 inside the container), or CLUSTER SLOTS would send them
// nowhere; then it takes every slot, and is waited for until it reports
// cluster_state:ok.
func announceAndCover(ctx context.Context, addr, host, port string) error {
	ip := host
	if net.ParseIP(ip) == nil {
		ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", host)
		if err != nil || len(ips) == 0 {
			return fmt.Errorf("resolving the Docker host %q: %v", host, err)
		}
		ip = ips[0].String()
	}
	c := dial(addr)
	defer c.Close()
	for _, kv := range [][2]string{{"cluster-announce-ip", ip}, {"cluster-announce-port", port}} {
		if err := c.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			return fmt.Errorf("CONFIG SET %s: %w", kv[0], err)
		}
	}
	if err := c.ClusterAddSlotsRange(ctx, 0, 16383).Err(); err != nil {
		return fmt.Errorf("CLUSTER ADDSLOTSRANGE: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for cluster_state:ok: %w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/redistest"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/storetest"
)

// factory gives every simulated run an empty store: a fresh key prefix on
// the shared servers.
func factory(t *testing.T, srv *redistest.Server) sim.Factory {
	base := redistest.Prefix(t)
	var n atomic.Int64
	return func(env sim.Env) (store.Store, error) {
		s, err := redisstore.New(context.Background(), redisstore.Options{
			Addrs: srv.Addrs, Cluster: srv.Cluster, Clock: env.Clock, Limits: env.Limits,
			Prefix: fmt.Sprintf("%s:%d", base, n.Add(1)),
		})
		if err != nil {
			return nil, err
		}
		return sim.Instances(s, func(c clock.Clock) store.Store { return s.WithClock(c) }), nil
	}
}

// The whole conformance suite, the concurrent phase included, on a
// cluster of three primaries (where nearly every ChangeID crosses slots
// and runs the move protocol) and on one plain node.
func TestConformance(t *testing.T) {
	t.Run("cluster", func(t *testing.T) {
		storetest.RunWith(t, factory(t, redistest.Cluster(t)), storetest.Options{Seeds: 100})
	})
	t.Run("single", func(t *testing.T) {
		storetest.RunWith(t, factory(t, redistest.Single(t)), storetest.Options{Seeds: 50, SkipRapid: true})
	})
}

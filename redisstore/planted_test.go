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
)

// The bug the move protocol exists to prevent, planted: ChangeID between
// slots as a copy, then a delete. Every sequential run passes it; the
// concurrent checker does not. (The protocol itself passes the same
// histories: TestConformance's concurrent phase.)
func TestPlantedSplitMoveIsCaught(t *testing.T) {
	srv := redistest.Cluster(t)
	base := redistest.Prefix(t)
	var n atomic.Int64
	factory := func(env sim.Env) (store.Store, error) {
		s, err := redisstore.New(context.Background(), redisstore.Options{
			Addrs: srv.Addrs, Cluster: srv.Cluster, Clock: env.Clock, Limits: env.Limits,
			Prefix: fmt.Sprintf("%s:%d", base, n.Add(1)),
		})
		if err != nil {
			return nil, err
		}
		split := redisstore.SplitMove(s)
		return sim.Instances(split, func(c clock.Clock) store.Store { return redisstore.SplitMove(s.WithClock(c)) }), nil
	}
	ctx := context.Background()
	cfg, err := sim.Probe(sim.GenConfig{}, factory)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 30; seed++ {
		f, _, err := sim.CheckSeed(ctx, seed, cfg, factory)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			t.Fatalf("the sequential simulator caught the split move at seed %d; it was expected to pass it:\n%s", seed, f)
		}
	}
	for seed := uint64(1); seed <= 400; seed++ {
		c := cfg
		c.Clients, c.Ops, c.IDs = 8, 12, 1+int(seed%3)
		h, err := sim.Record(ctx, sim.Generate(seed, c), factory)
		if err != nil {
			t.Fatal(err)
		}
		if r := sim.Check(h, sim.CheckOptions{}); r.Verdict == sim.NotLinearizable {
			t.Logf("caught at history %d: %s", seed, r)
			return
		}
	}
	t.Fatal("400 concurrent histories passed a ChangeID split into a copy and a delete")
}

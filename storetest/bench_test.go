package storetest_test

import (
	"context"
	"testing"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// BenchmarkSimulator measures checked operations per second: generating a
// 500-operation trace from a seed, applying it to the memory backend and to
// the model, and comparing every outcome. This is what simrun does per seed.
// Run it on one core: go test -run x -bench Simulator -cpu 1 ./storetest
func BenchmarkSimulator(b *testing.B) {
	newStore := func(env sim.Env) (store.Store, error) {
		return memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits}), nil
	}
	ctx := context.Background()
	ops := 0
	for i := 0; b.Loop(); i++ {
		t := sim.Generate(uint64(i), sim.GenConfig{Ops: 500})
		res, err := sim.Run(ctx, t, newStore)
		if err != nil || res.Divergence != nil {
			b.Fatalf("seed %d: %v %v", i, err, res.Divergence)
		}
		ops += len(res.Outcomes)
	}
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "checked-ops/s")
	b.ReportMetric(0, "ns/op") // per-seed time is not the figure of interest
}

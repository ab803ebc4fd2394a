package storetest_test

import (
	"context"
	"slices"
	"testing"
	"time"

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

// BenchmarkCheck measures the linearizability checker alone on histories
// of about 10,000 store operations by 8 clients (1,560 generator steps
// each, some of them clock moves), recorded once from the
// memory backend for seeds 1 to 10; each iteration checks one of them.
// median-ms/check is the figure README.md quotes.
// Run it: go test -run x -bench Check -benchtime 50x ./storetest
func BenchmarkCheck(b *testing.B) {
	newStore := func(env sim.Env) (store.Store, error) {
		return memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits}), nil
	}
	var hs []*sim.History
	for seed := uint64(1); seed <= 10; seed++ {
		h, err := sim.Record(context.Background(), sim.Generate(seed, sim.GenConfig{Ops: 1560, Clients: 8}), newStore)
		if err != nil {
			b.Fatal(err)
		}
		hs = append(hs, h)
	}
	var took []time.Duration
	ops := 0
	for i := 0; b.Loop(); i++ {
		h := hs[i%len(hs)]
		begin := time.Now()
		if r := sim.Check(h, sim.CheckOptions{}); r.Verdict != sim.Linearizable {
			b.Fatalf("seed %d: %s", i%len(hs)+1, r)
		}
		took = append(took, time.Since(begin))
		ops += h.Operations()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms/check")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms/check")
	b.ReportMetric(float64(ops)/float64(len(took)), "ops/history")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkConcurrentSimulator measures checked operations per second with
// 8 clients: generating a trace of 500 operations per client, running the
// clients at once against the memory backend, and checking the history.
// Run it: go test -run x -bench ConcurrentSimulator ./storetest
func BenchmarkConcurrentSimulator(b *testing.B) {
	newStore := func(env sim.Env) (store.Store, error) {
		return memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits}), nil
	}
	ops := 0
	for i := 0; b.Loop(); i++ {
		h, err := sim.Record(context.Background(), sim.Generate(uint64(i), sim.GenConfig{Ops: 500, Clients: 8}), newStore)
		if err != nil {
			b.Fatal(err)
		}
		if r := sim.Check(h, sim.CheckOptions{}); r.Verdict != sim.Linearizable {
			b.Fatalf("seed %d: %s", i, r)
		}
		ops += h.Operations()
	}
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "checked-ops/s")
	b.ReportMetric(0, "ns/op")
}

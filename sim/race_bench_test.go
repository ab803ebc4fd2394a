package sim_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/sim"
)

// BenchmarkCatchRaces measures how soon `simrun -clients 8` catches each
// planted race: each iteration starts at another seed (1, 101, 201, ...)
// and records and checks 8-client histories of 500 operations a client
// until one is not linearizable, at most 50 seeds. It reports the median
// time to the verdict (and the slowest), the most seeds any iteration
// needed, and fails if one needed more than 50.
// Run it: go test -run x -bench CatchRaces -benchtime 10x ./sim
func BenchmarkCatchRaces(b *testing.B) {
	for _, bug := range mutant.RaceBugs() {
		b.Run(bug.String(), func(b *testing.B) {
			var took []time.Duration
			most := 0
			for i := 0; b.Loop(); i++ {
				start := uint64(1 + 100*i)
				begin := time.Now()
				seeds := 0
				for seed := start; seed < start+50; seed++ {
					seeds++
					cfg := sim.GenConfig{Clients: 8}
					if bug.OfOwners() {
						cfg.Owners, cfg.Touch = true, true
					}
					h, err := sim.Record(context.Background(), sim.Generate(seed, cfg), plain(bug))
					if err != nil {
						b.Fatal(err)
					}
					if sim.Check(h, sim.CheckOptions{}).Verdict == sim.NotLinearizable {
						took = append(took, time.Since(begin))
						break
					}
				}
				if len(took) <= i {
					b.Fatalf("not caught in 50 seeds from seed %d", start)
				}
				most = max(most, seeds)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms/catch")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms/catch")
			b.ReportMetric(float64(most), "max-seeds")
			b.ReportMetric(0, "ns/op")
		})
	}
}

package memstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// The reclaim merge and ChangeID's two-shard locking are the parts that
// depend on how records fall into shards, so the model is checked against
// several shard counts, with the clock stepping back and a skewed second
// view (the clock fault profile) and long traces.
func TestModelAcrossShardCounts(t *testing.T) {
	p, err := faults.LookupProfile("clock", -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, shards := range []int{1, 2, 8, 0} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			newStore := func(env sim.Env) (store.Store, error) {
				m := memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits, Shards: shards})
				return sim.Instances(m, func(c clock.Clock) store.Store { return m.WithClock(c) }), nil
			}
			for seed := uint64(1); seed <= 20; seed++ {
				f, _, err := sim.CheckSeed(context.Background(), seed, sim.GenConfig{Ops: 3000, Faults: p}, newStore)
				if err != nil {
					t.Fatal(err)
				}
				if f != nil {
					t.Fatalf("%s", f)
				}
			}
		})
	}
}

package memstore_test

import (
	"testing"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/storetest"
)

// The memory backend against the model: the whole conformance suite, with
// one shard (every record contends) and with the default.
func TestConformance(t *testing.T) {
	for _, shards := range []int{1, 0} {
		t.Run(map[int]string{1: "shards=1", 0: "shards=default"}[shards], func(t *testing.T) {
			storetest.RunWith(t, func(env sim.Env) (store.Store, error) {
				return memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits, Shards: shards}), nil
			}, storetest.Options{Seeds: 300})
		})
	}
}

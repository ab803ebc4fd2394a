package pgstore

import (
	"errors"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/storetest"
)

// newConformanceStore must hand out independent, empty, working stores that
// honour the clock and limits they are given, cheaply enough for a suite
// that makes hundreds of them in one test.
func TestConformanceStoreHook(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := clock.NewSim(t0)
	limits := store.Limits{MaxStateSize: 8, MaxTTL: time.Hour}

	const stores = 100
	made := make([]store.Store, stores)
	made[0] = newConformanceStore(t, clk, limits) // also creates the schema and pool
	begin := time.Now()
	for i := 1; i < stores; i++ {
		made[i] = newConformanceStore(t, clk, limits)
	}
	t.Logf("%v per conformance store after the first", time.Since(begin)/(stores-1))

	if err := made[0].Create(ctx, "a", []byte("first"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := made[1].Load(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a new store sees another's record: %v", err)
	}
	if err := made[1].Create(ctx, "a", []byte("second"), time.Minute); err != nil {
		t.Fatalf("stores share a table: %v", err)
	}
	if err := made[2].Create(ctx, "a", []byte("too large"), time.Minute); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("limits not applied: %v", err)
	}
	if err := made[2].Create(ctx, "a", nil, 2*time.Hour); !errors.Is(err, store.ErrInvalidTTL) {
		t.Fatalf("limits not applied: %v", err)
	}
	clk.Add(time.Minute)
	if _, err := made[0].Load(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the store does not read the given clock: %v", err)
	}
	if _, ok := made[0].(store.Pinger); !ok {
		t.Fatal("the store is not a store.Pinger")
	}
}

// The conformance suite every backend passes: the simulator against the
// model, the rapid property, and racing callers, on a real server.
func TestConformance(t *testing.T) {
	storetest.RunWith(t, func(env sim.Env) (store.Store, error) {
		return newConformanceStore(t, env.Clock, env.Limits), nil
	}, storetest.Options{Seeds: 50})
}

package seal_test

import (
	"testing"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/storetest"
)

// The layer over memstore is a store like any other: the whole
// conformance suite, versions included.
func TestConformance(t *testing.T) {
	ring := ringOf(t, 2, 1, 2)
	storetest.Run(t, func(env sim.Env) (store.Store, error) {
		inner := memstore.New(memstore.Options{Clock: env.Clock, Limits: innerLimits(env.Limits)})
		l, err := seal.New(inner, ring, seal.Options{Namespace: "conformance", Limits: env.Limits})
		if err != nil {
			return nil, err
		}
		return l.Store(), nil
	})
}

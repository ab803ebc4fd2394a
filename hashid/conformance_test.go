package hashid_test

import (
	"testing"

	"github.com/hourglass-go/hourglass/hashid"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/storetest"
)

// overMemstore makes the layer over a fresh memstore, keyed or not.
func overMemstore(key []byte) sim.Factory {
	return func(env sim.Env) (store.Store, error) {
		return hashid.New(memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits}), hashid.Options{Key: key})
	}
}

// The conformance suite every backend passes, through the layer: the
// contract holds with sessions ordered and named by their stored IDs.
func TestConformance(t *testing.T) {
	t.Run("plain", func(t *testing.T) { storetest.Run(t, overMemstore(nil)) })
	t.Run("keyed", func(t *testing.T) { storetest.Run(t, overMemstore(testKey)) })
}

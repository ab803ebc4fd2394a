package sim_test

import (
	"testing"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// Instances shows exactly the optional capabilities of the store it wraps,
// whichever they are, with its stored IDs and a second instance.
func TestInstancesKeepsCapabilities(t *testing.T) {
	m := mutant.New(clock.NewSim(sim.DefaultStart), store.Limits{}, mutant.None)
	type (
		bare  struct{ store.Store }
		owner struct {
			store.Store
			view.OwnerOps
		}
		toucher struct {
			store.Store
			view.TouchOps
		}
		versioner struct {
			store.Store
			view.VersionOps
		}
		scanner struct {
			store.Store
			view.ScanOps
		}
		versionsAndScans struct {
			store.Store
			view.VersionOps
			view.ScanOps
		}
	)
	backends := map[string]store.Store{
		"all": m, "none": bare{m}, "owners": owner{m, m}, "touch": toucher{m, m},
		"versions": versioner{m, m}, "scan": scanner{m, m}, "versions and scans": versionsAndScans{m, m, m},
		"keyed": keyed{reversed{m}},
	}
	for name, s := range backends {
		opened := 0
		w := sim.Instances(s, func(clock.Clock) store.Store { opened++; return s })
		if got, want := view.Has(w), view.Has(s); got != want {
			t.Errorf("%s: the wrapper shows capabilities %b, the store has %b", name, got, want)
		}
		if got, want := store.StoredID(w, "ab"), store.StoredID(s, "ab"); got != want {
			t.Errorf("%s: StoredID through the wrapper = %q, want %q", name, got, want)
		}
		i, ok := w.(sim.Instancer)
		if !ok {
			t.Fatalf("%s: the wrapper opens no second instance", name)
		}
		if i.Instance(clock.NewSim(sim.DefaultStart)); opened != 1 {
			t.Errorf("%s: Instance did not open one", name)
		}
		if _, ok := w.(store.Sweeper); !ok {
			t.Errorf("%s: the wrapper hides the sweeper", name)
		}
	}
}

package pgsim

import (
	"context"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/sim"
)

// The operations of every capability pgstore has, conditional writes and
// scans included, with versions checked, under the fault profiles that
// cost no real time: no false alarm, one client or eight. (TestFaultProfiles
// and TestConcurrentFaultProfiles keep the traces without them.)
func TestVersionedFaultProfiles(t *testing.T) {
	h := harness(t)
	cfg, err := sim.Probe(sim.GenConfig{}, h.Factory)
	if err != nil || !cfg.Owners || !cfg.Touch || !cfg.Versions || !cfg.Scan {
		t.Fatalf("Probe of pgstore: %+v, %v", cfg, err)
	}
	for _, name := range []string{"none", "store", "net", "clock", "all"} {
		t.Run(name, func(t *testing.T) {
			p, err := faults.LookupProfile(name, 0.05)
			if err != nil {
				t.Fatal(err)
			}
			c := cfg
			c.Faults = p
			reached := map[string]bool{}
			for seed := uint64(1); seed <= 8; seed++ {
				c.Ops, c.Clients = 300, 1
				tr := sim.Generate(seed, c)
				res, err := sim.Run(context.Background(), tr, h.Factory)
				if err != nil {
					t.Fatal(err)
				}
				if res.Divergence != nil {
					var b strings.Builder
					_ = tr.WriteHistory(&b, res)
					t.Fatalf("seed %d: false alarm:\n%s%s", seed, res.Divergence, b.String())
				}
				for i, op := range tr.Ops {
					if res.Outcomes[i].Kind == sim.OK {
						name, _, _ := strings.Cut(op.String(), " ")
						reached[name] = true
					}
				}
				c.Ops, c.Clients = 40, 8
				hist, err := sim.Record(context.Background(), sim.Generate(seed, c), h.Factory)
				if err != nil {
					t.Fatal(err)
				}
				if r := sim.Check(hist, sim.CheckOptions{}); r.Verdict != sim.Linearizable {
					t.Fatalf("seed %d, 8 clients: %s\n%s", seed, r, hist)
				}
			}
			for _, want := range []string{"update-if", "change-id-if", "scan"} {
				if !reached[want] {
					t.Errorf("no %s succeeded in 8 seeds", want)
				}
			}
		})
	}
}

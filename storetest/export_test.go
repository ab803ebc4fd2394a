package storetest

import (
	"context"

	"pgregory.net/rapid"

	"github.com/hourglass-go/hourglass/sim"
)

// CaughtByConcurrentPhase runs the concurrent phase alone and reports
// whether it failed, and the failure's report.
func CaughtByConcurrentPhase(newStore Factory) (bool, string, error) {
	opts := Options{}.withDefaults()
	cfg, err := sim.Probe(opts.Config, newStore)
	if err != nil {
		return false, "", err
	}
	opts.Config = cfg
	f, _, err := concurrentPhase(context.Background(), newStore, opts)
	if f == nil || err != nil {
		return false, "", err
	}
	return true, f.String(), nil
}

// DrawTraceWith draws a trace as Property does for a backend with the
// capabilities caps names.
func DrawTraceWith(rt *rapid.T, caps sim.GenConfig) *sim.Trace { return drawTrace(rt, true, caps) }

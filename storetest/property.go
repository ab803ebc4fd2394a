package storetest

import (
	"context"
	"fmt"
	"time"

	"pgregory.net/rapid"

	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// Property is the contract as a rapid property: rapid draws a trace (a
// small ID pool, writes with unique states, clock advances of a few
// microseconds so expiries are hit exactly), the trace is run against the
// backend and the model, and any divergence fails. rapid's own shrinking
// then minimises the operations. Use it directly with rapid.Check to tune
// rapid's settings (or the RAPID_CHECKS environment variable).
func Property(newStore Factory) func(*rapid.T) {
	return func(rt *rapid.T) {
		tr := DrawTrace(rt)
		res, err := sim.Run(context.Background(), tr, newStore)
		if err != nil {
			rt.Fatalf("running the trace: %v", err)
		}
		if d := res.Divergence; d != nil {
			rt.Fatalf("%s\n%s", d.Error(), tr.String())
		}
	}
}

// DrawTrace draws a trace from rapid: a few IDs so they collide, TTLs and
// advances in microseconds so that expiry boundaries are hit exactly, and a
// unique state per write.
func DrawTrace(rt *rapid.T) *sim.Trace {
	// "b" before "B" and "_": draws shrink towards the front, and a pool of
	// two then already disagrees between byte and insertion order.
	ids := []store.ID{"b", "B", "_", "a"}[:rapid.IntRange(1, 4).Draw(rt, "ids")]
	id := rapid.SampledFrom(ids)
	ttl := rapid.Custom(func(t *rapid.T) time.Duration {
		// Few distinct TTLs make ties in expiry; a 500ns part now and then
		// checks truncation to whole microseconds.
		return time.Duration(rapid.IntRange(1, 4).Draw(t, "µs"))*time.Microsecond +
			time.Duration(rapid.IntRange(0, 1).Draw(t, "halfµs"))*500*time.Nanosecond
	})
	writes := 0
	state := func() []byte { writes++; return []byte(fmt.Sprintf("w%d", writes)) }
	op := rapid.Custom(func(t *rapid.T) sim.Op {
		switch rapid.IntRange(0, 7).Draw(t, "kind") {
		case 0:
			return sim.Create{ID: id.Draw(t, "id"), State: state(), TTL: ttl.Draw(t, "ttl")}
		case 1:
			return sim.Load{ID: id.Draw(t, "id")}
		case 2:
			return sim.Update{ID: id.Draw(t, "id"), State: state(), TTL: ttl.Draw(t, "ttl")}
		case 3:
			return sim.UpdateTTL{ID: id.Draw(t, "id"), TTL: ttl.Draw(t, "ttl")}
		case 4:
			return sim.Delete{ID: id.Draw(t, "id")}
		case 5:
			return sim.ChangeID{Old: id.Draw(t, "old"), New: id.Draw(t, "new")}
		case 6:
			return sim.DeleteExpired{Limit: rapid.IntRange(0, 2).Draw(t, "limit")}
		}
		return sim.Advance{D: time.Duration(rapid.IntRange(0, 4).Draw(t, "µs")) * time.Microsecond}
	})
	ops := rapid.SliceOfN(op, 1, 60).Draw(rt, "ops")
	// Close by reading every ID, so a wrong final state is observed.
	for _, i := range ids {
		ops = append(ops, sim.Load{ID: i})
	}
	ops = append(ops, sim.DeleteExpired{})
	return &sim.Trace{Start: sim.DefaultStart, Limits: sim.DefaultLimits.WithDefaults(), Ops: ops}
}

package storetest

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"pgregory.net/rapid"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// Property is the contract as a rapid property: rapid draws a trace (a
// small ID pool, writes with unique states, clock advances of a few
// microseconds so expiries are hit exactly), the trace is run against the
// backend and the model, and any divergence fails. rapid's own shrinking
// then minimises the operations. Use it directly with rapid.Check to tune
// rapid's settings (or the RAPID_CHECKS environment variable).
//
// For a backend with the optional capabilities (sim.Probe) the traces hold
// their operations too; with store.Versioner they check versions and aim
// conditional writes at the version the session is at, was, or is not yet.
//
// Unless the backend has native expiry, each trace ends by revealing every
// record the backend still holds: a limited DeleteExpired, then the clock
// back to the start, where every held record is live again, and a read of
// every ID. Which expired records a backend reclaimed, or wrongly kept, is
// otherwise visible only in later counts. (A backend with native expiry may
// have dropped expired records on its own, so the step back would
// resurrect them in the model only.)
func Property(newStore Factory) func(*rapid.T) {
	var once sync.Once
	var native bool
	var caps sim.GenConfig
	var probeErr error
	return func(rt *rapid.T) {
		once.Do(func() {
			native, probeErr = nativeExpiry(newStore)
			if probeErr == nil {
				caps, probeErr = sim.Probe(sim.GenConfig{}, newStore)
			}
		})
		if probeErr != nil {
			rt.Fatalf("making a backend: %v", probeErr)
		}
		tr := drawTrace(rt, !native, caps)
		res, err := sim.Run(context.Background(), tr, newStore)
		if err != nil {
			rt.Fatalf("running the trace: %v", err)
		}
		if d := res.Divergence; d != nil {
			rt.Fatalf("%s\n%s", d.Error(), tr.String())
		}
	}
}

// nativeExpiry makes one backend to read its capabilities.
func nativeExpiry(newStore Factory) (bool, error) {
	s, err := newStore(sim.Env{Clock: clock.NewSim(sim.DefaultStart), Limits: sim.DefaultLimits.WithDefaults(), Faults: faults.New()})
	if err != nil {
		return false, err
	}
	if c, ok := s.(io.Closer); ok {
		defer c.Close()
	}
	return store.CapabilitiesOf(s).NativeExpiry, nil
}

// DrawTrace draws a trace from rapid: a few IDs so they collide, TTLs and
// advances in microseconds so that expiry boundaries are hit exactly, and a
// unique state per write.
func DrawTrace(rt *rapid.T) *sim.Trace { return drawTrace(rt, true, sim.GenConfig{}) }

// drawTrace draws a trace, ending it with the reveal Property describes if
// reveal is set, with the operations of the capabilities caps names.
// Draws for a capability happen only when caps names it, so a backend
// without one gets the traces it always got.
func drawTrace(rt *rapid.T, reveal bool, caps sim.GenConfig) *sim.Trace {
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
	owners := []store.Owner{"u", "v"}
	owner := rapid.SampledFrom(owners)
	// The state so far, as the model has it, so that a conditional write
	// can name the version its session is at (or was, or is not yet).
	shadow := model.New(sim.DefaultLimits)
	now := sim.DefaultStart
	version := func(t *rapid.T, id store.ID) uint64 {
		cur := uint64(1)
		if r, ok := shadow.Get(id); ok {
			cur = r.Version
		}
		switch rapid.IntRange(0, 5).Draw(t, "version") {
		case 4: // a stale read, or one from the future
			if cur > 1 {
				return cur - 1
			}
			return cur + 1
		case 5:
			return 0 // invalid
		}
		return cur
	}
	pick := func(t *rapid.T) sim.Op {
		// An eighth of the operations are the owners' and touches', and
		// an eighth of the rest store.Versioner's and store.Scanner's,
		// for a backend that has them: the core ones stay dense enough
		// to catch every core bug planted in internal/mutant (a quarter
		// left sweep-skips-ties uncaught in 1000 checks), and shrinking
		// (towards 0) turns them back into core ones.
		k := rapid.IntRange(0, 8).Draw(t, "kind")
		if (caps.Owners || caps.Touch) && rapid.IntRange(0, 7).Draw(t, "user") == 7 {
			switch {
			case !caps.Owners:
				k = 13
			case !caps.Touch:
				k = rapid.SampledFrom([]int{9, 10, 11, 12, 14}).Draw(t, "userKind")
			default:
				k = rapid.IntRange(9, 14).Draw(t, "userKind")
			}
		}
		if (caps.Versions || caps.Scan) && rapid.IntRange(0, 7).Draw(t, "versioned") == 7 {
			switch {
			case !caps.Versions:
				k = 17
			case !caps.Scan:
				k = rapid.IntRange(15, 16).Draw(t, "versionKind")
			default:
				k = rapid.IntRange(15, 17).Draw(t, "versionKind")
			}
		}
		switch k {
		case 15:
			i := id.Draw(t, "id")
			d := store.KeepTTL
			if rapid.IntRange(0, 1).Draw(t, "setTTL") == 1 {
				d = ttl.Draw(t, "ttl")
			}
			return sim.UpdateIf{ID: i, Version: version(t, i), State: state(), TTL: d}
		case 16:
			old := id.Draw(t, "old")
			return sim.ChangeIDIf{Old: old, New: id.Draw(t, "new"), Version: version(t, old), State: state()}
		case 17:
			return sim.Scan{After: rapid.SampledFrom(append([]store.ID{""}, ids...)).Draw(t, "after"), Limit: rapid.IntRange(0, 4).Draw(t, "limit")}
		case 9:
			return sim.CreateOwned{ID: id.Draw(t, "id"), Owner: owner.Draw(t, "owner"), State: state(), TTL: ttl.Draw(t, "ttl"), Cap: rapid.IntRange(0, 2).Draw(t, "cap")}
		case 10:
			return sim.Cycle{Old: id.Draw(t, "old"), New: id.Draw(t, "new"), Owner: rapid.SampledFrom([]store.Owner{"u", "v", ""}).Draw(t, "owner"), State: state(), TTL: ttl.Draw(t, "ttl"), Cap: rapid.IntRange(0, 2).Draw(t, "cap")}
		case 11:
			return sim.Revoke{Owner: owner.Draw(t, "owner"), ID: id.Draw(t, "id")}
		case 12:
			return sim.RevokeAll{Owner: owner.Draw(t, "owner"), Except: rapid.SliceOfN(id, 0, 2).Draw(t, "except")}
		case 13:
			return sim.Touch{ID: id.Draw(t, "id"), TTL: ttl.Draw(t, "ttl"), Resolution: time.Duration(rapid.IntRange(0, 2).Draw(t, "resµs")) * time.Microsecond}
		case 14:
			return sim.List{Owner: owner.Draw(t, "owner")}
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
		case 7:
			return sim.Sweep{Batch: rapid.IntRange(1, 3).Draw(t, "batch")}
		}
		return sim.Advance{D: time.Duration(rapid.IntRange(0, 4).Draw(t, "µs")) * time.Microsecond}
	}
	op := rapid.Custom(func(t *rapid.T) sim.Op {
		o := pick(t)
		if a, ok := o.(sim.Advance); ok {
			now = now.Add(a.D)
		}
		sim.Expect(o, shadow, store.Instant(now))
		return o
	})
	ops := rapid.SliceOfN(op, 1, 60).Draw(rt, "ops")
	// Close by reading every ID (and owner, and a page of them all), so a
	// wrong final state is observed.
	for _, i := range ids {
		ops = append(ops, sim.Load{ID: i})
	}
	if caps.Owners {
		for _, o := range owners {
			ops = append(ops, sim.List{Owner: o})
		}
	}
	if caps.Scan {
		ops = append(ops, sim.Scan{Limit: len(ids) + 1})
	}
	if reveal {
		var elapsed time.Duration
		for _, op := range ops {
			if a, ok := op.(sim.Advance); ok {
				elapsed += a.D
			}
		}
		ops = append(ops, sim.DeleteExpired{Limit: 1}, sim.Advance{D: -elapsed})
		for _, i := range ids {
			ops = append(ops, sim.Load{ID: i})
		}
		ops = append(ops, sim.Advance{D: elapsed})
	}
	// Then reclaim what is left one record per step, which puts a step
	// boundary inside every run of equal expiries.
	ops = append(ops, sim.Sweep{Batch: 1}, sim.DeleteExpired{})
	limits := sim.DefaultLimits.WithDefaults()
	if caps.Owners {
		limits.MaxPerOwner = rapid.IntRange(0, 2).Draw(rt, "storeCap")
	}
	return &sim.Trace{Start: sim.DefaultStart, Limits: limits, Versions: caps.Versions, Ops: ops}
}

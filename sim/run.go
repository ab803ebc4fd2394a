package sim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// Env is what the simulator hands a backend factory for one run.
type Env struct {
	// Clock is the run's simulated clock: the backend's only source of time.
	Clock clock.Clock
	// Limits are the limits the backend must enforce (the model enforces the
	// same ones).
	Limits store.Limits
}

// Factory makes an empty backend for one run, reading env.Clock and
// enforcing env.Limits. The simulator calls it once per run, and again for
// every candidate while shrinking, so it should be cheap. If the store it
// returns implements io.Closer, it is closed after the run.
type Factory func(env Env) (store.Store, error)

// maxWorlds bounds the set of possible model states an ambiguity-aware run
// tracks. Each ambiguous write at most doubles the set and later reads prune
// it; a run that exceeds the bound is reported rather than checked loosely.
const maxWorlds = 1024

// Result is what a run did.
type Result struct {
	// Outcomes holds the backend's outcome for each op executed, in order
	// (Advance ops get a zero Outcome).
	Outcomes []Outcome
	// Divergence is the first disagreement with the model, or nil.
	Divergence *Divergence
}

// Divergence is an operation whose outcome no state of the model explains.
type Divergence struct {
	Step int       // index of the op in the trace
	Op   Op        // the op
	Now  time.Time // the clock reading it ran at
	Want []Outcome // what the model allowed (one per possible state)
	Got  Outcome   // what the backend did
	Note string    // set when the checker itself gave up
}

func (d *Divergence) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %d: %s\n", d.Step, d.Op)
	if d.Note != "" {
		fmt.Fprintf(&b, "  %s\n", d.Note)
		return b.String()
	}
	var start time.Time // expiries are printed absolute here
	for i, w := range d.Want {
		if i == 0 {
			fmt.Fprintf(&b, "  model expected: %s\n", w.formatAbs(d.Op, start))
		} else {
			fmt.Fprintf(&b, "              or: %s\n", w.formatAbs(d.Op, start))
		}
	}
	fmt.Fprintf(&b, "  backend did:    %s\n", d.Got.formatAbs(d.Op, start))
	return b.String()
}

func (o Outcome) formatAbs(op Op, _ time.Time) string {
	if _, ok := op.(Load); ok && o.Kind == OK {
		return fmt.Sprintf("ok %s expires=%s", quoteState(o.Record.State), o.Record.Expires.UTC().Format(time.RFC3339Nano))
	}
	return o.format(op, time.Time{})
}

// Run executes the trace against a fresh backend from newStore and against
// the model, stopping at the first divergence. The error is for failures of
// the harness (the factory failed); a backend's wrong answer is a Divergence
// in the Result.
func Run(ctx context.Context, t *Trace, newStore Factory) (*Result, error) {
	clk := clock.NewSim(t.Start)
	s, err := newStore(Env{Clock: clk, Limits: t.Limits})
	if err != nil {
		return nil, fmt.Errorf("sim: making the backend: %w", err)
	}
	if c, ok := s.(io.Closer); ok {
		defer c.Close()
	}
	return execute(ctx, t, s, clk), nil
}

// execute is the checker. worlds is the set of model states consistent with
// everything the backend has said so far.
func execute(ctx context.Context, t *Trace, s store.Store, clk *clock.Sim) *Result {
	countExpired := !store.CapabilitiesOf(s).NativeExpiry
	worlds := []*model.Model{model.New(t.Limits)}
	res := &Result{Outcomes: make([]Outcome, 0, len(t.Ops))}
	for i, op := range t.Ops {
		if a, ok := op.(Advance); ok {
			clk.Add(a.D)
			res.Outcomes = append(res.Outcomes, Outcome{})
			continue
		}
		now := store.Instant(clk.Now())
		got := op.exec(ctx, s)
		res.Outcomes = append(res.Outcomes, got)

		switch got.Kind {
		case Ambiguous:
			worlds = split(worlds, op, now)
			if len(worlds) > maxWorlds {
				res.Divergence = &Divergence{Step: i, Op: op, Now: now, Got: got,
					Note: fmt.Sprintf("more than %d possible states after ambiguous failures: too many to check", maxWorlds)}
				return res
			}
			continue
		case Failed:
			// A definite failure had no effect, which the contract allows
			// only when something really failed. Without injected faults
			// nothing should, so a failing backend is a divergence: else a
			// backend that always failed would always pass.
			res.Divergence = &Divergence{Step: i, Op: op, Now: now, Got: got, Want: expectAll(worlds, op, now)}
			return res
		}

		if len(worlds) == 1 {
			// The common case: one state, checked in place.
			want := op.expect(worlds[0], now)
			if !matches(op, want, got, countExpired) {
				res.Divergence = &Divergence{Step: i, Op: op, Now: now, Want: []Outcome{want}, Got: got}
				return res
			}
			continue
		}
		var kept []*model.Model
		for _, w := range worlds {
			if matches(op, op.expect(w, now), got, countExpired) {
				kept = append(kept, w)
			}
		}
		if len(kept) == 0 {
			res.Divergence = &Divergence{Step: i, Op: op, Now: now, Want: expectAll(worlds, op, now), Got: got}
			return res
		}
		worlds = dedupe(kept)
	}
	return res
}

// split returns, for each state, the state without op and the state with it.
func split(worlds []*model.Model, op Op, now time.Time) []*model.Model {
	out := make([]*model.Model, 0, 2*len(worlds))
	for _, w := range worlds {
		applied := w.Clone()
		op.expect(applied, now)
		out = append(out, w, applied)
	}
	return dedupe(out)
}

// dedupe drops states equal to an earlier one, keeping order.
func dedupe(worlds []*model.Model) []*model.Model {
	out := worlds[:0]
	for _, w := range worlds {
		dup := false
		for _, o := range out {
			if o.Equal(w) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, w)
		}
	}
	return out
}

// expectAll lists the distinct outcomes the states allow, for a report. It
// runs the op on clones so the states are left as they were.
func expectAll(worlds []*model.Model, op Op, now time.Time) []Outcome {
	var out []Outcome
	for _, w := range worlds {
		o := op.expect(w.Clone(), now)
		dup := false
		for _, p := range out {
			if matches(op, p, o, true) {
				dup = true
			}
		}
		if !dup {
			out = append(out, o)
		}
	}
	return out
}

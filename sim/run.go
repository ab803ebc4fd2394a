package sim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
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
	// Faults is the run's fault injector. A backend that talks to a server
	// may route its connections through Faults.DialFunc, so that network
	// faults act on its bytes, and its harness may install server hooks with
	// Faults.SetServer. Otherwise network faults are emulated around the
	// store (faults.Wrap) and server faults do not fire.
	Faults *faults.Injector
}

// Factory makes an empty backend for one run, reading env.Clock and
// enforcing env.Limits. The simulator calls it once per run, and again for
// every candidate while shrinking, so it should be cheap. If the store it
// returns implements io.Closer, it is closed after the run.
type Factory func(env Env) (store.Store, error)

// Instancer is implemented by a backend that can open a second instance on
// the same data reading another clock: two application servers sharing one
// database. Traces with clock skew use it; without it, operations meant for
// the second instance run on the first, at the first's clock.
type Instancer interface {
	Instance(clk clock.Clock) store.Store
}

// maxWorlds bounds the set of possible model states an ambiguity-aware run
// tracks. Each ambiguous write at most doubles the set and later reads prune
// it; a run that exceeds the bound is reported rather than checked loosely.
const maxWorlds = 1024

// Result is what a run did.
type Result struct {
	// Outcomes holds the backend's outcome for each op executed, in order
	// (ops that touch no store get a zero Outcome).
	Outcomes []Outcome
	// Divergence is the first disagreement with the model, or nil.
	Divergence *Divergence
	// Faults counts the faults that fired, by name: the fault kinds of
	// package faults, and the clock faults "clock-back" (the clock stepped
	// backwards), "skew" (the second instance's clock was moved) and
	// "second-instance" (an operation ran on the skewed instance).
	Faults map[string]int
}

// Divergence is an operation whose outcome no state of the model explains.
type Divergence struct {
	Step int       // index of the op in the trace
	Op   Op        // the op
	Now  time.Time // the clock reading it ran at
	Want []Outcome // what the model allowed (one per possible state)
	Got  Outcome   // what the backend did
	Note string    // why, when it is not a plain mismatch
}

func (d *Divergence) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %d: %s\n", d.Step, d.Op)
	if d.Note != "" {
		fmt.Fprintf(&b, "  %s\n", d.Note)
	}
	for i, w := range d.Want {
		if i == 0 {
			fmt.Fprintf(&b, "  model expected: %s\n", w.formatAbs(d.Op))
		} else {
			fmt.Fprintf(&b, "              or: %s\n", w.formatAbs(d.Op))
		}
	}
	fmt.Fprintf(&b, "  backend did:    %s\n", d.Got.formatAbs(d.Op))
	return b.String()
}

// formatAbs renders an outcome with absolute expiries, for a report.
func (o Outcome) formatAbs(op Op) string {
	op = base(op)
	if (is[Load](op) || is[Touch](op)) && o.Kind == OK {
		return fmt.Sprintf("ok %s expires=%s", quoteState(o.Record.State), o.Record.Expires.UTC().Format(time.RFC3339Nano)) + formatOwnerOf(o.Record) + formatVersionOf(o.Record)
	}
	if is[List](op) && o.Kind == OK {
		var b strings.Builder
		b.WriteString("ok [")
		for i, e := range o.List {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s:%s", e.Handle, e.Expires.UTC().Format(time.RFC3339Nano))
		}
		return b.String() + "]"
	}
	return o.format(op, time.Time{})
}

// Run executes the trace against a fresh backend from newStore and against
// the model, stopping at the first divergence. The error is for failures of
// the harness (the factory failed); a backend's wrong answer is a Divergence
// in the Result.
func Run(ctx context.Context, t *Trace, newStore Factory) (*Result, error) {
	clk := clock.NewSim(t.Start)
	in := faults.New()
	s, err := newStore(Env{Clock: clk, Limits: t.Limits, Faults: in})
	if err != nil {
		return nil, fmt.Errorf("sim: making the backend: %w", err)
	}
	if c, ok := s.(io.Closer); ok {
		defer c.Close()
	}
	if err := t.checkCapabilities(s); err != nil {
		return nil, err
	}
	r := &runner{
		t:      t,
		in:     in,
		clk:    [2]*clock.Sim{clk, clock.NewSim(t.Start)},
		worlds: []*model.Model{newModel(t.Limits, keyOf(s))},
		judge:  judge{countExpired: !store.CapabilitiesOf(s).NativeExpiry, versions: t.versioned()},
		res:    &Result{Outcomes: make([]Outcome, 0, len(t.Ops)), Faults: map[string]int{}},
	}
	r.stores[0], r.stores[1] = s, s
	if i, ok := s.(Instancer); ok && t.hasSecond() {
		r.stores[1], r.second = i.Instance(r.clk[1]), true
	}
	if r.faulty = t.hasFaults(); r.faulty {
		r.stores[0] = faults.Wrap(r.stores[0], in)
		r.stores[1] = faults.Wrap(r.stores[1], in)
	}
	r.execute(ctx)
	if err := in.Err(); err != nil {
		return nil, fmt.Errorf("sim: the harness failed to inject a fault, so the run cannot be judged: %w", err)
	}
	for k, n := range in.Counts() {
		r.res.Faults[k.String()] += n
	}
	return r.res, nil
}

// keyOf is the stored ID of an ID in s (store.StoredID), or nil for a
// backend that stores IDs as they are.
func keyOf(s store.Store) func(store.ID) store.ID {
	k, ok := s.(store.Keyer)
	if !ok {
		return nil
	}
	return k.StoredID
}

// newModel is the model of an empty backend that stores each session
// under key(id) (nil: under id): its ties and handles follow the stored
// IDs, as the backend's must.
func newModel(limits store.Limits, key func(store.ID) store.ID) *model.Model {
	if key == nil {
		return model.New(limits)
	}
	return model.New(limits, model.WithKey(key))
}

func (t *Trace) hasFaults() bool {
	for _, op := range t.Ops {
		if _, inner := clientOf(op); is[Fault](inner) {
			return true
		}
	}
	return false
}

// is reports whether op is a T.
func is[T Op](op Op) bool {
	_, ok := op.(T)
	return ok
}

func (t *Trace) hasSecond() bool {
	for _, op := range t.Ops {
		if _, inner := clientOf(op); is[Second](inner) {
			return true
		}
	}
	return false
}

// runner is the checker. worlds is the set of model states consistent with
// everything the backend has said so far.
type runner struct {
	t      *Trace
	in     *faults.Injector
	clk    [2]*clock.Sim
	stores [2]store.Store
	second bool // stores[1] is a real second instance
	faulty bool // the trace arms faults
	worlds []*model.Model
	judge  judge
	res    *Result
}

func (r *runner) fail(d *Divergence) { r.res.Divergence = d }

func (r *runner) execute(ctx context.Context) {
	for i, op := range r.t.Ops {
		inst := 0
		switch o := op.(type) {
		case Advance:
			if o.D < 0 {
				r.res.Faults["clock-back"]++
			}
			r.clk[0].Add(o.D)
			r.clk[1].Add(o.D)
			r.res.Outcomes = append(r.res.Outcomes, Outcome{})
			continue
		case Skew:
			r.res.Faults["skew"]++
			r.clk[1].Set(r.clk[0].Now().Add(o.D))
			r.res.Outcomes = append(r.res.Outcomes, Outcome{})
			continue
		case Fault:
			r.in.Arm(o.Kind, o.At)
			r.res.Outcomes = append(r.res.Outcomes, Outcome{})
			continue
		case Second:
			if r.second {
				inst = 1
				r.res.Faults["second-instance"]++
			}
		}
		now := store.Instant(r.clk[inst].Now())
		var got Outcome
		fired := false
		if r.faulty {
			opCtx := r.in.Begin(ctx)
			got = op.exec(opCtx, r.stores[inst])
			fired = r.in.End() != 0
		} else {
			got = op.exec(ctx, r.stores[inst])
		}
		got = r.judge.shown(got)
		r.res.Outcomes = append(r.res.Outcomes, got)
		if !r.check(i, op, now, got, fired) {
			return
		}
	}
}

// check holds one outcome to the model, updating the set of states. It
// reports false on a divergence.
func (r *runner) check(i int, op Op, now time.Time, got Outcome, fired bool) bool {
	switch got.Kind {
	case Failed, Ambiguous:
		if !fired {
			// Nothing was injected, so nothing should fail: else a backend
			// that always failed would always pass.
			r.fail(&Divergence{Step: i, Op: op, Now: now, Got: got, Want: r.judge.expectAll(r.worlds, op, now),
				Note: "the backend failed with no fault in effect"})
			return false
		}
		if sw, ok := base(op).(Sweep); ok {
			return r.sweepFailed(i, op, now, got, sw.Batch)
		}
		if got.Kind == Failed {
			return true // definite: no effect, every state stands
		}
		return r.setWorlds(i, op, now, got, r.judge.dedupe(split(r.worlds, op, now)))
	}
	if len(r.worlds) == 1 {
		// The common case: one state, checked in place.
		want := op.expect(r.worlds[0], now)
		if !r.judge.matches(op, want, got) {
			r.fail(&Divergence{Step: i, Op: op, Now: now, Want: []Outcome{r.judge.shown(want)}, Got: got})
			return false
		}
		return true
	}
	var kept []*model.Model
	for _, w := range r.worlds {
		c := w.Clone()
		if r.judge.matches(op, op.expect(c, now), got) {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		r.fail(&Divergence{Step: i, Op: op, Now: now, Want: r.judge.expectAll(r.worlds, op, now), Got: got})
		return false
	}
	r.worlds = r.judge.dedupe(kept)
	return true
}

// sweepFailed checks a sweep that failed part way. Its completed steps
// removed got.N records for certain, and in a sequential run those are the
// earliest expired ones; its failing step removed nothing if the failure is
// definite, and nothing or the next batch if it is ambiguous. A state with
// fewer than got.N expired records cannot explain the count.
func (r *runner) sweepFailed(i int, op Op, now time.Time, got Outcome, batch int) bool {
	var out []*model.Model
	for _, w := range r.worlds {
		expired := len(w.Expired(now))
		done := got.N
		if !r.judge.countExpired {
			// The engine may have dropped expired records by itself:
			// the count says nothing, and no operation can tell.
			done = expired
		}
		if done > expired {
			continue
		}
		if done > 0 {
			c := w.Clone()
			c.DeleteExpired(now, done)
			out = append(out, c)
		} else {
			out = append(out, w)
		}
		if got.Kind == Ambiguous && batch >= 1 && done < expired {
			c := w.Clone()
			c.DeleteExpired(now, done+batch)
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		r.fail(&Divergence{Step: i, Op: op, Now: now, Got: got, Want: r.judge.expectAll(r.worlds, op, now),
			Note: fmt.Sprintf("the sweep reports %d records removed before it failed, more than any possible state held expired", got.N)})
		return false
	}
	return r.setWorlds(i, op, now, got, r.judge.dedupe(out))
}

// setWorlds replaces the possible states after a failure, reporting a run
// whose states outgrow maxWorlds rather than checking it loosely.
func (r *runner) setWorlds(i int, op Op, now time.Time, got Outcome, worlds []*model.Model) bool {
	r.worlds = worlds
	if len(worlds) > maxWorlds {
		r.fail(&Divergence{Step: i, Op: op, Now: now, Got: got,
			Note: fmt.Sprintf("more than %d possible states after ambiguous failures: too many to check", maxWorlds)})
		return false
	}
	return true
}

// split returns, for each state, the state without op and the state with
// it (the caller dedupes them).
func split(worlds []*model.Model, op Op, now time.Time) []*model.Model {
	out := make([]*model.Model, 0, 2*len(worlds))
	for _, w := range worlds {
		applied := w.Clone()
		op.expect(applied, now)
		out = append(out, w, applied)
	}
	return out
}

// dedupe drops states equal to an earlier one, keeping order. Without
// versions to check, states that differ only in versions are one: no
// answer the run compares tells them apart.
func (j judge) dedupe(worlds []*model.Model) []*model.Model {
	if !j.versions {
		return distinct(worlds, blindFingerprint, blindEqual)
	}
	return distinct(worlds, (*model.Model).Fingerprint, (*model.Model).Equal)
}

// expectAll lists the distinct outcomes the states allow, for a report. It
// runs the op on clones so the states are left as they were.
func (j judge) expectAll(worlds []*model.Model, op Op, now time.Time) []Outcome {
	all := judge{countExpired: true, versions: j.versions}
	var out []Outcome
	for _, w := range worlds {
		o := j.shown(op.expect(w.Clone(), now))
		dup := false
		for _, p := range out {
			if all.matches(op, p, o) {
				dup = true
			}
		}
		if !dup {
			out = append(out, o)
		}
	}
	return out
}

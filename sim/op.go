package sim

import (
	"context"
	"slices"
	"time"

	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// Op is one step of a trace: a store operation or a clock advance. Each
// concrete type formats as one line of the trace format (String) and knows
// how to apply itself to a backend and to the model.
type Op interface {
	// String is the op's line in the trace format.
	String() string
	// exec applies the op to the backend and classifies what happened.
	exec(ctx context.Context, s store.Store) Outcome
	// expect applies the op to the model at now and returns what a correct
	// backend would have answered.
	expect(m *model.Model, now time.Time) Outcome
}

// Expect applies op to m at now, as the checker does, and returns what a
// correct backend answers: the way to follow a trace's state while
// building one (storetest's rapid property aims its conditional writes at
// the versions it holds). Clock operations and faults change nothing.
func Expect(op Op, m *model.Model, now time.Time) Outcome { return op.expect(m, now) }

// Create is store.Store.Create.
type Create struct {
	ID    store.ID
	State []byte
	TTL   time.Duration
}

// Load is store.Store.Load.
type Load struct{ ID store.ID }

// Update is store.Store.Update.
type Update struct {
	ID    store.ID
	State []byte
	TTL   time.Duration
}

// UpdateTTL is store.Store.UpdateTTL.
type UpdateTTL struct {
	ID  store.ID
	TTL time.Duration
}

// Delete is store.Store.Delete.
type Delete struct{ ID store.ID }

// ChangeID is store.Store.ChangeID.
type ChangeID struct{ Old, New store.ID }

// DeleteExpired is store.Store.DeleteExpired.
type DeleteExpired struct{ Limit int }

// Sweep is store.Sweep: the backlog of expired records removed Batch at a
// time, through the backend's own store.Sweeper if it has one.
type Sweep struct{ Batch int }

// Advance moves the simulated clock by D, which may be zero or negative. It
// touches no store.
type Advance struct{ D time.Duration }

func (o Create) exec(ctx context.Context, s store.Store) Outcome {
	buf := slices.Clone(o.State)
	defer scribble(buf)
	return outcomeOf(s.Create(ctx, o.ID, buf, o.TTL))
}
func (o Create) expect(m *model.Model, now time.Time) Outcome {
	return outcomeOf(m.Create(now, o.ID, o.State, o.TTL))
}

func (o Load) exec(ctx context.Context, s store.Store) Outcome {
	r, err := s.Load(ctx, o.ID)
	out := outcomeOf(err)
	// The caller owns what Load returns: keep a copy for the comparison
	// and scribble over the original, so a backend that handed out its own
	// buffer shows the damage on the next read.
	out.Record = store.Record{State: slices.Clone(r.State), Expires: r.Expires, Owner: r.Owner, Version: r.Version}
	scribble(r.State)
	return out
}
func (o Load) expect(m *model.Model, now time.Time) Outcome {
	r, err := m.Load(now, o.ID)
	out := outcomeOf(err)
	out.Record = r
	return out
}

func (o Update) exec(ctx context.Context, s store.Store) Outcome {
	buf := slices.Clone(o.State)
	defer scribble(buf)
	return outcomeOf(s.Update(ctx, o.ID, buf, o.TTL))
}
func (o Update) expect(m *model.Model, now time.Time) Outcome {
	return outcomeOf(m.Update(now, o.ID, o.State, o.TTL))
}

func (o UpdateTTL) exec(ctx context.Context, s store.Store) Outcome {
	return outcomeOf(s.UpdateTTL(ctx, o.ID, o.TTL))
}
func (o UpdateTTL) expect(m *model.Model, now time.Time) Outcome {
	return outcomeOf(m.UpdateTTL(now, o.ID, o.TTL))
}

func (o Delete) exec(ctx context.Context, s store.Store) Outcome {
	return outcomeOf(s.Delete(ctx, o.ID))
}
func (o Delete) expect(m *model.Model, now time.Time) Outcome {
	return outcomeOf(m.Delete(now, o.ID))
}

func (o ChangeID) exec(ctx context.Context, s store.Store) Outcome {
	return outcomeOf(s.ChangeID(ctx, o.Old, o.New))
}
func (o ChangeID) expect(m *model.Model, now time.Time) Outcome {
	return outcomeOf(m.ChangeID(now, o.Old, o.New))
}

func (o DeleteExpired) exec(ctx context.Context, s store.Store) Outcome {
	n, err := s.DeleteExpired(ctx, o.Limit)
	out := outcomeOf(err)
	out.N = n
	return out
}
func (o DeleteExpired) expect(m *model.Model, now time.Time) Outcome {
	n, err := m.DeleteExpired(now, o.Limit)
	out := outcomeOf(err)
	out.N = n
	return out
}

func (o Sweep) exec(ctx context.Context, s store.Store) Outcome {
	n, err := store.Sweep(ctx, s, o.Batch)
	out := outcomeOf(err)
	out.N = n // also on failure: what the completed steps removed
	return out
}

// expect: with nothing running beside it, a sweep removes what an
// unlimited DeleteExpired would. A failed sweep is checked by the runner
// (sweepFailed), from the count of its completed steps.
func (o Sweep) expect(m *model.Model, now time.Time) Outcome {
	if err := store.CheckBatch(o.Batch); err != nil {
		return outcomeOf(err)
	}
	n, err := m.DeleteExpired(now, 0)
	out := outcomeOf(err)
	out.N = n
	return out
}

// scribble overwrites a buffer the backend was lent, so that a backend
// keeping the caller's slice instead of a copy is caught by the next read.
func scribble(b []byte) {
	for i := range b {
		b[i] = '!'
	}
}

// Advance is applied by the runner to its clock; these are never called.
func (o Advance) exec(context.Context, store.Store) Outcome { return Outcome{} }
func (o Advance) expect(*model.Model, time.Time) Outcome    { return Outcome{} }

// Fault arms a fault (package faults) for the next store operation. It
// touches no store by itself. At says which of the operation's requests a
// network fault hits (0 or 1: the first).
type Fault struct {
	Kind faults.Kind
	At   int
}

// Skew sets the clock of the second store instance to the first's plus D:
// two application servers sharing one database whose clocks disagree.
type Skew struct{ D time.Duration }

// Second runs Op on the second store instance, whose clock is skewed.
type Second struct{ Op Op }

// Client runs Op on one of a trace's concurrent clients, numbered from 0.
// In a trace of several clients every store operation and fault is wrapped
// in one, and clock operations are not: they are barriers at which every
// client is quiet (see Record). A trace of one client wraps nothing.
type Client struct {
	N  int
	Op Op
}

// clientOf splits op into the client that runs it (0 in a trace of one
// client) and the operation itself, a Second kept.
func clientOf(op Op) (int, Op) {
	if c, ok := op.(Client); ok {
		return c.N, c.Op
	}
	return 0, op
}

func (o Client) exec(ctx context.Context, s store.Store) Outcome { return o.Op.exec(ctx, s) }
func (o Client) expect(m *model.Model, now time.Time) Outcome    { return o.Op.expect(m, now) }

func (o Fault) exec(context.Context, store.Store) Outcome { return Outcome{} }
func (o Fault) expect(*model.Model, time.Time) Outcome    { return Outcome{} }
func (o Skew) exec(context.Context, store.Store) Outcome  { return Outcome{} }
func (o Skew) expect(*model.Model, time.Time) Outcome     { return Outcome{} }
func (o Second) exec(ctx context.Context, s store.Store) Outcome {
	return o.Op.exec(ctx, s)
}
func (o Second) expect(m *model.Model, now time.Time) Outcome { return o.Op.expect(m, now) }

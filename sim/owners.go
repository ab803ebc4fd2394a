package sim

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// The operations of the optional capabilities store.Owners and
// store.Toucher. A trace holds them only for a backend that has them
// (GenConfig.Owners, GenConfig.Touch); run against one that does not, they
// make Run and Record fail with ErrMissingCapability before anything runs.

// CreateOwned is store.Owners.CreateOwned.
type CreateOwned struct {
	ID    store.ID
	Owner store.Owner
	State []byte
	TTL   time.Duration
	Cap   int
}

// Cycle is store.Owners.Cycle.
type Cycle struct {
	Old, New store.ID
	Owner    store.Owner
	State    []byte
	TTL      time.Duration
	Cap      int
}

// List is store.Owners.List.
type List struct{ Owner store.Owner }

// Revoke is store.Owners.Revoke of the handle of ID, or, when Handle is
// set, of Handle as it is (a trace's way to pass a malformed one).
type Revoke struct {
	Owner  store.Owner
	ID     store.ID
	Handle store.Handle
}

// RevokeAll is store.Owners.RevokeAll.
type RevokeAll struct {
	Owner  store.Owner
	Except []store.ID
}

// Touch is store.Toucher.Touch.
type Touch struct {
	ID         store.ID
	TTL        time.Duration
	Resolution time.Duration
}

// ErrMissingCapability is returned by Run and Record for a trace with
// operations of a capability (store.Owners, store.Toucher,
// store.Versioner, store.Scanner) the backend does not have, or that
// checks versions on a backend without them.
var ErrMissingCapability = fmt.Errorf("sim: the backend lacks a capability the trace uses")

// handle is the handle Revoke passes: the one the session under ID has in
// lists, which is the handle of its stored ID (store.Keyer) as stored
// gives it: the backend's when Revoke runs, the model's when it is
// modelled.
func (o Revoke) handle(stored func(store.ID) store.ID) store.Handle {
	if o.Handle != "" {
		return o.Handle
	}
	return store.HandleOf(stored(o.ID))
}

func (o CreateOwned) exec(ctx context.Context, s store.Store) Outcome {
	buf := slices.Clone(o.State)
	defer scribble(buf)
	return outcomeOf(s.(store.Owners).CreateOwned(ctx, o.ID, o.Owner, buf, o.TTL, o.Cap))
}
func (o CreateOwned) expect(m *model.Model, now time.Time) Outcome {
	return outcomeOf(m.CreateOwned(now, o.ID, o.Owner, o.State, o.TTL, o.Cap))
}

func (o Cycle) exec(ctx context.Context, s store.Store) Outcome {
	buf := slices.Clone(o.State)
	defer scribble(buf)
	return outcomeOf(s.(store.Owners).Cycle(ctx, o.Old, o.New, o.Owner, buf, o.TTL, o.Cap))
}
func (o Cycle) expect(m *model.Model, now time.Time) Outcome {
	return outcomeOf(m.Cycle(now, o.Old, o.New, o.Owner, o.State, o.TTL, o.Cap))
}

func (o List) exec(ctx context.Context, s store.Store) Outcome {
	l, err := s.(store.Owners).List(ctx, o.Owner)
	out := outcomeOf(err)
	out.List = normList(l)
	return out
}
func (o List) expect(m *model.Model, now time.Time) Outcome {
	l, err := m.List(now, o.Owner)
	out := outcomeOf(err)
	out.List = normList(l)
	return out
}

// normList gives lists one spelling: nil for empty, expiries in UTC.
func normList(l []store.OwnedSession) []store.OwnedSession {
	if len(l) == 0 {
		return nil
	}
	out := make([]store.OwnedSession, len(l))
	for i, e := range l {
		out[i] = store.OwnedSession{Handle: e.Handle, Expires: e.Expires.UTC()}
	}
	return out
}

func (o Revoke) exec(ctx context.Context, s store.Store) Outcome {
	h := o.handle(func(id store.ID) store.ID { return store.StoredID(s, id) })
	return outcomeOf(s.(store.Owners).Revoke(ctx, o.Owner, h))
}
func (o Revoke) expect(m *model.Model, now time.Time) Outcome {
	return outcomeOf(m.Revoke(now, o.Owner, o.handle(m.StoredID)))
}

func (o RevokeAll) exec(ctx context.Context, s store.Store) Outcome {
	n, err := s.(store.Owners).RevokeAll(ctx, o.Owner, slices.Clone(o.Except)...)
	out := outcomeOf(err)
	out.N = n
	return out
}
func (o RevokeAll) expect(m *model.Model, now time.Time) Outcome {
	n, err := m.RevokeAll(now, o.Owner, o.Except...)
	out := outcomeOf(err)
	out.N = n
	return out
}

func (o Touch) exec(ctx context.Context, s store.Store) Outcome {
	r, err := s.(store.Toucher).Touch(ctx, o.ID, o.TTL, o.Resolution)
	out := outcomeOf(err)
	out.Record = store.Record{State: slices.Clone(r.State), Expires: r.Expires, Owner: r.Owner, Version: r.Version}
	scribble(r.State) // the caller's to keep, as Load's
	return out
}
func (o Touch) expect(m *model.Model, now time.Time) Outcome {
	r, err := m.Touch(now, o.ID, o.TTL, o.Resolution)
	out := outcomeOf(err)
	out.Record = r
	return out
}

// needs reports the capabilities a trace's operations use.
func (t *Trace) needs() (owners, touch bool) {
	for _, op := range t.Ops {
		switch base(op).(type) {
		case CreateOwned, Cycle, List, Revoke, RevokeAll:
			owners = true
		case Touch:
			touch = true
		}
	}
	return owners, touch
}

// checkCapabilities fails for a backend that lacks what the trace uses.
func (t *Trace) checkCapabilities(s store.Store) error {
	owners, touch := t.needs()
	if _, ok := s.(store.Owners); owners && !ok {
		return fmt.Errorf("%w: the trace lists, revokes or caps owners' sessions (store.Owners)", ErrMissingCapability)
	}
	if _, ok := s.(store.Toucher); touch && !ok {
		return fmt.Errorf("%w: the trace touches sessions (store.Toucher)", ErrMissingCapability)
	}
	if _, ok := s.(store.Versioner); t.versioned() && !ok {
		return fmt.Errorf("%w: the trace checks versions or writes conditionally (store.Versioner)", ErrMissingCapability)
	}
	if _, ok := s.(store.Scanner); t.scans() && !ok {
		return fmt.Errorf("%w: the trace scans sessions (store.Scanner)", ErrMissingCapability)
	}
	return nil
}

// opOwner is the owner an operation names ("" for none).
func opOwner(op Op) store.Owner {
	switch o := op.(type) {
	case CreateOwned:
		return o.Owner
	case Cycle:
		return o.Owner
	case List:
		return o.Owner
	case Revoke:
		return o.Owner
	case RevokeAll:
		return o.Owner
	}
	return ""
}

// ownerOp reports whether op reaches across an owner's sessions, so that
// a history holding one cannot be split by ID.
func ownerOp(op Op) bool {
	switch o := op.(type) {
	case CreateOwned, List, Revoke, RevokeAll:
		return true
	case Cycle:
		// Without an owner it is ChangeID's move as far as IDs go: the
		// owner it takes from the session matters only to owner
		// operations, whose presence makes the history one part anyway.
		return o.Owner != ""
	}
	return false
}

// Probe makes one backend from newStore, on a fresh clock and injector,
// and returns cfg with Owners, Touch, Versions and Scan set to the
// capabilities it has (store.Owners, store.Toucher, store.Versioner,
// store.Scanner), so that a generator aims only at what the backend can
// do. A capability cfg asks for and the backend lacks is
// ErrMissingCapability.
func Probe(cfg GenConfig, newStore Factory) (GenConfig, error) {
	c := cfg.withDefaults()
	s, err := newStore(Env{Clock: clock.NewSim(c.Start), Limits: c.Limits, Faults: faults.New()})
	if err != nil {
		return cfg, fmt.Errorf("sim: making the backend: %w", err)
	}
	if cl, ok := s.(io.Closer); ok {
		defer cl.Close()
	}
	_, owners := s.(store.Owners)
	_, touch := s.(store.Toucher)
	_, versions := s.(store.Versioner)
	_, scan := s.(store.Scanner)
	switch {
	case cfg.Owners && !owners:
		return cfg, fmt.Errorf("%w: store.Owners", ErrMissingCapability)
	case cfg.Touch && !touch:
		return cfg, fmt.Errorf("%w: store.Toucher", ErrMissingCapability)
	case cfg.Versions && !versions:
		return cfg, fmt.Errorf("%w: store.Versioner", ErrMissingCapability)
	case cfg.Scan && !scan:
		return cfg, fmt.Errorf("%w: store.Scanner", ErrMissingCapability)
	}
	cfg.Owners, cfg.Touch, cfg.Versions, cfg.Scan = owners, touch, versions, scan
	return cfg, nil
}

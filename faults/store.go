package faults

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/store"
)

// Wrap returns s with the Injector's store-level faults applied around each
// operation: FailBefore fails without calling s (definite), FailAfter calls s
// and then reports an ambiguous failure, FailLost reports an ambiguous
// failure without calling s. For a backend with no connection hook
// (DialFunc was never used), network faults are emulated the same way:
// NetRefuse as FailBefore, NetDrop and NetStall as FailAfter. Any backend,
// in memory or third-party, thus gets the faults it can be given. The
// wrapper is a store.Sweeper too, faulting a whole sweep as one operation,
// and has exactly the optional capabilities (store.Owners, store.Toucher,
// store.Versioner, store.Scanner) that s has, faulted the same way. Its
// StoredID is s's, never faulted: it is a computation, not a request.
func Wrap(s store.Store, in *Injector) store.Store {
	return view.Of(&faulty{s: s, in: in}, view.Has(s))
}

type faulty struct {
	s  store.Store
	in *Injector
}

// Capabilities passes the wrapped backend's through.
func (f *faulty) Capabilities() store.Capabilities { return store.CapabilitiesOf(f.s) }

// StoredID passes the wrapped backend's through, so that a fault injector
// over a keyed layer (package hashid) orders and names sessions as it does.
func (f *faulty) StoredID(id store.ID) store.ID { return store.StoredID(f.s, id) }

// handles reports whether the wrapper injects k. Injector.take calls it
// with the Injector's lock held.
func (f *faulty) handles(k Kind) bool {
	switch k {
	case FailBefore, FailAfter, FailLost:
		return true
	case NetRefuse, NetDrop, NetStall:
		return !f.in.netUsed
	}
	return false
}

// around applies the active fault, if it is the wrapper's, to op.
func (f *faulty) around(op func() error) error {
	switch f.in.take(f.handles) {
	case FailBefore, NetRefuse:
		return ErrInjected
	case FailLost:
		return store.Ambiguous(ErrInjected)
	case FailAfter, NetDrop, NetStall:
		_ = op()
		return store.Ambiguous(ErrInjected)
	}
	return op()
}

func (f *faulty) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	return f.around(func() error { return f.s.Create(ctx, id, state, ttl) })
}

func (f *faulty) Load(ctx context.Context, id store.ID) (store.Record, error) {
	var r store.Record
	err := f.around(func() error {
		var err error
		r, err = f.s.Load(ctx, id)
		return err
	})
	if err != nil {
		return store.Record{}, err
	}
	return r, nil
}

func (f *faulty) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	return f.around(func() error { return f.s.Update(ctx, id, state, ttl) })
}

func (f *faulty) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	return f.around(func() error { return f.s.UpdateTTL(ctx, id, ttl) })
}

func (f *faulty) Delete(ctx context.Context, id store.ID) error {
	return f.around(func() error { return f.s.Delete(ctx, id) })
}

func (f *faulty) ChangeID(ctx context.Context, old, new store.ID) error {
	return f.around(func() error { return f.s.ChangeID(ctx, old, new) })
}

// Sweep faults the whole sweep as one operation. FailAfter runs it to the
// end and then reports an ambiguous failure with what it removed, which is
// what a sweep whose last step's answer was lost would report.
func (f *faulty) Sweep(ctx context.Context, batch int) (int, error) {
	var n int
	err := f.around(func() error {
		var err error
		n, err = store.Sweep(ctx, f.s, batch)
		return err
	})
	return n, err
}

func (f *faulty) DeleteExpired(ctx context.Context, limit int) (int, error) {
	var n int
	err := f.around(func() error {
		var err error
		n, err = f.s.DeleteExpired(ctx, limit)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

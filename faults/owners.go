package faults

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The optional capabilities pass through Wrap, faulted like every other
// operation, and only when the wrapped backend has them: a wrapper that
// claimed store.Owners for a backend without it would turn a missing
// capability into a run-time failure.

// base is what the wrapper offers every backend.
type base interface {
	store.Store
	store.Sweeper
	store.CapabilityReporter
}

// ownerOps and touchOp are the methods of store.Owners and store.Toucher
// beyond store.Store.
type ownerOps interface {
	CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error
	Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error
	List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error)
	Revoke(ctx context.Context, owner store.Owner, h store.Handle) error
	RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error)
}

type touchOp interface {
	Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error)
}

// view shows f with the capabilities of the backend it wraps.
func view(f *faulty) store.Store {
	_, owners := f.s.(store.Owners)
	_, touch := f.s.(store.Toucher)
	switch {
	case owners && touch:
		return f
	case owners:
		return struct {
			base
			ownerOps
		}{f, f}
	case touch:
		return struct {
			base
			touchOp
		}{f, f}
	}
	return struct{ base }{f}
}

func (f *faulty) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return f.around(func() error { return f.s.(store.Owners).CreateOwned(ctx, id, owner, state, ttl, cap) })
}

func (f *faulty) Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return f.around(func() error { return f.s.(store.Owners).Cycle(ctx, old, new, owner, state, ttl, cap) })
}

func (f *faulty) List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	var l []store.OwnedSession
	err := f.around(func() error {
		var err error
		l, err = f.s.(store.Owners).List(ctx, owner)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (f *faulty) Revoke(ctx context.Context, owner store.Owner, h store.Handle) error {
	return f.around(func() error { return f.s.(store.Owners).Revoke(ctx, owner, h) })
}

func (f *faulty) RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error) {
	var n int
	err := f.around(func() error {
		var err error
		n, err = f.s.(store.Owners).RevokeAll(ctx, owner, except...)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (f *faulty) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	var r store.Record
	err := f.around(func() error {
		var err error
		r, err = f.s.(store.Toucher).Touch(ctx, id, ttl, resolution)
		return err
	})
	if err != nil {
		return store.Record{}, err
	}
	return r, nil
}

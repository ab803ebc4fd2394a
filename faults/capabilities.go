package faults

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The optional capabilities pass through Wrap, faulted like every other
// operation. Each method asserts the capability it calls: Wrap shows only
// the methods of the capabilities the wrapped backend has (view.Of), so the
// assertion cannot fail.

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

func (f *faulty) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	var v uint64
	err := f.around(func() error {
		var err error
		v, err = f.s.(store.Versioner).UpdateIf(ctx, id, version, state, ttl)
		return err
	})
	if err != nil {
		return 0, err
	}
	return v, nil
}

func (f *faulty) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	var v uint64
	err := f.around(func() error {
		var err error
		v, err = f.s.(store.Versioner).ChangeIDIf(ctx, old, new, version, state)
		return err
	})
	if err != nil {
		return 0, err
	}
	return v, nil
}

// Scan hands out no page on a failure: a FailAfter reads and then loses
// the answer, as a dropped connection would.
func (f *faulty) Scan(ctx context.Context, after store.ID, limit int) ([]store.ID, error) {
	var ids []store.ID
	err := f.around(func() error {
		var err error
		ids, err = f.s.(store.Scanner).Scan(ctx, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

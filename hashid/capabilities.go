package hashid

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The optional capabilities. Each method asserts its backend's capability:
// New shows a method only when the backend has it (view.Of), so the
// assertion cannot fail. Owners and handles pass through as they are: a
// handle is HandleOf the stored ID, which the backend computes from what
// it stores.

func (l *layer) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	if err := id.Validate(); err != nil {
		return err
	}
	ctx = store.WithVersionSeed(ctx, id, owner, state)
	return l.inner.(store.Owners).CreateOwned(ctx, l.key(id), owner, state, ttl, cap)
}

func (l *layer) Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	if err := validate2(old, new); err != nil {
		return err
	}
	return l.inner.(store.Owners).Cycle(ctx, l.key(old), l.key(new), owner, state, ttl, cap)
}

func (l *layer) List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	return l.inner.(store.Owners).List(ctx, owner)
}

func (l *layer) Revoke(ctx context.Context, owner store.Owner, h store.Handle) error {
	return l.inner.(store.Owners).Revoke(ctx, owner, h)
}

// RevokeAll validates the owner before the IDs, as the contract orders
// them: an invalid owner with an invalid ID is ErrInvalidOwner.
func (l *layer) RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error) {
	if err := store.CheckExcept(owner, except); err != nil {
		return 0, err
	}
	keys := make([]store.ID, len(except))
	for i, id := range except {
		keys[i] = l.key(id)
	}
	return l.inner.(store.Owners).RevokeAll(ctx, owner, keys...)
}

func (l *layer) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	if err := id.Validate(); err != nil {
		return store.Record{}, err
	}
	return l.inner.(store.Toucher).Touch(ctx, l.key(id), ttl, resolution)
}

func (l *layer) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	if err := id.Validate(); err != nil {
		return 0, err
	}
	return l.inner.(store.Versioner).UpdateIf(ctx, l.key(id), version, state, ttl)
}

func (l *layer) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	if err := validate2(old, new); err != nil {
		return 0, err
	}
	return l.inner.(store.Versioner).ChangeIDIf(ctx, l.key(old), l.key(new), version, state)
}

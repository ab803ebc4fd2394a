package seal

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The optional capabilities store.Owners and store.Toucher. Each method
// returns ErrUnsupported when the inner store lacks the capability; Store
// hides them then.

// CreateOwned seals state for id and creates the owner's session.
func (l *Layer) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	o, ok := l.inner.(store.Owners)
	if !ok {
		return unsupported("store.Owners")
	}
	c, err := l.limits.CheckOwned(id, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	ctx = store.WithVersionSeed(ctx, id, owner, state)
	return o.CreateOwned(ctx, id, owner, l.seal(id, state), ttl, capArg(cap, c))
}

// Cycle seals state for new and cycles the session there.
func (l *Layer) Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	o, ok := l.inner.(store.Owners)
	if !ok {
		return unsupported("store.Owners")
	}
	c, err := l.limits.CheckCycle(old, new, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	return o.Cycle(ctx, old, new, owner, l.seal(new, state), ttl, capArg(cap, c))
}

// capArg is the cap to pass the inner store: the one in effect under the
// layer's limits when there is one, so that Options.Limits.MaxPerOwner
// applies, else the caller's (0: the inner store's).
func capArg(cap, inEffect int) int {
	if inEffect > 0 {
		return inEffect
	}
	return cap
}

// List passes through: it shows no state.
func (l *Layer) List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	o, ok := l.inner.(store.Owners)
	if !ok {
		return nil, unsupported("store.Owners")
	}
	return o.List(ctx, owner)
}

// Revoke passes through.
func (l *Layer) Revoke(ctx context.Context, owner store.Owner, h store.Handle) error {
	o, ok := l.inner.(store.Owners)
	if !ok {
		return unsupported("store.Owners")
	}
	return o.Revoke(ctx, owner, h)
}

// RevokeAll passes through.
func (l *Layer) RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error) {
	o, ok := l.inner.(store.Owners)
	if !ok {
		return 0, unsupported("store.Owners")
	}
	return o.RevokeAll(ctx, owner, except...)
}

// Touch touches the session and returns it with its state opened; a
// tampered state is store.ErrNotFound, as for Load. The expiry it moves is
// not part of the sealed blob, so a Touch never re-seals.
func (l *Layer) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	t, ok := l.inner.(store.Toucher)
	if !ok {
		return store.Record{}, unsupported("store.Toucher")
	}
	if err := l.limits.CheckTouch(id, ttl, resolution); err != nil {
		return store.Record{}, err
	}
	r, err := t.Touch(ctx, id, ttl, resolution)
	if err != nil {
		return store.Record{}, err
	}
	return l.opened(id, r)
}

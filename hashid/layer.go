package hashid

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/store"
)

// Options configure New. The zero value stores plain hashes.
type Options struct {
	// Key, if not empty, keys the hash (HMAC-SHA256): for session IDs with
	// less than about 128 bits of entropy. It must be at least MinKeyLen
	// bytes, from a random source, and it can never change without
	// logging every session out. New copies it. See the package
	// documentation.
	Key []byte
}

// ErrNilStore is what New returns when given no store to wrap.
var ErrNilStore = errors.New("hashid: nil store")

// New returns inner behind a layer that stores a hash of each session ID
// in its place. The result has inner's optional capabilities but
// store.Scanner. A key shorter than MinKeyLen is ErrKeyLength.
func New(inner store.Store, opts Options) (store.Store, error) {
	if inner == nil {
		return nil, ErrNilStore
	}
	h, err := newHasher(opts.Key)
	if err != nil {
		return nil, err
	}
	l := &layer{inner: inner, h: h}
	return view.Of(l, view.Has(inner)&^view.Scanner), nil
}

// layer validates each ID the caller gives before hashing it: the hash of
// an invalid ID is a valid one, so an invalid ID must be refused here, and
// in the contract's order, or it would reach the backend as a valid
// stored ID. Every other argument is the backend's to validate, after the
// IDs, which is where the contract puts them.
type layer struct {
	inner store.Store
	h     *hasher
}

// key returns the ID the layer hands its backend for id.
func (l *layer) key(id store.ID) store.ID { return l.h.stored(id) }

// StoredID composes the layer's hash with the backend's own StoredID, so
// that layers stack.
func (l *layer) StoredID(id store.ID) store.ID { return store.StoredID(l.inner, l.key(id)) }

// Capabilities passes the backend's through.
func (l *layer) Capabilities() store.Capabilities { return store.CapabilitiesOf(l.inner) }

func (l *layer) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	// The backend numbers the new record from the ID given here, not
	// from its hash (store.WithVersionSeed).
	ctx = store.WithVersionSeed(ctx, id, "", state)
	return l.inner.Create(ctx, l.key(id), state, ttl)
}

func (l *layer) Load(ctx context.Context, id store.ID) (store.Record, error) {
	if err := id.Validate(); err != nil {
		return store.Record{}, err
	}
	return l.inner.Load(ctx, l.key(id))
}

func (l *layer) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	return l.inner.Update(ctx, l.key(id), state, ttl)
}

func (l *layer) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	return l.inner.UpdateTTL(ctx, l.key(id), ttl)
}

func (l *layer) Delete(ctx context.Context, id store.ID) error {
	if err := id.Validate(); err != nil {
		return err
	}
	return l.inner.Delete(ctx, l.key(id))
}

func (l *layer) ChangeID(ctx context.Context, old, new store.ID) error {
	if err := validate2(old, new); err != nil {
		return err
	}
	return l.inner.ChangeID(ctx, l.key(old), l.key(new))
}

func (l *layer) DeleteExpired(ctx context.Context, limit int) (int, error) {
	return l.inner.DeleteExpired(ctx, limit)
}

// Sweep is the backend's: a sweep names no ID.
func (l *layer) Sweep(ctx context.Context, batch int) (int, error) {
	return store.Sweep(ctx, l.inner, batch)
}

// Scan is never reachable: New hides store.Scanner, since a scan of the
// backend would return hashes, which are not IDs. It exists because the
// layer is built from view.Full.
func (l *layer) Scan(context.Context, store.ID, int) ([]store.ID, error) {
	return nil, fmt.Errorf("hashid: %w: the layer stores hashes and cannot list session IDs", errors.ErrUnsupported)
}

// validate2 validates two IDs in order, as ChangeID, Cycle and ChangeIDIf
// take them.
func validate2(old, new store.ID) error {
	if err := old.Validate(); err != nil {
		return err
	}
	return new.Validate()
}

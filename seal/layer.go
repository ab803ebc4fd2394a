package seal

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/store"
)

// Options configure a Layer.
type Options struct {
	// Namespace goes into every blob's additional data, so that a blob
	// copied from one table to another sealed by the same ring fails
	// authentication. Give each store its own (its table's name, say);
	// changing it makes every stored session unreadable (tampered).
	Namespace string
	// Limits are what the caller sees: the layer validates arguments
	// with them before sealing. The inner store must accept
	// MaxStateSize+Overhead bytes of state (a state of exactly
	// MaxStateSize is sealed into that many), and should have the same
	// MaxTTL and MaxPerOwner. Zero fields mean the defaults.
	Limits store.Limits
	// OnTamper, if not nil, is called with every blob that fails
	// authentication when a session is read (Load, Touch, ChangeID,
	// Reseal). It runs on the reading goroutine, possibly on many at
	// once, so it should be quick (count, log, alert).
	OnTamper func(*TamperError)
}

// Layer is a store.Store whose sessions are kept sealed in an inner store.
// Use it through Store, which has exactly the inner store's optional
// capabilities; its own optional methods return ErrUnsupported when the
// inner store lacks them. Safe for concurrent use.
type Layer struct {
	inner     store.Store
	ver       store.Versioner
	ring      *Ring
	limits    store.Limits
	aadPrefix []byte
	onTamper  func(*TamperError)
	tampered  atomic.Uint64

	// Test hooks that plant the bugs the tests must catch: nonce, if not
	// nil, fills a nonce instead of crypto/rand; unbound leaves the ID
	// out of the additional data.
	nonce   func([]byte)
	unbound bool
}

// The layer has every method; Store shows the ones its inner store has.
var _ view.Full = (*Layer)(nil)

// New returns a layer over inner sealing with ring. inner must be a
// store.Versioner (else ErrNeedsVersioner): ChangeID re-seals the state for
// the new ID, and only a conditional move (ChangeIDIf) keeps that one
// atomic step that loses no concurrent update. A nil ring is ErrEmptyRing.
func New(inner store.Store, ring *Ring, opts Options) (*Layer, error) {
	if ring == nil || len(ring.keys) == 0 {
		return nil, &RingError{Err: ErrEmptyRing}
	}
	ver, ok := inner.(store.Versioner)
	if !ok {
		return nil, ErrNeedsVersioner
	}
	prefix := make([]byte, 0, len(aadLabel)+len(opts.Namespace)+1)
	prefix = append(prefix, aadLabel...)
	prefix = append(prefix, opts.Namespace...)
	prefix = append(prefix, 0)
	return &Layer{
		inner:     inner,
		ver:       ver,
		ring:      ring,
		limits:    opts.Limits.WithDefaults(),
		aadPrefix: prefix,
		onTamper:  opts.OnTamper,
	}, nil
}

// Store returns the layer as a store.Store with exactly the optional
// capabilities (store.Owners, store.Toucher, store.Versioner,
// store.Scanner) of the inner store.
func (l *Layer) Store() store.Store { return view.Of(l, view.Has(l.inner)) }

// Tampered returns how many reads have met a blob that failed
// authentication since the layer was made.
func (l *Layer) Tampered() uint64 { return l.tampered.Load() }

// Seal returns state sealed for the session under id, as the layer would
// store it. It is for tools (a migration writing sealed rows); it
// validates the ID and the state's size.
func (l *Layer) Seal(id store.ID, state []byte) ([]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if err := l.limits.CheckState(state); err != nil {
		return nil, err
	}
	return l.seal(id, state), nil
}

// Open returns the state a blob stored under id holds, and the ID of the
// key that sealed it. A blob that fails authentication is a *TamperError
// (errors.Is ErrTampered); Open neither counts it nor calls OnTamper,
// which are for the store's reads. Other errors wrap ErrFormat or
// ErrUnknownKey, or are store.ErrInvalidID.
func (l *Layer) Open(id store.ID, blob []byte) ([]byte, uint32, error) {
	if err := id.Validate(); err != nil {
		return nil, 0, err
	}
	return l.open(id, blob)
}

// opened turns what a read found under id into the caller's record: the
// state opened, or store.ErrNotFound, counted and reported, if it was
// tampered with.
func (l *Layer) opened(id store.ID, r store.Record) (store.Record, error) {
	state, _, err := l.open(id, r.State)
	if err != nil {
		return store.Record{}, l.readErr(err)
	}
	r.State = state
	return r, nil
}

// readErr reports a tampered blob and turns it into store.ErrNotFound;
// other errors pass.
func (l *Layer) readErr(err error) error {
	var te *TamperError
	if !errors.As(err, &te) {
		return err
	}
	l.tampered.Add(1)
	if l.onTamper != nil {
		l.onTamper(te)
	}
	return store.ErrNotFound
}

// Create seals state for id and creates the session.
func (l *Layer) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := l.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	// The backend numbers the new record from the state given here, not
	// from the sealed one (store.WithVersionSeed).
	ctx = store.WithVersionSeed(ctx, id, "", state)
	return l.inner.Create(ctx, id, l.seal(id, state), ttl)
}

// Load returns the session with its state opened. A state that fails
// authentication is store.ErrNotFound (and OnTamper is called); one under
// a key the ring lacks, or in an unknown format, is an error wrapping
// ErrUnknownKey or ErrFormat.
func (l *Layer) Load(ctx context.Context, id store.ID) (store.Record, error) {
	if err := id.Validate(); err != nil {
		return store.Record{}, err
	}
	r, err := l.inner.Load(ctx, id)
	if err != nil {
		return store.Record{}, err
	}
	return l.opened(id, r)
}

// Update seals state for id and replaces the session's.
func (l *Layer) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := l.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	return l.inner.Update(ctx, id, l.seal(id, state), ttl)
}

// UpdateTTL validates with the layer's limits and passes through: the
// sealed state is kept as it is.
func (l *Layer) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if err := l.limits.CheckTTL(ttl); err != nil {
		return err
	}
	return l.inner.UpdateTTL(ctx, id, ttl)
}

// Delete passes through.
func (l *Layer) Delete(ctx context.Context, id store.ID) error { return l.inner.Delete(ctx, id) }

// DeleteExpired passes through.
func (l *Layer) DeleteExpired(ctx context.Context, limit int) (int, error) {
	return l.inner.DeleteExpired(ctx, limit)
}

// Sweep is the inner store's sweep.
func (l *Layer) Sweep(ctx context.Context, batch int) (int, error) {
	return store.Sweep(ctx, l.inner, batch)
}

// Capabilities are the inner store's.
func (l *Layer) Capabilities() store.Capabilities { return store.CapabilitiesOf(l.inner) }

// StoredID is the inner store's: the layer stores a session under the ID
// it is given.
func (l *Layer) StoredID(id store.ID) store.ID { return store.StoredID(l.inner, id) }

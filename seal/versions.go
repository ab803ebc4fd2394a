package seal

import (
	"context"
	"errors"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// ChangeID moves the session from old to new, its state re-sealed for new:
// a blob is bound to its ID, so moving it unchanged would make it
// unreadable. It loads old at some version, opens and re-seals the state,
// and moves it with ChangeIDIf at that version, in one atomic step: the
// session is never readable under both IDs or neither, and a write that
// lands in between makes the move fail with ErrConflict, after which it
// loads and tries again (ctx bounds the retries). A tampered state at old
// is store.ErrNotFound, as Load reads it.
func (l *Layer) ChangeID(ctx context.Context, old, new store.ID) error {
	if err := old.Validate(); err != nil {
		return err
	}
	if err := new.Validate(); err != nil {
		return err
	}
	for {
		r, err := l.inner.Load(ctx, old)
		if err != nil {
			return err
		}
		state, _, err := l.open(old, r.State)
		if err != nil {
			return l.readErr(err)
		}
		_, err = l.ver.ChangeIDIf(ctx, old, new, r.Version, l.seal(new, state))
		if !retry(err) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// retry reports whether a conditional write failed only because the
// session moved on since it was read. An ambiguous failure is never
// retried: it may have been applied.
func retry(err error) bool {
	return errors.Is(err, store.ErrConflict) && !store.IsAmbiguous(err)
}

// UpdateIf seals state for id and updates the session if it is at version.
func (l *Layer) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	if err := l.limits.CheckUpdateIf(id, version, state, ttl); err != nil {
		return 0, err
	}
	return l.ver.UpdateIf(ctx, id, version, l.seal(id, state), ttl)
}

// ChangeIDIf seals state for new and moves the session there if it is at
// version.
func (l *Layer) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	if err := l.limits.CheckChangeIDIf(old, new, version, state); err != nil {
		return 0, err
	}
	return l.ver.ChangeIDIf(ctx, old, new, version, l.seal(new, state))
}

// Scan passes through (store.Scanner).
func (l *Layer) Scan(ctx context.Context, after store.ID, limit int) ([]store.ID, error) {
	sc, ok := l.inner.(store.Scanner)
	if !ok {
		return nil, unsupported("store.Scanner")
	}
	return sc.Scan(ctx, after, limit)
}

func unsupported(capability string) error {
	return &capabilityError{capability}
}

type capabilityError struct{ name string }

func (e *capabilityError) Error() string { return ErrUnsupported.Error() + ": " + e.name }
func (e *capabilityError) Unwrap() error { return ErrUnsupported }

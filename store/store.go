package store

import (
	"context"
	"time"
)

// Store is a session store. Every method is atomic and linearizable, reads
// the backend's clock exactly once, and validates its arguments before doing
// anything else. See the package documentation and CONTRACT.md for the full
// contract; package model is its executable form.
type Store interface {
	// Create stores a new session. It fails with ErrDuplicateID if a live
	// session has id; an expired record under id is replaced.
	Create(ctx context.Context, id ID, state []byte, ttl time.Duration) error

	// Load returns the live session under id, or ErrNotFound. The returned
	// state is the caller's to keep and modify.
	Load(ctx context.Context, id ID) (Record, error)

	// Update replaces the state and expiry of a live session. It fails with
	// ErrNotFound if the session is absent or expired: an update never brings
	// a session back.
	Update(ctx context.Context, id ID, state []byte, ttl time.Duration) error

	// UpdateTTL sets the expiry of a live session to now+ttl, keeping its
	// state, or fails with ErrNotFound.
	UpdateTTL(ctx context.Context, id ID, ttl time.Duration) error

	// Delete removes a session. It returns ErrNotFound if no live session had
	// id, and removes an expired record under id all the same.
	Delete(ctx context.Context, id ID) error

	// ChangeID moves a live session from old to new in one atomic step,
	// keeping its state and expiry. It fails with ErrNotFound if old is not
	// live and with ErrDuplicateID if new is live (including old == new); an
	// expired record under new is replaced.
	ChangeID(ctx context.Context, old, new ID) error

	// DeleteExpired removes expired records, earliest expiry first (ties by
	// ID, byte order), at most limit of them (0: all), and returns how many it
	// removed. A negative limit is ErrInvalidLimit.
	DeleteExpired(ctx context.Context, limit int) (int, error)
}

// Capabilities describe how a backend departs from a plain table.
type Capabilities struct {
	// NativeExpiry: the backend's engine drops expired records by itself
	// (Redis-like). DeleteExpired may return 0, and checkers ignore its count
	// and whether expired records are still physically present.
	NativeExpiry bool
}

// CapabilityReporter is implemented by backends whose capabilities are not
// the zero value.
type CapabilityReporter interface {
	Capabilities() Capabilities
}

// CapabilitiesOf returns s's capabilities, or the zero value if it reports none.
func CapabilitiesOf(s Store) Capabilities {
	if c, ok := s.(CapabilityReporter); ok {
		return c.Capabilities()
	}
	return Capabilities{}
}

// Pinger is implemented by backends that can check they are reachable, for
// readiness probes.
type Pinger interface {
	Ping(ctx context.Context) error
}

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxOwnerLen is the longest valid owner, in bytes.
const MaxOwnerLen = 256

// Owner is the application's key for the user a session belongs to: a user
// ID, an account number, an email address. It is opaque to the store, which
// only compares it byte for byte. A valid owner is 1 to MaxOwnerLen bytes of
// valid UTF-8 without NUL (the bytes a PostgreSQL text column can hold).
// The zero Owner means "no owner": sessions made by Create have none.
type Owner string

// Validate reports whether o is a valid owner. The error wraps
// ErrInvalidOwner and says what is wrong without echoing the input.
func (o Owner) Validate() error {
	switch {
	case len(o) == 0:
		return fmt.Errorf("%w: empty", ErrInvalidOwner)
	case len(o) > MaxOwnerLen:
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrInvalidOwner, len(o), MaxOwnerLen)
	case !utf8.ValidString(string(o)):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidOwner)
	}
	for i := 0; i < len(o); i++ {
		if o[i] == 0 {
			return fmt.Errorf("%w: NUL byte at offset %d", ErrInvalidOwner, i)
		}
	}
	return nil
}

// validateOptional accepts the zero Owner (no owner) and otherwise
// validates o.
func (o Owner) validateOptional() error {
	if o == "" {
		return nil
	}
	return o.Validate()
}

// HandleLen is the length of a Handle: 32 lowercase hexadecimal digits.
const HandleLen = 32

// Handle names one of an owner's sessions in a list (Owners.List) without
// being its ID: a list is shown on an account page, logged and passed around
// in forms, and a session ID is a credential. A handle is the first 128 bits
// of SHA-256 of a fixed prefix and the ID, in hex: anyone holding the ID can
// compute it (HandleOf), no one can go back from it to the ID. It changes
// when the session's ID does (ChangeID, Cycle).
type Handle string

// handlePrefix separates handles from any other hash of an ID.
const handlePrefix = "hourglass/handle\x00"

// HandleOf returns the handle of the session under id.
func HandleOf(id ID) Handle {
	sum := sha256.Sum256([]byte(handlePrefix + string(id)))
	return Handle(hex.EncodeToString(sum[:HandleLen/2]))
}

// ParseHandle returns s as a Handle, or an error wrapping ErrInvalidHandle.
func ParseHandle(s string) (Handle, error) {
	h := Handle(s)
	if err := h.Validate(); err != nil {
		return "", err
	}
	return h, nil
}

// Validate reports whether h is well formed: HandleLen lowercase hex digits.
func (h Handle) Validate() error {
	if len(h) != HandleLen {
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidHandle, len(h), HandleLen)
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%w: byte %#02x at offset %d is not a lowercase hex digit", ErrInvalidHandle, c, i)
		}
	}
	return nil
}

// OwnedSession is one entry of an owner's list: what an account page shows
// as one of "your devices". It carries no ID and no state: the handle
// revokes the session (Owners.Revoke), the expiry says how long it has left,
// and the application keeps whatever it shows about a device (a user agent,
// a place) in the session's state, which it can read by ID.
type OwnedSession struct {
	Handle  Handle
	Expires time.Time
}

// Owners is the optional capability of a backend that keeps, with each
// session, the owner it belongs to, and can find, list and revoke an
// owner's sessions. memstore and pgstore implement it; so does the
// reference model. Every method is atomic and linearizable, reads the clock
// once, and validates its arguments first, as the Store methods do. See
// CONTRACT.md for the exact rules.
//
// "Oldest", wherever a cap evicts, is earliest expiry first, ties by ID in
// byte order: with sliding expiry (Toucher), the session idle the longest.
type Owners interface {
	Store

	// CreateOwned is Create for a session that belongs to owner. If the
	// owner already has cap live sessions or more, its oldest live sessions
	// are removed in the same atomic step, so that with the new one it has
	// cap: at no point has any owner more than cap. cap 0 means the
	// store's Limits.MaxPerOwner (0 there: no cap); a negative cap is
	// ErrInvalidCap.
	CreateOwned(ctx context.Context, id ID, owner Owner, state []byte, ttl time.Duration, cap int) error

	// Cycle moves a live session from old to new and replaces its state,
	// expiry (now+ttl) and owner in one atomic step: the login step that
	// defeats session fixation. Its errors are ChangeID's: ErrNotFound if
	// old is not live, ErrDuplicateID if new is live (also when old ==
	// new), and an expired record under new is replaced. owner may be the
	// zero Owner, leaving the session with none; otherwise the owner's cap
	// applies as in CreateOwned, counting the owner's other live sessions.
	Cycle(ctx context.Context, old, new ID, owner Owner, state []byte, ttl time.Duration, cap int) error

	// List returns owner's live sessions, oldest first (earliest expiry,
	// ties by ID), as handles and expiries.
	List(ctx context.Context, owner Owner) ([]OwnedSession, error)

	// Revoke removes owner's session with handle h. It returns ErrNotFound
	// if no live session of owner has that handle, removing an expired one
	// all the same, as Delete does. A session of another owner is never
	// touched, whatever its handle.
	Revoke(ctx context.Context, owner Owner, h Handle) error

	// RevokeAll removes every session of owner except those under the IDs
	// in except ("log out everywhere else"), expired ones included, and
	// returns how many live sessions it removed. IDs in except that are
	// not owner's sessions are ignored.
	RevokeAll(ctx context.Context, owner Owner, except ...ID) (int, error)
}

// Toucher is the optional capability of sliding expiry in one round trip.
type Toucher interface {
	Store

	// Touch loads the live session under id and, in the same atomic step,
	// extends its expiry to now+ttl if that moves it forward by resolution
	// or more; otherwise nothing is written, so most requests of an idle
	// timeout cost a read, not a durable write. It never shortens a
	// session. It returns the record as it is afterwards, or ErrNotFound
	// if no live session has id (an expired one is never revived). A
	// negative resolution is ErrInvalidTTL; 0 writes whenever the expiry
	// moves forward.
	Touch(ctx context.Context, id ID, ttl, resolution time.Duration) (Record, error)
}

// CheckOwned validates CreateOwned's arguments in the contract's order (ID,
// owner, TTL, size, cap) and returns the cap in effect (0: none).
func (l Limits) CheckOwned(id ID, owner Owner, state []byte, ttl time.Duration, cap int) (int, error) {
	if err := id.Validate(); err != nil {
		return 0, err
	}
	if err := owner.Validate(); err != nil {
		return 0, err
	}
	if err := l.CheckTTL(ttl); err != nil {
		return 0, err
	}
	if err := l.CheckState(state); err != nil {
		return 0, err
	}
	return l.Cap(cap)
}

// CheckCycle validates Cycle's arguments in the contract's order (old, new,
// owner if any, TTL, size, cap) and returns the cap in effect (0: none, and
// always 0 when owner is the zero Owner).
func (l Limits) CheckCycle(old, new ID, owner Owner, state []byte, ttl time.Duration, cap int) (int, error) {
	if err := old.Validate(); err != nil {
		return 0, err
	}
	if err := new.Validate(); err != nil {
		return 0, err
	}
	if err := owner.validateOptional(); err != nil {
		return 0, err
	}
	if err := l.CheckTTL(ttl); err != nil {
		return 0, err
	}
	if err := l.CheckState(state); err != nil {
		return 0, err
	}
	c, err := l.Cap(cap)
	if owner == "" {
		c = 0
	}
	return c, err
}

// Cap resolves a per-call cap: a positive cap is itself, 0 is the store's
// MaxPerOwner (0: no cap), and a negative one, or a negative MaxPerOwner,
// is ErrInvalidCap.
func (l Limits) Cap(cap int) (int, error) {
	if cap < 0 {
		return 0, fmt.Errorf("%w: %d (want at least 1, or 0 for the store's cap)", ErrInvalidCap, cap)
	}
	if cap > 0 {
		return cap, nil
	}
	if l.MaxPerOwner < 0 {
		return 0, fmt.Errorf("%w: the store's MaxPerOwner is %d (want at least 1, or 0 for no cap)", ErrInvalidCap, l.MaxPerOwner)
	}
	return l.MaxPerOwner, nil
}

// CheckExcept validates RevokeAll's arguments: the owner, then every ID.
func CheckExcept(owner Owner, except []ID) error {
	if err := owner.Validate(); err != nil {
		return err
	}
	for _, id := range except {
		if err := id.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// CheckTouch validates Touch's arguments: the ID, the TTL, the resolution.
func (l Limits) CheckTouch(id ID, ttl, resolution time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if err := l.CheckTTL(ttl); err != nil {
		return err
	}
	if resolution < 0 {
		return fmt.Errorf("%w: resolution %v is negative", ErrInvalidTTL, resolution)
	}
	return nil
}

// Extends reports whether a Touch at now with ttl and resolution writes a
// record that expires at expires, and the expiry it writes: it does when
// now+ttl is later than expires by resolution or more (and later at all).
func Extends(now, expires time.Time, ttl, resolution time.Duration) (time.Time, bool) {
	next := Expiry(now, ttl)
	return next, next.After(expires) && next.Sub(expires) >= resolution
}

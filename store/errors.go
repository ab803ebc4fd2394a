package store

import "errors"

// Outcomes of the contract. Backends return these (possibly wrapped) so that
// callers can branch with errors.Is whatever the backend.
var (
	// ErrNotFound: no live session has the ID.
	ErrNotFound = errors.New("hourglass: session not found")
	// ErrDuplicateID: a live session already has the ID.
	ErrDuplicateID = errors.New("hourglass: session id already in use")
	// ErrConflict: a conditional write (Versioner) found the session live
	// at another version than the one it was given; nothing changed.
	// Reload the session, reapply the change, and try again.
	ErrConflict = errors.New("hourglass: session changed since it was read (version conflict)")
)

// Validation failures. An operation that returns one of these did nothing and
// never reached the backend's storage.
var (
	// ErrInvalidID: the ID is empty, too long or has a byte outside [A-Za-z0-9_-].
	ErrInvalidID = errors.New("hourglass: invalid session id")
	// ErrInvalidTTL: the TTL is not positive or exceeds the backend's maximum.
	ErrInvalidTTL = errors.New("hourglass: invalid ttl")
	// ErrTooLarge: the state exceeds the backend's size limit.
	ErrTooLarge = errors.New("hourglass: session state too large")
	// ErrInvalidLimit: DeleteExpired was given a negative limit.
	ErrInvalidLimit = errors.New("hourglass: invalid limit")
	// ErrInvalidOwner: the owner is empty, too long, not UTF-8 or holds a
	// NUL byte (see Owner).
	ErrInvalidOwner = errors.New("hourglass: invalid owner")
	// ErrInvalidCap: a cap on an owner's sessions is below 1.
	ErrInvalidCap = errors.New("hourglass: invalid cap")
	// ErrInvalidHandle: a handle is not HandleLen lowercase hex digits.
	ErrInvalidHandle = errors.New("hourglass: invalid session handle")
	// ErrInvalidVersion: a conditional write was given version 0, which no
	// record has (a record read from a backend without versions).
	ErrInvalidVersion = errors.New("hourglass: invalid session version")
)

// ErrAmbiguous marks a failure whose outcome is unknown: the request may have
// been applied (for example, it was sent and the connection dropped before the
// answer arrived). Test with errors.Is(err, ErrAmbiguous) or IsAmbiguous.
//
// Any other non-nil error from a backend is definite: the operation had no
// effect and may be retried. An ambiguous write must not be retried blindly:
// a retried Create can report ErrDuplicateID for a session it created itself,
// and a retried ChangeID can report ErrNotFound after it succeeded. Read the
// session back instead.
var ErrAmbiguous = errors.New("hourglass: outcome unknown, the operation may have been applied")

// Ambiguous wraps err so that errors.Is(result, ErrAmbiguous) holds while
// errors.Is and errors.As still see err. It returns nil for a nil err, and err
// itself when it is already marked.
func Ambiguous(err error) error {
	if err == nil || errors.Is(err, ErrAmbiguous) {
		return err
	}
	return &ambiguousError{err: err}
}

// IsAmbiguous reports whether err says the operation may have been applied.
func IsAmbiguous(err error) bool { return errors.Is(err, ErrAmbiguous) }

type ambiguousError struct{ err error }

func (e *ambiguousError) Error() string {
	return "outcome unknown (may have been applied): " + e.err.Error()
}
func (e *ambiguousError) Unwrap() error        { return e.err }
func (e *ambiguousError) Is(target error) bool { return target == ErrAmbiguous }

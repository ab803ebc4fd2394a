package seal

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/hourglass-go/hourglass/store"
)

// Errors of the key ring. NewRing and ParseRing return a *RingError that
// wraps one of these; none of them ever holds key material or the text of
// the entry it is about.
var (
	// ErrKeyLength: a secret is not KeySize (32) bytes.
	ErrKeyLength = errors.New("seal: key secret is not 32 bytes")
	// ErrEmptyRing: the ring has no keys (or is nil).
	ErrEmptyRing = errors.New("seal: key ring is empty")
	// ErrNoWriteKey: the write key's ID is not one of the ring's keys.
	ErrNoWriteKey = errors.New("seal: the write key is not in the ring")
	// ErrDuplicateKey: two keys of the ring have the same ID.
	ErrDuplicateKey = errors.New("seal: key ID appears twice in the ring")
	// ErrRingSyntax: an entry of a ring specification is not
	// id:base64url-secret.
	ErrRingSyntax = errors.New("seal: malformed key ring entry")
)

// Errors of reading sealed state. ErrUnknownKey and ErrFormat mean the
// ring or the code, not the row, is wrong (a key retired before Reseal
// finished, a row written unsealed or by a newer format), so the layer
// returns them to the caller instead of logging the user out silently. A
// blob that fails authentication is the row's fault: the layer reads it
// as store.ErrNotFound, and only Open returns ErrTampered.
var (
	// ErrUnknownKey: the state is sealed under a key ID the ring does not
	// hold.
	ErrUnknownKey = errors.New("seal: state is sealed with a key the ring does not hold")
	// ErrFormat: the state's first byte is not a format this package
	// reads (a row written unsealed, or by a newer version).
	ErrFormat = errors.New("seal: state is not in a sealed format this version reads")
	// ErrTampered: sealed state failed authentication (or is too short to
	// be a blob). A *TamperError wraps it.
	ErrTampered = errors.New("seal: sealed state failed authentication")
)

// Errors of setting the layer up and of using a capability.
var (
	// ErrNeedsVersioner: New was given a store without store.Versioner.
	// ChangeID re-seals the state for the new ID, which is one atomic step
	// only as a conditional move (ChangeIDIf).
	ErrNeedsVersioner = errors.New("seal: the inner store must implement store.Versioner")
	// ErrNeedsScanner: Reseal was called over a store without
	// store.Scanner. A hashid layer has none (it cannot turn a hash back
	// into an ID), so it must be outermost: hashid.New(seal.New(...)).
	ErrNeedsScanner = errors.New("seal: Reseal needs a store.Scanner below the layer (put hashid outermost: hashid over seal)")
	// ErrUnsupported: an optional method (store.Owners, store.Toucher,
	// store.Scanner) was called on the *Layer directly while the inner
	// store lacks that capability. Layer.Store hides such methods.
	ErrUnsupported = errors.New("seal: the inner store lacks this capability")
)

// RingError says which part of a key ring is wrong. It wraps one of
// ErrKeyLength, ErrEmptyRing, ErrNoWriteKey, ErrDuplicateKey and
// ErrRingSyntax, and names the entry by position and, once parsed, by key
// ID, which is not secret; it never holds a secret or an entry's text.
type RingError struct {
	// Err is the sentinel the error wraps.
	Err error
	// Entry is the 1-based position of the entry in ParseRing's
	// specification or NewRing's keys, 0 when the error is about the
	// ring as a whole.
	Entry int
	// KeyID is the entry's key ID, when HasKeyID says it was read.
	KeyID    uint32
	HasKeyID bool
	// Reason says what is wrong with the entry, in the package's words.
	Reason string
}

// Error describes the problem without any key material.
func (e *RingError) Error() string {
	msg := e.Err.Error()
	if e.Entry > 0 {
		msg += ": entry " + strconv.Itoa(e.Entry)
	}
	if e.HasKeyID {
		msg += " (key ID " + strconv.FormatUint(uint64(e.KeyID), 10) + ")"
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap returns the sentinel, for errors.Is.
func (e *RingError) Unwrap() error { return e.Err }

// The reasons a TamperError gives.
const (
	// ReasonTruncated: the blob is shorter than a header, nonce and tag.
	ReasonTruncated = "truncated"
	// ReasonAuth: the tag does not match: the ciphertext, its header, or
	// the session or namespace it is read for, differs from what was
	// sealed.
	ReasonAuth = "authentication failed"
)

// TamperError describes a sealed state that failed authentication: a row
// edited, truncated, or moved from another session or table. The layer
// passes it to Options.OnTamper and reads the session as store.ErrNotFound,
// as if the row were absent, because to the application it is: no state
// the layer sealed for this session is there. It names the session by its
// handle, never its ID.
type TamperError struct {
	// Handle is store.HandleFor(inner, id): the handle lists show.
	Handle store.Handle
	// KeyID is the key ID the blob's header names (0 if it is too short
	// to hold one).
	KeyID uint32
	// Reason is ReasonTruncated or ReasonAuth.
	Reason string
}

// Error describes the failure by handle and key ID.
func (e *TamperError) Error() string {
	return fmt.Sprintf("%v (session handle %s, key ID %d): %s", ErrTampered, e.Handle, e.KeyID, e.Reason)
}

// Unwrap returns ErrTampered, for errors.Is.
func (e *TamperError) Unwrap() error { return ErrTampered }

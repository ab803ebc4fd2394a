package store

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// MaxIDLen is the longest valid session ID, in bytes.
const MaxIDLen = 128

// ID is a session identifier chosen by the caller. It is opaque to the store
// but restricted to 1 to MaxIDLen bytes of [A-Za-z0-9_-], so that it can sit in
// a cookie, a URL, a log line or a Redis key without escaping. IDs compare and
// sort as bytes.
type ID string

// NewID returns a fresh random ID: 32 bytes from crypto/rand encoded as
// unpadded base64url (43 characters, 256 bits). It is what a session should
// be given at creation and at every privilege change (see Store.ChangeID).
func NewID() ID {
	var b [32]byte
	// crypto/rand.Read never returns an error on supported platforms (Go
	// 1.24+ crashes the program instead), so there is nothing to handle.
	_, _ = rand.Read(b[:])
	return ID(base64.RawURLEncoding.EncodeToString(b[:]))
}

// ParseID returns s as an ID, or an error wrapping ErrInvalidID.
func ParseID(s string) (ID, error) {
	id := ID(s)
	if err := id.Validate(); err != nil {
		return "", err
	}
	return id, nil
}

// Validate reports whether id is well formed. The error wraps ErrInvalidID
// and says what is wrong, without echoing an arbitrarily long input.
func (id ID) Validate() error {
	if len(id) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidID)
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrInvalidID, len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return fmt.Errorf("%w: byte %#02x at offset %d is not in [A-Za-z0-9_-]", ErrInvalidID, id[i], i)
		}
	}
	return nil
}

func idByte(c byte) bool { return idBytes[c] }

// idBytes is the ID alphabet as a table: validation runs on every operation
// of every backend, and a lookup is several times cheaper than the range
// comparisons it replaces.
var idBytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	return t
}()

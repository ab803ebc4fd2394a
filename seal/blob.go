package seal

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hourglass-go/hourglass/store"
)

// Overhead is how many bytes sealing adds to a state: a 5-byte header
// (format, key ID), a 24-byte nonce and a 16-byte tag. The inner store
// must accept states of Options.Limits.MaxStateSize+Overhead.
const Overhead = headerLen + nonceLen + tagLen

// The sealed blob: a header (format, key ID), the nonce, the ciphertext
// with its tag.
const (
	formatV1  = 0x01
	headerLen = 1 + 4
	nonceLen  = chacha20poly1305.NonceSizeX
	tagLen    = chacha20poly1305.Overhead
)

// aadLabel starts every blob's additional data, so that no other use of
// the same key (there should be none) can produce a tag this package
// accepts.
const aadLabel = "hourglass/seal\x00"

// aad is the additional data of a blob for id: the label, the namespace,
// a NUL, the ID, the header. IDs never hold a NUL and the header has a
// fixed length, so two different (namespace, ID, header) never give the
// same bytes.
func (l *Layer) aad(id store.ID, header []byte) []byte {
	b := make([]byte, 0, len(l.aadPrefix)+len(id)+headerLen)
	b = append(b, l.aadPrefix...)
	if !l.unbound {
		b = append(b, id...)
	}
	return append(b, header...)
}

// seal encrypts state for the session that will live under id, with the
// ring's write key and a fresh random nonce.
func (l *Layer) seal(id store.ID, state []byte) []byte {
	out := make([]byte, headerLen+nonceLen, Overhead+len(state))
	out[0] = formatV1
	binary.BigEndian.PutUint32(out[1:headerLen], l.ring.write)
	nonce := out[headerLen : headerLen+nonceLen]
	if l.nonce != nil {
		l.nonce(nonce)
	} else {
		// 192 random bits: a collision is out of reach however many
		// states one key seals (see the package documentation).
		_, _ = rand.Read(nonce)
	}
	return l.ring.keys[l.ring.write].Seal(out, nonce, state, l.aad(id, out[:headerLen]))
}

// open decrypts a blob read under id. Its errors are a *TamperError (the
// blob is not what the layer sealed for id in this namespace), or wrap
// ErrFormat or ErrUnknownKey (the ring or the code cannot read it).
func (l *Layer) open(id store.ID, blob []byte) ([]byte, uint32, error) {
	if len(blob) == 0 {
		return nil, 0, l.tamper(id, 0, ReasonTruncated)
	}
	if blob[0] != formatV1 {
		// The byte itself is not shown: for a row written unsealed it
		// is the first byte of a session's state.
		return nil, 0, fmt.Errorf("%w: first byte is not %#02x", ErrFormat, formatV1)
	}
	if len(blob) < Overhead {
		var keyID uint32
		if len(blob) >= headerLen {
			keyID = binary.BigEndian.Uint32(blob[1:headerLen])
		}
		return nil, keyID, l.tamper(id, keyID, ReasonTruncated)
	}
	keyID := binary.BigEndian.Uint32(blob[1:headerLen])
	aead, ok := l.ring.keys[keyID]
	if !ok {
		return nil, keyID, fmt.Errorf("%w: key ID %d (ring %v)", ErrUnknownKey, keyID, l.ring)
	}
	state, err := aead.Open(nil, blob[headerLen:headerLen+nonceLen], blob[headerLen+nonceLen:], l.aad(id, blob[:headerLen]))
	if err != nil {
		return nil, keyID, l.tamper(id, keyID, ReasonAuth)
	}
	if state == nil {
		state = []byte{}
	}
	return state, keyID, nil
}

// keyOf returns the key ID of a blob with a well-formed header, and false
// for any other.
func keyOf(blob []byte) (uint32, bool) {
	if len(blob) < Overhead || blob[0] != formatV1 {
		return 0, false
	}
	return binary.BigEndian.Uint32(blob[1:headerLen]), true
}

func (l *Layer) tamper(id store.ID, keyID uint32, reason string) *TamperError {
	return &TamperError{Handle: store.HandleFor(l.inner, id), KeyID: keyID, Reason: reason}
}

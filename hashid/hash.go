package hashid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/hourglass-go/hourglass/store"
)

// MinKeyLen is the shortest key Options.Key accepts, in bytes: 256 bits,
// the size of the digest, so that the key is never the weaker part.
const MinKeyLen = 32

// ErrKeyLength is what New returns for a key shorter than MinKeyLen. The
// error says how long the key was, never what it holds.
var ErrKeyLength = errors.New("hashid: key too short")

// prefix separates the hashes this package stores from any other hash of
// an ID (a handle is SHA-256 of "hourglass/handle\x00" and the ID).
const prefix = "hourglass/hashid\x00"

// StoredLen is the length of every ID the layer stores: a 32-byte digest
// as unpadded base64url.
const StoredLen = 43

// hasher turns a session ID into the ID stored in its place. It runs on
// every operation, so it allocates nothing but the string it returns.
type hasher struct {
	// macs holds HMAC states for the keyed hash (nil pool.New: plain).
	// A pooled state is reset to its precomputed pads (crypto/hmac keeps
	// the SHA-256 states after K^ipad and K^opad), so a hash costs the
	// blocks of the message alone: 316 ns against 400 ns for hashing the
	// pads as two extra blocks each time, on the machine this was written
	// on (BenchmarkHash).
	macs sync.Pool
}

// macState is one pooled HMAC with the scratch space its input needs: a
// buffer on the stack would escape through the hash.Hash interface.
type macState struct {
	mac hash.Hash
	buf [len(prefix) + store.MaxIDLen]byte
	sum [sha256.Size]byte
}

func newHasher(key []byte) (*hasher, error) {
	h := &hasher{}
	if len(key) == 0 {
		return h, nil
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrKeyLength, len(key), MinKeyLen)
	}
	// The caller may reuse or wipe its slice.
	own := append([]byte(nil), key...)
	h.macs.New = func() any { return &macState{mac: hmac.New(sha256.New, own)} }
	return h, nil
}

// stored returns the ID stored for id.
func (h *hasher) stored(id store.ID) store.ID {
	var sum [sha256.Size]byte
	if h.macs.New == nil {
		sum = plainSum(id)
	} else {
		sum = h.keyedSum(id)
	}
	var out [StoredLen]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return store.ID(out[:])
}

// plainSum is SHA-256(prefix || id).
func plainSum(id store.ID) [sha256.Size]byte {
	if len(id) > store.MaxIDLen {
		// Only StoredID sees an invalid ID; it need not be fast.
		return sha256.Sum256([]byte(prefix + string(id)))
	}
	var buf [len(prefix) + store.MaxIDLen]byte
	n := copy(buf[:], prefix)
	n += copy(buf[n:], id)
	return sha256.Sum256(buf[:n])
}

// keyedSum is HMAC-SHA256(key, prefix || id).
func (h *hasher) keyedSum(id store.ID) [sha256.Size]byte {
	m := h.macs.Get().(*macState)
	defer h.macs.Put(m)
	m.mac.Reset()
	if len(id) > store.MaxIDLen {
		m.mac.Write([]byte(prefix + string(id)))
	} else {
		n := copy(m.buf[:], prefix)
		n += copy(m.buf[n:], id)
		m.mac.Write(m.buf[:n])
	}
	m.mac.Sum(m.sum[:0])
	return m.sum
}

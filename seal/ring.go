package seal

import (
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of a key's secret: 32 bytes (XChaCha20-Poly1305's
// key).
const KeySize = chacha20poly1305.KeySize

// Key is one key of a ring: an ID, which goes into every blob sealed with
// it so that the ring finds the key again after a rotation, and a secret
// of KeySize random bytes. IDs are not secret. Printing a Key (fmt, slog)
// shows its ID only.
type Key struct {
	ID     uint32
	Secret []byte
}

// String shows the key's ID, never its secret.
func (k Key) String() string {
	return "seal.Key{ID: " + strconv.FormatUint(uint64(k.ID), 10) + ", Secret: [redacted]}"
}

// GoString is String: %#v must not print the secret either.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb, so that no verb (%x, %q, %+v)
// reaches the secret through fmt's reflection.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue shows the key's ID only.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("id", uint64(k.ID)), slog.String("secret", "[redacted]"))
}

// MarshalJSON shows the key's ID only: slog's JSON handler, among others,
// encodes a Key inside a struct with encoding/json, which would otherwise
// write the secret in base64.
func (k Key) MarshalJSON() ([]byte, error) {
	return []byte(`{"id":` + strconv.FormatUint(uint64(k.ID), 10) + `,"secret":"[redacted]"}`), nil
}

// Ring is a set of keys, one of which seals (the write key); every key
// opens what it sealed. A rotation makes a new key the write key, runs
// Layer.Reseal, then drops the old key (the package documentation gives
// the steps for several instances).
// A Ring is immutable and safe for concurrent use. It holds no copy of the
// secrets it was given, only the ciphers made from them, and printing it
// (fmt, slog) shows key IDs and which one writes, nothing else.
type Ring struct {
	write uint32
	ids   []uint32 // sorted
	keys  map[uint32]cipher.AEAD
}

// NewRing returns a ring of keys that seals with the key whose ID is write.
// The secrets are copied: the caller may zero its slices afterwards. Its
// errors are *RingError wrapping ErrEmptyRing, ErrKeyLength,
// ErrDuplicateKey or ErrNoWriteKey.
func NewRing(write uint32, keys ...Key) (*Ring, error) {
	if len(keys) == 0 {
		return nil, &RingError{Err: ErrEmptyRing}
	}
	r := &Ring{write: write, keys: make(map[uint32]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if len(k.Secret) != KeySize {
			return nil, &RingError{Err: ErrKeyLength, Entry: i + 1, KeyID: k.ID, HasKeyID: true,
				Reason: fmt.Sprintf("secret is %d bytes, want %d", len(k.Secret), KeySize)}
		}
		if _, dup := r.keys[k.ID]; dup {
			return nil, &RingError{Err: ErrDuplicateKey, Entry: i + 1, KeyID: k.ID, HasKeyID: true}
		}
		aead, err := chacha20poly1305.NewX(k.Secret)
		if err != nil {
			// Only FIPS 140-only mode gets here (the length is checked);
			// its message holds no key material.
			return nil, fmt.Errorf("seal: key ID %d: %w", k.ID, err)
		}
		r.keys[k.ID] = aead
		r.ids = append(r.ids, k.ID)
	}
	if _, ok := r.keys[write]; !ok {
		return nil, &RingError{Err: ErrNoWriteKey, KeyID: write, HasKeyID: true}
	}
	slices.Sort(r.ids)
	return r, nil
}

// ParseRing reads a ring from configuration (an environment variable, a
// secret file): comma-separated entries id:secret, where id is a decimal
// uint32 and secret is KeySize bytes in base64url, with or without
// padding (canonical: no stray bits, no misplaced '='). The first entry's
// key is the write key, so a rotation prepends the new key. Space around
// an entry is ignored. A malformed entry is a *RingError wrapping
// ErrRingSyntax that names the entry by position and never repeats its
// text; the other errors are NewRing's.
func ParseRing(spec string) (*Ring, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, &RingError{Err: ErrEmptyRing}
	}
	entries := strings.Split(spec, ",")
	keys := make([]Key, 0, len(entries))
	for i, e := range entries {
		k, err := parseEntry(i+1, strings.TrimSpace(e))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	r, err := NewRing(keys[0].ID, keys...)
	for _, k := range keys {
		clear(k.Secret)
	}
	return r, err
}

// parseEntry reads the n-th entry, id:secret.
func parseEntry(n int, e string) (Key, error) {
	syntax := func(reason string) error { return &RingError{Err: ErrRingSyntax, Entry: n, Reason: reason} }
	if e == "" {
		return Key{}, syntax("empty entry")
	}
	idText, secretText, ok := strings.Cut(e, ":")
	if !ok {
		return Key{}, syntax("no ':' between key ID and secret")
	}
	id, err := strconv.ParseUint(idText, 10, 32)
	if err != nil {
		return Key{}, syntax("key ID is not a decimal number from 0 to 4294967295")
	}
	enc := base64.RawURLEncoding
	if strings.HasSuffix(secretText, "=") {
		enc = base64.URLEncoding
	}
	secret, err := enc.Strict().DecodeString(secretText)
	if err != nil {
		// The decoder's message names an offset, harmless, but the
		// reason below is all an operator needs.
		return Key{}, &RingError{Err: ErrRingSyntax, Entry: n, KeyID: uint32(id), HasKeyID: true,
			Reason: "secret is not canonical base64url"}
	}
	return Key{ID: uint32(id), Secret: secret}, nil
}

// WriteKey returns the ID of the key that seals.
func (r *Ring) WriteKey() uint32 { return r.write }

// KeyIDs returns the IDs of the ring's keys in increasing order.
func (r *Ring) KeyIDs() []uint32 { return slices.Clone(r.ids) }

// Has reports whether the ring holds a key with the ID.
func (r *Ring) Has(id uint32) bool {
	_, ok := r.keys[id]
	return ok
}

// String shows the key IDs and which one writes, nothing else.
func (r Ring) String() string {
	var b strings.Builder
	b.WriteString("seal.Ring{write: ")
	b.WriteString(strconv.FormatUint(uint64(r.write), 10))
	b.WriteString(", keys: [")
	for i, id := range r.ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(uint64(id), 10))
	}
	b.WriteString("]}")
	return b.String()
}

// GoString is String: %#v must not reach the ciphers either.
func (r Ring) GoString() string { return r.String() }

// Format prints String for every verb.
func (r Ring) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// LogValue shows the key IDs and the write key.
func (r Ring) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("write", uint64(r.write)), slog.Any("keys", slices.Clone(r.ids)))
}

// MarshalJSON shows the key IDs and the write key, as LogValue does.
func (r Ring) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Write uint32   `json:"write"`
		Keys  []uint32 `json:"keys"`
	}{r.write, r.ids})
}

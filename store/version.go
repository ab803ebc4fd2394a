package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
	"time"
)

// KeepTTL, passed as UpdateIf's TTL, keeps the session's expiry as it is
// and replaces only its state (as go-redis's KeepTTL keeps a key's). It is
// what re-writing a session without extending it needs: re-sealing state
// under a new key (package seal), a migration of the state's encoding.
// Only UpdateIf accepts it; every other TTL is validated as ever.
const KeepTTL time.Duration = -1

// Versioner is the optional capability of versioned records: every record
// carries a version that is FirstVersion when the session is created and
// grows by one with every write to it (Update, UpdateTTL, ChangeID, a Touch that writes,
// Cycle and the two methods below), and Load and Touch return it in
// Record.Version. The conditional writes apply only to the version the
// caller read, which removes the lost update of two requests that each
// load, change and save one session: the second save fails with
// ErrConflict instead of overwriting the first.
//
// A record is created (Create, CreateOwned) at FirstVersion of what it is
// created with, not at 1: a version must name one state of one session,
// also when the ID is deleted and created again between a read and a
// conditional write (the concurrent checker found a re-encrypting ChangeID
// that moved the re-created session with the earlier one's state, when
// both started at 1). Backends without the capability return Version 0.
type Versioner interface {
	Store

	// UpdateIf is Update applied only if the live session under id is at
	// version: it replaces the state and sets the expiry to now+ttl (or
	// keeps it, with KeepTTL), and returns the new version. It fails with
	// ErrNotFound if no live session has id and with ErrConflict if it is
	// at another version; either way nothing changed. A version of 0 is
	// ErrInvalidVersion.
	UpdateIf(ctx context.Context, id ID, version uint64, state []byte, ttl time.Duration) (uint64, error)

	// ChangeIDIf is ChangeID that also replaces the state, applied only if
	// the live session under old is at version: in one atomic step the
	// session moves to new with the given state, keeping its expiry and
	// owner, and the new version is returned. Its errors, checked in this
	// order, are ErrNotFound (old is not live), ErrConflict (old is at
	// another version) and ErrDuplicateID (new is live, also when old ==
	// new). It is the conditional cycle: rotating an ID together with a
	// state that was computed from the version read (a re-sealed state
	// bound to the new ID, say) without losing a concurrent update.
	ChangeIDIf(ctx context.Context, old, new ID, version uint64, state []byte) (uint64, error)
}

// FirstVersion is the version a record created with these fields starts
// at: 1 plus the first 62 bits of a SHA-256 over them, so that two
// sessions created under one ID one after the other have different
// versions unless they are identical in every field (and then no one can
// tell them apart). Every write adds one to it; 2^62 writes fit before a
// signed 64-bit column would overflow.
//
// The fields are the ones the caller of the outermost store gave: a layer
// that changes what reaches the backend (a sealed state, a hashed ID)
// hands the backend its seed in the context (WithVersionSeed), and a
// backend takes the seed from VersionSeedOf, so that every stack of
// layers numbers versions as the model does.
func FirstVersion(id ID, owner Owner, state []byte, expires time.Time) uint64 {
	return SeedVersion(id, owner, state).At(expires)
}

// VersionSeed is FirstVersion's hash of the fields known before the clock
// is read, so that a backend can hash a large state before it takes a
// lock and finish under it (At) in a fixed, small cost.
type VersionSeed [sha256.Size]byte

// SeedVersion hashes a fixed prefix, the ID, the owner and the state.
func SeedVersion(id ID, owner Owner, state []byte) VersionSeed {
	w := seedHashes.Get().(*seedHash)
	defer seedHashes.Put(w)
	w.h.Reset()
	w.buf = append(append(append(append(append(w.buf[:0], versionPrefix...), id...), 0), owner...), 0)
	w.h.Write(w.buf)
	w.h.Write(state)
	w.sum = w.h.Sum(w.sum[:0])
	var s VersionSeed
	copy(s[:], w.sum)
	return s
}

// seedHash is a hash state and buffers, pooled so that SeedVersion, which
// every Create runs, allocates nothing.
type seedHash struct {
	h        hash.Hash
	buf, sum []byte
}

var seedHashes = sync.Pool{New: func() any { return &seedHash{h: sha256.New()} }}

// At is FirstVersion of the seeded fields and expires.
func (s VersionSeed) At(expires time.Time) uint64 {
	var buf [sha256.Size + 8]byte
	copy(buf[:], s[:])
	binary.BigEndian.PutUint64(buf[sha256.Size:], uint64(expires.UnixMicro()))
	sum := sha256.Sum256(buf[:])
	return binary.BigEndian.Uint64(sum[:8])>>2 + 1
}

// versionPrefix separates FirstVersion's hashes from every other hash.
const versionPrefix = "hourglass/version\x00"

type versionSeedKey struct{}

// WithVersionSeed returns ctx carrying the seed (SeedVersion) of the
// fields a Create or CreateOwned was given, unless ctx already carries
// one: a layer calls it with its own caller's fields, before it changes
// them, and the outermost layer's seed wins. The hash is computed only
// when it is needed: under an outer layer, an inner one pays nothing.
func WithVersionSeed(ctx context.Context, id ID, owner Owner, state []byte) context.Context {
	if _, ok := ctx.Value(versionSeedKey{}).(VersionSeed); ok {
		return ctx
	}
	return context.WithValue(ctx, versionSeedKey{}, SeedVersion(id, owner, state))
}

// VersionSeedOf returns the seed ctx carries, or SeedVersion of the given
// fields: what a backend's Create and CreateOwned number a new record
// from.
func VersionSeedOf(ctx context.Context, id ID, owner Owner, state []byte) VersionSeed {
	if s, ok := ctx.Value(versionSeedKey{}).(VersionSeed); ok {
		return s
	}
	return SeedVersion(id, owner, state)
}

// CheckVersion returns an error wrapping ErrInvalidVersion for version 0,
// which no record ever has.
func CheckVersion(version uint64) error {
	if version == 0 {
		return fmt.Errorf("%w: 0 (versions start at 1)", ErrInvalidVersion)
	}
	return nil
}

// CheckUpdateIf validates UpdateIf's arguments in the contract's order:
// ID, version, TTL (KeepTTL allowed), size.
func (l Limits) CheckUpdateIf(id ID, version uint64, state []byte, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if err := CheckVersion(version); err != nil {
		return err
	}
	if ttl != KeepTTL {
		if err := l.CheckTTL(ttl); err != nil {
			return err
		}
	}
	return l.CheckState(state)
}

// CheckChangeIDIf validates ChangeIDIf's arguments in the contract's
// order: old, new, version, size.
func (l Limits) CheckChangeIDIf(old, new ID, version uint64, state []byte) error {
	if err := old.Validate(); err != nil {
		return err
	}
	if err := new.Validate(); err != nil {
		return err
	}
	if err := CheckVersion(version); err != nil {
		return err
	}
	return l.CheckState(state)
}

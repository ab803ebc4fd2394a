// Package view shows a wrapper (a fault injector, a layer such as hashid
// or seal) with exactly the optional capabilities of the backend it wraps.
// Capabilities are found by type assertion, so a wrapper that has every
// optional method must not be handed out as it is: over a backend without
// store.Owners it would claim the capability and fail in the middle of a
// run. Of picks, once, the struct type whose method set is the base plus
// the backend's capabilities.
package view

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Base is what every wrapper offers whatever its backend: the Store, its
// sweep (store.Sweep falls back on DeleteExpired), its capabilities and its
// stored IDs.
type Base interface {
	store.Store
	store.Sweeper
	store.CapabilityReporter
	store.Keyer
}

// The methods of each optional capability beyond store.Store.
type (
	// OwnerOps are store.Owners's.
	OwnerOps interface {
		CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error
		Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error
		List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error)
		Revoke(ctx context.Context, owner store.Owner, h store.Handle) error
		RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error)
	}
	// TouchOps are store.Toucher's.
	TouchOps interface {
		Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error)
	}
	// VersionOps are store.Versioner's.
	VersionOps interface {
		UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error)
		ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error)
	}
	// ScanOps are store.Scanner's.
	ScanOps interface {
		Scan(ctx context.Context, after store.ID, limit int) ([]store.ID, error)
	}
)

// Full is a wrapper with every optional method.
type Full interface {
	Base
	OwnerOps
	TouchOps
	VersionOps
	ScanOps
}

// Set is a set of optional capabilities.
type Set uint8

// The optional capabilities.
const (
	Owners Set = 1 << iota
	Toucher
	Versioner
	Scanner
)

// Has returns the optional capabilities s has.
func Has(s store.Store) Set {
	var c Set
	if _, ok := s.(store.Owners); ok {
		c |= Owners
	}
	if _, ok := s.(store.Toucher); ok {
		c |= Toucher
	}
	if _, ok := s.(store.Versioner); ok {
		c |= Versioner
	}
	if _, ok := s.(store.Scanner); ok {
		c |= Scanner
	}
	return c
}

// Of returns w with the optional methods in c only.
func Of(w Full, c Set) store.Store {
	type (
		b = Base
		o = OwnerOps
		t = TouchOps
		v = VersionOps
		s = ScanOps
	)
	switch c & (Owners | Toucher | Versioner | Scanner) {
	case 0:
		return struct{ b }{w}
	case Owners:
		return struct {
			b
			o
		}{w, w}
	case Toucher:
		return struct {
			b
			t
		}{w, w}
	case Owners | Toucher:
		return struct {
			b
			o
			t
		}{w, w, w}
	case Versioner:
		return struct {
			b
			v
		}{w, w}
	case Owners | Versioner:
		return struct {
			b
			o
			v
		}{w, w, w}
	case Toucher | Versioner:
		return struct {
			b
			t
			v
		}{w, w, w}
	case Owners | Toucher | Versioner:
		return struct {
			b
			o
			t
			v
		}{w, w, w, w}
	case Scanner:
		return struct {
			b
			s
		}{w, w}
	case Owners | Scanner:
		return struct {
			b
			o
			s
		}{w, w, w}
	case Toucher | Scanner:
		return struct {
			b
			t
			s
		}{w, w, w}
	case Owners | Toucher | Scanner:
		return struct {
			b
			o
			t
			s
		}{w, w, w, w}
	case Versioner | Scanner:
		return struct {
			b
			v
			s
		}{w, w, w}
	case Owners | Versioner | Scanner:
		return struct {
			b
			o
			v
			s
		}{w, w, w, w}
	case Toucher | Versioner | Scanner:
		return struct {
			b
			t
			v
			s
		}{w, w, w, w}
	default:
		return w
	}
}

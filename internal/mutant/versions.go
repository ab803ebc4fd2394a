package mutant

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The operations of store.Versioner and store.Scanner, written as
// model/versions.go is: with no bug planted they give the model's answers
// and effects exactly.

// UpdateIf implements store.Versioner.
func (s *Store) UpdateIf(_ context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	if err := s.limits.CheckUpdateIf(id, version, state, ttl); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.live(now, id)
	if !ok {
		return 0, store.ErrNotFound
	}
	if r.Version != version {
		return 0, store.ErrConflict
	}
	if s.bug == UpdateIfIgnoresVersion {
		// The write is a second statement that finds the session by its
		// ID alone, at whatever version it is by then.
		s.gap()
		if r, ok = s.live(now, id); !ok {
			return 0, store.ErrNotFound
		}
	}
	r.State = s.copyState(state)
	if ttl != store.KeepTTL {
		r.Expires = s.expiry(now, ttl)
	}
	r.Version++
	s.recs[id] = r
	return r.Version, nil
}

// ChangeIDIf implements store.Versioner.
func (s *Store) ChangeIDIf(_ context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	if err := s.limits.CheckChangeIDIf(old, new, version, state); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.live(now, old)
	if !ok {
		return 0, store.ErrNotFound
	}
	if r.Version != version {
		return 0, store.ErrConflict
	}
	if _, ok := s.live(now, new); ok {
		return 0, store.ErrDuplicateID
	}
	if s.bug == ChangeIDIfIgnoresVersion {
		// The move is a second statement that finds the session by its
		// ID alone, at whatever version it is by then.
		s.gap()
		if r, ok = s.live(now, old); !ok {
			return 0, store.ErrNotFound
		}
		if _, ok := s.live(now, new); ok {
			return 0, store.ErrDuplicateID
		}
	}
	delete(s.recs, old)
	r.State = s.copyState(state)
	r.Version++
	s.recs[new] = r
	return r.Version, nil
}

// Scan implements store.Scanner.
func (s *Store) Scan(_ context.Context, after store.ID, limit int) ([]store.ID, error) {
	if err := store.CheckScan(after, limit); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []store.ID
	for id := range s.recs {
		if _, ok := s.live(now, id); ok && id > after {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b store.ID) int { return strings.Compare(string(a), string(b)) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

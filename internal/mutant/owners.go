package mutant

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The owner operations, written as model/owners.go is: with no bug planted
// they give the model's answers and effects exactly.

// CreateOwned implements store.Owners.
func (s *Store) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	cap, err := s.limits.CheckOwned(id, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, ok := s.live(now, id); ok {
		return store.ErrDuplicateID
	}
	exp := s.expiry(now, ttl)
	rec := store.Record{State: s.copyState(state), Expires: exp, Owner: owner, Version: store.VersionSeedOf(ctx, id, owner, state).At(exp)}
	if s.bug == CapCountThenDelete {
		victims := s.beyondCap(now, owner, cap)
		s.gap()
		for _, id := range victims {
			delete(s.recs, id)
		}
		s.gap()
		// The insert is one statement, checked against the ID's unique key.
		if _, ok := s.live(now, id); ok {
			return store.ErrDuplicateID
		}
		s.recs[id] = rec
		return nil
	}
	for _, id := range s.beyondCap(now, owner, cap) {
		delete(s.recs, id)
	}
	s.recs[id] = rec
	return nil
}

// Cycle implements store.Owners.
func (s *Store) Cycle(_ context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	cap, err := s.limits.CheckCycle(old, new, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.live(now, old)
	if !ok {
		return store.ErrNotFound
	}
	if _, ok := s.live(now, new); ok {
		return store.ErrDuplicateID
	}
	if s.bug != CycleKeepsOld {
		delete(s.recs, old)
	}
	delete(s.recs, new)
	if owner != "" {
		for _, id := range s.beyondCap(now, owner, cap) {
			delete(s.recs, id)
		}
	}
	s.recs[new] = store.Record{State: s.copyState(state), Expires: s.expiry(now, ttl), Owner: owner, Version: r.Version + 1}
	return nil
}

// beyondCap lists the IDs of owner's oldest live sessions that must go for
// it to have fewer than cap (0: no cap), making room for one more. The
// caller holds s.mu.
func (s *Store) beyondCap(now time.Time, owner store.Owner, cap int) []store.ID {
	if cap <= 0 {
		return nil
	}
	live := s.owned(now, owner, false)
	var out []store.ID
	for _, v := range live[:max(0, len(live)-(cap-1))] {
		out = append(out, v.id)
	}
	return out
}

// owned lists owner's live records (all of them if expiredToo), oldest
// first: earliest expiry, ties by ID. The caller holds s.mu.
func (s *Store) owned(now time.Time, owner store.Owner, expiredToo bool) []victim {
	var out []victim
	for id, r := range s.recs {
		if _, ok := s.live(now, id); r.Owner == owner && (ok || expiredToo) {
			out = append(out, victim{id, r.Expires})
		}
	}
	slices.SortFunc(out, func(a, b victim) int {
		if c := a.exp.Compare(b.exp); c != 0 {
			return c
		}
		return strings.Compare(string(a.id), string(b.id))
	})
	return out
}

// List implements store.Owners.
func (s *Store) List(_ context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	if err := owner.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.OwnedSession
	for _, v := range s.owned(s.now(), owner, s.bug == ListIncludesExpired) {
		out = append(out, store.OwnedSession{Handle: store.HandleOf(v.id), Expires: v.exp})
	}
	return out, nil
}

// Revoke implements store.Owners.
func (s *Store) Revoke(_ context.Context, owner store.Owner, h store.Handle) error {
	if err := owner.Validate(); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	found := false
	for id, r := range s.recs {
		if r.Owner == owner && store.HandleOf(id) == h {
			_, ok := s.live(now, id)
			delete(s.recs, id)
			found = found || ok
		}
	}
	if !found {
		return store.ErrNotFound
	}
	return nil
}

// RevokeAll implements store.Owners.
func (s *Store) RevokeAll(_ context.Context, owner store.Owner, except ...store.ID) (int, error) {
	if err := store.CheckExcept(owner, except); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var ids []store.ID
	for id, r := range s.recs {
		if r.Owner == owner && !slices.Contains(except, id) {
			ids = append(ids, id)
		}
	}
	if s.bug == RevokeAllMissesConcurrent {
		s.gap()
	}
	// Deleted by ID alone: correct only while nothing moves between the
	// listing above and here, which the lock ensures unless a bug gaps it.
	n := 0
	for _, id := range ids {
		if _, ok := s.live(now, id); ok {
			n++
		}
		delete(s.recs, id)
	}
	return n, nil
}

// Touch implements store.Toucher.
func (s *Store) Touch(_ context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	if err := s.limits.CheckTouch(id, ttl, resolution); err != nil {
		return store.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.live(now, id)
	if _, held := s.recs[id]; !ok && !(held && s.bug == TouchResurrects) {
		return store.Record{}, store.ErrNotFound
	}
	// store.Extends, spelled out so that NoTruncation's expiry applies.
	if next := s.expiry(now, ttl); next.After(r.Expires) && next.Sub(r.Expires) >= resolution {
		r.Expires = next
		r.Version++
		s.recs[id] = r
	}
	r.State = slices.Clone(r.State)
	return r, nil
}

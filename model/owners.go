package model

import (
	"slices"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The owner rows of the contract's table (store.Owners, store.Toucher).
// "Oldest" is reclaim order restricted to live records: earliest expiry
// first, ties by stored ID in byte order. A handle is HandleOf the stored
// ID (WithKey).

// CreateOwned: Create for a session of owner; the owner's oldest live
// sessions go first, so that with the new one it has at most the cap.
func (m *Model) CreateOwned(now time.Time, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	cap, err := m.limits.CheckOwned(id, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	if _, ok := m.live(now, id); ok {
		return store.ErrDuplicateID
	}
	m.evict(now, owner, cap)
	exp := store.Expiry(now, ttl)
	m.recs[id] = store.Record{State: clone(state), Expires: exp, Owner: owner, Version: store.FirstVersion(id, owner, state, exp)}
	return nil
}

// Cycle: ChangeID's rows, then the record at new is {state, now+ttl,
// owner}, with the owner's cap applied as in CreateOwned.
func (m *Model) Cycle(now time.Time, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	cap, err := m.limits.CheckCycle(old, new, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	r, ok := m.live(now, old)
	if !ok {
		return store.ErrNotFound
	}
	if _, ok := m.live(now, new); ok {
		return store.ErrDuplicateID
	}
	delete(m.recs, old)
	delete(m.recs, new)
	if owner != "" {
		m.evict(now, owner, cap)
	}
	m.recs[new] = store.Record{State: clone(state), Expires: store.Expiry(now, ttl), Owner: owner, Version: r.Version + 1}
	return nil
}

// evict removes owner's oldest live sessions until it has fewer than cap
// (0: no cap), making room for one more.
func (m *Model) evict(now time.Time, owner store.Owner, cap int) {
	if cap <= 0 {
		return
	}
	live := m.owned(now, owner)
	for _, e := range live[:max(0, len(live)-(cap-1))] {
		delete(m.recs, e.ID)
	}
}

// owned lists owner's live records, oldest first.
func (m *Model) owned(now time.Time, owner store.Owner) []Entry {
	var out []Entry
	for id, r := range m.recs {
		if r.Owner == owner && r.LiveAt(now) {
			out = append(out, Entry{ID: id, Record: r})
		}
	}
	slices.SortFunc(out, m.reclaimOrder)
	return out
}

// List: owner's live sessions, oldest first, as handles and expiries.
func (m *Model) List(now time.Time, owner store.Owner) ([]store.OwnedSession, error) {
	if err := owner.Validate(); err != nil {
		return nil, err
	}
	var out []store.OwnedSession
	for _, e := range m.owned(now, owner) {
		out = append(out, store.OwnedSession{Handle: m.handle(e.ID), Expires: e.Expires})
	}
	return out, nil
}

// Revoke: owner's live session with handle h → removed; none → ErrNotFound,
// and an expired record of owner with h, if any, is removed.
func (m *Model) Revoke(now time.Time, owner store.Owner, h store.Handle) error {
	if err := owner.Validate(); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	found := false
	for id, r := range m.recs {
		if r.Owner == owner && m.handle(id) == h {
			delete(m.recs, id)
			found = found || r.LiveAt(now)
		}
	}
	if !found {
		return store.ErrNotFound
	}
	return nil
}

// RevokeAll: every record of owner, live or expired, except those under
// the IDs in except, is removed; the result counts the live ones.
func (m *Model) RevokeAll(now time.Time, owner store.Owner, except ...store.ID) (int, error) {
	if err := store.CheckExcept(owner, except); err != nil {
		return 0, err
	}
	n := 0
	for id, r := range m.recs {
		if r.Owner != owner || slices.Contains(except, id) {
			continue
		}
		delete(m.recs, id)
		if r.LiveAt(now) {
			n++
		}
	}
	return n, nil
}

// Touch: live → expiry := now+ttl if that moves it forward by resolution
// or more, else unchanged; the record as it is afterwards. Not live →
// ErrNotFound.
func (m *Model) Touch(now time.Time, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	if err := m.limits.CheckTouch(id, ttl, resolution); err != nil {
		return store.Record{}, err
	}
	r, ok := m.live(now, id)
	if !ok {
		return store.Record{}, store.ErrNotFound
	}
	if next, ok := store.Extends(now, r.Expires, ttl, resolution); ok {
		r.Expires = next
		r.Version++
		m.recs[id] = r
	}
	return r, nil
}

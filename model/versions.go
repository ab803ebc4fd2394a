package model

import (
	"slices"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The rows of store.Versioner and store.Scanner.

// UpdateIf: not live → ErrNotFound; live at another version → ErrConflict;
// otherwise state replaced, expiry := now+ttl (kept for store.KeepTTL),
// owner kept, version+1, which is returned.
func (m *Model) UpdateIf(now time.Time, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	if err := m.limits.CheckUpdateIf(id, version, state, ttl); err != nil {
		return 0, err
	}
	r, ok := m.live(now, id)
	if !ok {
		return 0, store.ErrNotFound
	}
	if r.Version != version {
		return 0, store.ErrConflict
	}
	r.State = clone(state)
	if ttl != store.KeepTTL {
		r.Expires = store.Expiry(now, ttl)
	}
	r.Version++
	m.recs[id] = r
	return r.Version, nil
}

// ChangeIDIf: old not live → ErrNotFound; old live at another version →
// ErrConflict; new live (also old == new) → ErrDuplicateID; otherwise any
// expired record at new is removed and the record moves to new with the
// given state, its expiry and owner kept, at version+1, which is returned.
func (m *Model) ChangeIDIf(now time.Time, old, new store.ID, version uint64, state []byte) (uint64, error) {
	if err := m.limits.CheckChangeIDIf(old, new, version, state); err != nil {
		return 0, err
	}
	r, ok := m.live(now, old)
	if !ok {
		return 0, store.ErrNotFound
	}
	if r.Version != version {
		return 0, store.ErrConflict
	}
	if _, ok := m.live(now, new); ok {
		return 0, store.ErrDuplicateID
	}
	delete(m.recs, old)
	r.State = clone(state)
	r.Version++
	m.recs[new] = r
	return r.Version, nil
}

// Scan: the IDs of the records live at now that are greater than after, in
// byte order (of the IDs themselves: a backend that can scan stores IDs),
// at most limit of them.
func (m *Model) Scan(now time.Time, after store.ID, limit int) ([]store.ID, error) {
	if err := store.CheckScan(after, limit); err != nil {
		return nil, err
	}
	var out []store.ID
	for id, r := range m.recs {
		if id > after && r.LiveAt(now) {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b store.ID) int { return strings.Compare(string(a), string(b)) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

package model

import (
	"slices"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The methods below follow the contract's table row by row. now is the
// operation's single clock reading, already passed through store.Instant.

// Versions: a record is created at store.FirstVersion of its fields, and
// every write to it (every method below that changes a live record, a move
// included) adds one, so that a version read names one state of one
// session (store.Versioner).

// Create: a live record has id → ErrDuplicateID; otherwise any expired record
// under id is replaced by {state, now+ttl} at its first version.
func (m *Model) Create(now time.Time, id store.ID, state []byte, ttl time.Duration) error {
	if err := m.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	if _, ok := m.live(now, id); ok {
		return store.ErrDuplicateID
	}
	exp := store.Expiry(now, ttl)
	m.recs[id] = store.Record{State: clone(state), Expires: exp, Version: store.FirstVersion(id, "", state, exp)}
	return nil
}

// Load: live → the record; not live (absent or expired) → ErrNotFound.
func (m *Model) Load(now time.Time, id store.ID) (store.Record, error) {
	if err := id.Validate(); err != nil {
		return store.Record{}, err
	}
	r, ok := m.live(now, id)
	if !ok {
		return store.Record{}, store.ErrNotFound
	}
	return r, nil
}

// Update: live → state and expiry replaced, owner kept; not live → ErrNotFound and no
// effect: an update never brings a session back.
func (m *Model) Update(now time.Time, id store.ID, state []byte, ttl time.Duration) error {
	if err := m.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	r, ok := m.live(now, id)
	if !ok {
		return store.ErrNotFound
	}
	m.recs[id] = store.Record{State: clone(state), Expires: store.Expiry(now, ttl), Owner: r.Owner, Version: r.Version + 1}
	return nil
}

// UpdateTTL: live → expiry := now+ttl, state kept; not live → ErrNotFound.
func (m *Model) UpdateTTL(now time.Time, id store.ID, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if err := m.limits.CheckTTL(ttl); err != nil {
		return err
	}
	r, ok := m.live(now, id)
	if !ok {
		return store.ErrNotFound
	}
	r.Expires = store.Expiry(now, ttl)
	r.Version++
	m.recs[id] = r
	return nil
}

// Delete: live → removed; not live → an expired record under id, if any, is
// removed, and the result is ErrNotFound.
func (m *Model) Delete(now time.Time, id store.ID) error {
	if err := id.Validate(); err != nil {
		return err
	}
	_, ok := m.live(now, id)
	delete(m.recs, id)
	if !ok {
		return store.ErrNotFound
	}
	return nil
}

// ChangeID: no live record at old → ErrNotFound; live at old and at new (also
// when old == new) → ErrDuplicateID; otherwise any expired record at new is
// removed and the record moves to new with state and expiry unchanged.
func (m *Model) ChangeID(now time.Time, old, new store.ID) error {
	if err := old.Validate(); err != nil {
		return err
	}
	if err := new.Validate(); err != nil {
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
	r.Version++
	m.recs[new] = r
	return nil
}

// DeleteExpired: limit < 0 → ErrInvalidLimit; otherwise removes expired
// records, earliest expiry first (ties: smaller ID first, byte order), at most
// limit of them (0 = no limit), and returns how many it removed. "ID" is
// the stored ID (WithKey), which is the ID itself for a plain backend.
func (m *Model) DeleteExpired(now time.Time, limit int) (int, error) {
	if err := store.CheckLimit(limit); err != nil {
		return 0, err
	}
	victims := m.Expired(now)
	if limit > 0 && len(victims) > limit {
		victims = victims[:limit]
	}
	for _, e := range victims {
		delete(m.recs, e.ID)
	}
	return len(victims), nil
}

// Expired lists the records that are expired at now in reclaim order:
// earliest expiry first, ties by ID in byte order.
func (m *Model) Expired(now time.Time) []Entry {
	var out []Entry
	for id, r := range m.recs {
		if !r.LiveAt(now) {
			out = append(out, Entry{ID: id, Record: r})
		}
	}
	slices.SortFunc(out, m.reclaimOrder)
	return out
}

// reclaimOrder is earliest expiry first, ties by stored ID in byte order.
func (m *Model) reclaimOrder(a, b Entry) int {
	if c := a.Expires.Compare(b.Expires); c != 0 {
		return c
	}
	return strings.Compare(string(m.StoredID(a.ID)), string(m.StoredID(b.ID)))
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

// SweepStep is one step of a sweep (store.Sweep) that read the clock at
// now: it removes the batch earliest records among those expired at now
// whose expiry is at or after from, earliest expiry first (ties: smaller ID
// first), and returns them. A nil from means from the start. A sweep
// starts each step where the previous one ended (from is the latest expiry
// the previous step removed; at it, not after it, since a step may end
// inside a run of equal expiries), and ends with the first step that
// removes fewer than batch. Run alone, the steps remove exactly what
// DeleteExpired(now, 0) would; beside other operations, a record written
// behind the point a sweep has reached may be left for the next one (a
// step from the start, with from nil, takes it). batch must be at least
// 1 (store.CheckBatch).
func (m *Model) SweepStep(now time.Time, from *time.Time, batch int) []Entry {
	var out []Entry
	for _, e := range m.Expired(now) {
		if len(out) == batch {
			break
		}
		if from != nil && e.Expires.Before(*from) {
			continue
		}
		out = append(out, e)
		delete(m.recs, e.ID)
	}
	return out
}

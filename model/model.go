// Package model is the session store contract made executable: a map from ID
// to record, and one method per row group of the contract's table. It is a
// pure state machine in the manner of etcd's raft core: no I/O, no goroutines
// and no clock of its own. The instant of every operation is an argument, so
// the simulator decides what time it is and the model cannot disagree with
// the backend about it.
//
// The model is written to be read beside the contract (CONTRACT.md), not
// to be fast; the simulator's throughput comes from keeping
// it small. Its methods validate their arguments exactly as a backend must,
// so a validation error from the model is the error a backend must return.
package model

import (
	"slices"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Model is the reference state of one store: every record it physically
// holds, live or expired, and the limits it enforces.
type Model struct {
	limits store.Limits
	recs   map[store.ID]store.Record
	// key is the stored ID of an ID (store.Keyer): the tie-breaker of
	// every order, and what handles hash. nil is the identity.
	key func(store.ID) store.ID
}

// Option configures a model.
type Option func(*Model)

// WithKey makes the model the model of a backend that stores each session
// under key(id) (store.Keyer, package hashid): expiry ties in DeleteExpired,
// sweeps, lists and evictions are broken by key(id) in byte order, and
// handles are store.HandleOf(key(id)). Give it store.StoredID of the
// backend under test, so that the model checks that order exactly.
func WithKey(key func(store.ID) store.ID) Option {
	return func(m *Model) { m.key = key }
}

// New returns an empty model enforcing limits (zero fields mean the defaults).
func New(limits store.Limits, opts ...Option) *Model {
	m := &Model{limits: limits.WithDefaults(), recs: make(map[store.ID]store.Record)}
	for _, o := range opts {
		o(m)
	}
	return m
}

// StoredID is the ID the modelled backend stores id under: the tie-breaker
// of every order and what handles hash (see WithKey).
func (m *Model) StoredID(id store.ID) store.ID {
	if m.key == nil {
		return id
	}
	return m.key(id)
}

// handle is the handle of the session under id.
func (m *Model) handle(id store.ID) store.Handle { return store.HandleOf(m.StoredID(id)) }

// Limits returns the limits the model enforces, defaults filled in.
func (m *Model) Limits() store.Limits { return m.limits }

// Clone returns an independent copy. Record states are shared: the model
// never mutates a state slice in place, it only replaces it.
func (m *Model) Clone() *Model {
	c := &Model{limits: m.limits, recs: make(map[store.ID]store.Record, len(m.recs)), key: m.key}
	for id, r := range m.recs {
		c.recs[id] = r
	}
	return c
}

// Equal reports whether two models hold the same records.
func (m *Model) Equal(o *Model) bool {
	if len(m.recs) != len(o.recs) {
		return false
	}
	for id, r := range m.recs {
		if or, ok := o.recs[id]; !ok || !r.Equal(or) {
			return false
		}
	}
	return true
}

// Len returns the number of records held, live or expired.
func (m *Model) Len() int { return len(m.recs) }

// Entry is one record and its ID, as listed by Entries.
type Entry struct {
	ID store.ID
	store.Record
}

// Entries lists every record held, live or expired, in ID byte order.
func (m *Model) Entries() []Entry {
	out := make([]Entry, 0, len(m.recs))
	for id, r := range m.recs {
		out = append(out, Entry{ID: id, Record: r})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// Any reports whether some record held, live or expired, satisfies pred.
// Unlike Entries it neither sorts nor allocates: checkers ask it on every
// step.
func (m *Model) Any(pred func(Entry) bool) bool {
	for id, r := range m.recs {
		if pred(Entry{ID: id, Record: r}) {
			return true
		}
	}
	return false
}

// Get returns the record under id, live or expired, without any check. It is
// for generators and reports; the contract's read is Load.
func (m *Model) Get(id store.ID) (store.Record, bool) {
	r, ok := m.recs[id]
	return r, ok
}

// live returns the record under id if it is live at now.
func (m *Model) live(now time.Time, id store.ID) (store.Record, bool) {
	r, ok := m.recs[id]
	if !ok || !r.LiveAt(now) {
		return store.Record{}, false
	}
	return r, true
}

// Fingerprint hashes the records held, so that sets of models can be
// deduplicated without comparing every pair. Equal models have equal
// fingerprints; the simulator confirms a match with Equal.
func (m *Model) Fingerprint() uint64 {
	// FNV-1a per record, combined by addition so that map order does not
	// matter.
	var sum uint64
	for id, r := range m.recs {
		h := uint64(14695981039346656037)
		mix := func(b byte) { h = (h ^ uint64(b)) * 1099511628211 }
		for i := 0; i < len(id); i++ {
			mix(id[i])
		}
		mix(0)
		for _, b := range r.State {
			mix(b)
		}
		mix(0)
		for i := 0; i < len(r.Owner); i++ {
			mix(r.Owner[i])
		}
		mix(0)
		ns := r.Expires.UnixNano()
		for i := 0; i < 8; i++ {
			mix(byte(ns >> (8 * i)))
		}
		for i := 0; i < 8; i++ {
			mix(byte(r.Version >> (8 * i)))
		}
		sum += h
	}
	return sum + uint64(len(m.recs))
}

package memstore

import (
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// entry is one record as a shard holds it: the map's value, pointed to by
// the record's heap item, which it keeps track of so that an update or a
// delete can repair the heap in O(log n) instead of searching it.
type entry struct {
	id      store.ID
	owner   store.Owner // "" for none
	state   []byte      // never written after it is stored: see Store.Load
	expires time.Time
	// version counts the writes to the session: 1 when it is created, one
	// more per write (store.Versioner). It lives with the state it names,
	// under the same lock, so that a conditional write checks and bumps it
	// in the step that replaces the state.
	version uint64
	// index and slot are 32-bit so that the version fits without the entry
	// growing past 96 bytes, an allocation size class: a shard would need
	// two billion records to overflow them.
	index int32 // position of the entry's item in the shard's heap; -1 once removed
	slot  int32 // position in its shard's byOwner list when it has an owner
}

// liveAt is the contract's liveness rule: live while now < expires.
func (e *entry) liveAt(now time.Time) bool { return now.Before(e.expires) }

// record returns the entry as a Record sharing its state slice, which the
// caller clones once the shard's lock is released (see Store.Load).
func (e *entry) record() store.Record {
	return store.Record{State: e.state, Expires: e.expires, Owner: e.owner, Version: e.version}
}

// instant is a time as two integers, which compare faster than time.Time
// (no decoding of its packed wall and ext fields) and take 16 bytes, not 24.
// Unix seconds and nanoseconds represent every time.Time exactly, however far
// from 1970 a clock puts the store, which Unix microseconds in an int64 would
// not.
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

func (a instant) before(b instant) bool {
	return a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec
}

// heapItem is a heap element: an entry's sort key, copied next to the
// pointer, so that sifting compares items within the heap's own array
// instead of chasing a pointer, likely a cache miss, per comparison.
type heapItem struct {
	expires instant
	id      store.ID
	e       *entry
}

// before is reclaim order: earlier expiry first, then smaller ID in byte
// order. IDs are unique within a store, so it is a strict total order and the
// records a limited DeleteExpired removes are fully determined.
func (a *heapItem) before(b *heapItem) bool {
	if a.expires != b.expires {
		return a.expires.before(b.expires)
	}
	return a.id < b.id
}

// expiredAt reports whether the item's record is expired at now.
func (a *heapItem) expiredAt(now instant) bool { return !now.before(a.expires) }

// expiryHeap is a 4-ary min-heap of records in reclaim order. It is written
// out rather than built on container/heap to keep the items inline (the
// package works through an interface of Less and Swap, which would also cost
// a dynamic call per step) and to sift with a hole: an item being sifted is
// written once, where it lands, and each item it passes has one index
// update, not two.
type expiryHeap []heapItem

// arity is the heap's branching factor. Four children instead of two halve
// the depth, and so the cache misses of a sift through a large heap, while
// the extra comparisons are on adjacent items, mostly in lines already
// fetched.
const arity = 4

func (h *expiryHeap) push(e *entry) {
	*h = append(*h, heapItem{expires: instantOf(e.expires), id: e.id, e: e})
	h.up(len(*h) - 1)
}

// remove takes out the item at position i.
func (h *expiryHeap) remove(i int) {
	old := *h
	e := old[i].e
	last := len(old) - 1
	old[i] = old[last]
	old[last] = heapItem{} // let the collector have the entry once the map lets go too
	*h = old[:last]
	if i < last {
		h.fix(i)
	}
	e.index = -1
}

// rekey restores the heap after e.expires changed.
func (h expiryHeap) rekey(e *entry) {
	h[e.index].expires = instantOf(e.expires)
	h.fix(int(e.index))
}

func (h expiryHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h expiryHeap) up(i int) {
	it := h[i]
	for i > 0 {
		parent := (i - 1) / arity
		if !it.before(&h[parent]) {
			break
		}
		h[i] = h[parent]
		h[i].e.index = int32(i)
		i = parent
	}
	h[i] = it
	it.e.index = int32(i)
}

// down sifts the item at i towards the leaves and reports whether it moved.
func (h expiryHeap) down(i int) bool {
	start, n := i, len(h)
	it := h[i]
	for {
		first := arity*i + 1
		if first >= n {
			break
		}
		child := first
		for c := first + 1; c < min(first+arity, n); c++ {
			if h[c].before(&h[child]) {
				child = c
			}
		}
		if !h[child].before(&it) {
			break
		}
		h[i] = h[child]
		h[i].e.index = int32(i)
		i = child
	}
	h[i] = it
	it.e.index = int32(i)
	return i > start
}

package memstore

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// CheckInvariants verifies the internal structure of every shard: map and
// heap hold the same entries, each entry knows its heap position, heap keys
// match their entries, the heap is ordered, each ID lives in the shard its
// hash selects, every entry has a version, and the owner index lists
// exactly the entries that have an owner, under that owner, each knowing
// its slot. Tests call it after a run to catch corruption that the public
// API would only reveal much later, if ever.
func (s *Store) CheckInvariants() error {
	s.lockAll()
	defer s.unlockAll()
	for i := range s.shards {
		sh := &s.shards[i].shard
		if len(sh.byID) != len(sh.heap) {
			return fmt.Errorf("shard %d: %d in map, %d in heap", i, len(sh.byID), len(sh.heap))
		}
		for id, e := range sh.byID {
			if e.id != id {
				return fmt.Errorf("shard %d: map key %q holds entry %q", i, id, e.id)
			}
			if s.shardIndex(id) != i {
				return fmt.Errorf("shard %d: holds %q, which hashes to shard %d", i, id, s.shardIndex(id))
			}
			if e.index < 0 || int(e.index) >= len(sh.heap) || sh.heap[e.index].e != e {
				return fmt.Errorf("shard %d: entry %q has stale heap index %d", i, id, e.index)
			}
			if it := sh.heap[e.index]; it.id != e.id || it.expires != instantOf(e.expires) {
				return fmt.Errorf("shard %d: heap key {%q %v} of entry {%q %v} is stale", i, it.id, it.expires, e.id, e.expires)
			}
			if e.version == 0 {
				return fmt.Errorf("shard %d: entry %q at version 0, which no record has", i, id)
			}
		}
		for k := 1; k < len(sh.heap); k++ {
			if sh.heap[k].before(&sh.heap[(k-1)/arity]) {
				return fmt.Errorf("shard %d: heap order broken at %d", i, k)
			}
		}
		owned := 0
		for _, e := range sh.byID {
			if e.owner != "" {
				owned++
				if l := sh.byOwner[e.owner]; e.slot < 0 || int(e.slot) >= len(l) || l[e.slot] != e {
					return fmt.Errorf("shard %d: entry %q of owner %q not at its slot %d in the owner index", i, e.id, e.owner, e.slot)
				}
			}
		}
		indexed := 0
		for o, l := range sh.byOwner {
			if len(l) == 0 {
				return fmt.Errorf("shard %d: owner %q has an empty list in the index", i, o)
			}
			for _, e := range l {
				if e.owner != o || sh.byID[e.id] != e {
					return fmt.Errorf("shard %d: index of owner %q lists entry %q (owner %q), not held under that owner", i, o, e.id, e.owner)
				}
			}
			indexed += len(l)
		}
		if owned != indexed {
			return fmt.Errorf("shard %d: %d entries with an owner, %d in the owner index", i, owned, indexed)
		}
	}
	return nil
}

// ShardCount is the number of shards New settled on.
func (s *Store) ShardCount() int { return len(s.shards) }

// Entries lists every record the store holds, live or expired, in ID byte
// order: the full read-back a test compares with model.Model.Entries.
func (s *Store) Entries() []model.Entry {
	s.lockAll()
	defer s.unlockAll()
	var out []model.Entry
	for i := range s.shards {
		for _, e := range s.shards[i].byID {
			r := e.record()
			r.State = bytes.Clone(r.State)
			out = append(out, model.Entry{ID: e.id, Record: r})
		}
	}
	slices.SortFunc(out, func(a, b model.Entry) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// ShardOf is the index of the shard id falls into, so that a test can pick
// IDs on different shards.
func (s *Store) ShardOf(id store.ID) int { return s.shardIndex(id) }

// ScanShardByShard is Scan as it must not be written, planted for the test
// that shows the atomicity check of Scan catching it: it locks one shard at
// a time, calls between(i) once shard i is read and released, and sorts
// what it collected. A session moved between shards during it can be
// missed (or met twice), a page no instant of the store ever held.
func (s *Store) ScanShardByShard(after store.ID, limit int, between func(shard int)) []store.ID {
	var out []store.ID
	for i := range s.shards {
		sh := &s.shards[i].shard
		sh.mu.Lock()
		now := s.now()
		for id, e := range sh.byID {
			if id > after && e.liveAt(now) {
				out = append(out, id)
			}
		}
		sh.mu.Unlock()
		between(i)
	}
	slices.Sort(out)
	return out[:min(limit, len(out))]
}

package memstore

import (
	"fmt"
)

// CheckInvariants verifies the internal structure of every shard: map and
// heap hold the same entries, each entry knows its heap position, heap keys
// match their entries, the heap is ordered, and each ID lives in the shard
// its hash selects. Tests call it
// after a run to catch corruption that the public API would only reveal much
// later, if ever.
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
			if e.index < 0 || e.index >= len(sh.heap) || sh.heap[e.index].e != e {
				return fmt.Errorf("shard %d: entry %q has stale heap index %d", i, id, e.index)
			}
			if it := sh.heap[e.index]; it.id != e.id || it.expires != instantOf(e.expires) {
				return fmt.Errorf("shard %d: heap key {%q %v} of entry {%q %v} is stale", i, it.id, it.expires, e.id, e.expires)
			}
		}
		for k := 1; k < len(sh.heap); k++ {
			if sh.heap[k].before(&sh.heap[(k-1)/arity]) {
				return fmt.Errorf("shard %d: heap order broken at %d", i, k)
			}
		}
	}
	return nil
}

// ShardCount is the number of shards New settled on.
func (s *Store) ShardCount() int { return len(s.shards) }

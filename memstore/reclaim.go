package memstore

import (
	"context"

	"github.com/hourglass-go/hourglass/store"
)

// DeleteExpired removes expired records, earliest expiry first with ties
// broken by smaller ID in byte order, at most limit of them (0: all), and
// returns how many it removed. A negative limit is store.ErrInvalidLimit.
//
// It is the one operation that locks every shard, and it must: a limited
// call removes the globally first records in reclaim order, which can only
// be known from a view of all shards that no write changes midway; and the
// set it removes must be exactly the records expired at one instant, which a
// shard-by-shard sweep with concurrent writes in between could not promise.
// The locks are held while records are removed, so a background reclaimer
// should pass a modest limit (say 1000) and call again while it gets a full
// batch, rather than stop the whole store for one unlimited sweep.
func (s *Store) DeleteExpired(ctx context.Context, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return 0, err
	}
	s.lockAll()
	defer s.unlockAll()
	now := instantOf(s.now())
	if limit == 0 {
		return s.reclaimAll(now), nil
	}
	return s.reclaimFirst(now, limit), nil
}

// reclaimAll removes every expired record. Everything expired goes, so the
// order across shards cannot be observed and no merge is needed.
func (s *Store) reclaimAll(now instant) int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i].shard
		for it := sh.earliestExpired(now); it != nil; it = sh.earliestExpired(now) {
			sh.remove(it.e)
			n++
		}
	}
	return n
}

// reclaimFirst removes the first limit expired records in reclaim order by
// merging the shard heaps: a second heap, of shards keyed by their earliest
// record, yields the global minimum in O(log shards). Only shards that hold
// an expired record take part, so the cost is O(shards) to start plus
// O(log n) per record removed, however many live records the store holds.
func (s *Store) reclaimFirst(now instant, limit int) int {
	m := mergeHeap(s.mergeBuf[:0])
	for i := range s.shards {
		sh := &s.shards[i].shard
		if it := sh.earliestExpired(now); it != nil {
			m = append(m, mergeItem{sh: sh, head: *it})
		}
	}
	for i := len(m)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	n := 0
	for len(m) > 0 && n < limit {
		sh := m[0].sh
		sh.remove(m[0].head.e)
		n++
		if it := sh.earliestExpired(now); it != nil {
			m[0].head = *it
		} else {
			m[0] = m[len(m)-1]
			m = m[:len(m)-1]
		}
		m.down(0)
	}
	clear(m[:cap(m)]) // drop the copied pointers, for the collector
	s.mergeBuf = m[:0]
	return n
}

// mergeItem is a shard taking part in the merge, with a copy of its first
// heap item, so that the merge compares within its own small array.
type mergeItem struct {
	sh   *shard
	head heapItem
}

// mergeHeap is a min-heap of shards ordered by their first record in reclaim
// order. IDs are unique across the store, so no two shards tie.
type mergeHeap []mergeItem

func (m mergeHeap) down(i int) {
	n := len(m)
	for {
		child := 2*i + 1
		if child >= n {
			return
		}
		if r := child + 1; r < n && m[r].head.before(&m[child].head) {
			child = r
		}
		if !m[child].head.before(&m[i].head) {
			return
		}
		m[i], m[child] = m[child], m[i]
		i = child
	}
}

package memstore

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/hourglass-go/hourglass/store"
)

// shard is one independently locked part of the keyspace. Its map and heap
// always hold the same entries, and byOwner those of them that have an
// owner; mu guards all three, and the entries in them.
type shard struct {
	mu   sync.Mutex
	byID map[store.ID]*entry
	heap expiryHeap
	// byOwner lists each owner's entries in this shard, live or expired, so
	// that an owner's operations visit that owner's sessions only, never the
	// whole keyspace. A list, not a set: owners hold a handful of sessions,
	// and entry.slot makes removal O(1) by swapping in the last one.
	byOwner map[store.Owner][]*entry
}

// cacheLine is a conservative cache line size: 128 bytes covers the 64-byte
// lines of amd64 together with the adjacent line its prefetcher pulls in, and
// the 128-byte lines of some arm64 parts.
const cacheLine = 128

// paddedShard keeps each shard's mutex on cache lines of its own. Without the
// padding, goroutines working on neighbouring shards would still contend for
// the same line (false sharing), and sharding would buy less than it should.
type paddedShard struct {
	shard
	_ [cacheLine - unsafe.Sizeof(shard{})%cacheLine]byte
}

// insert and remove are the only ways into and out of a shard, so the map,
// the heap and the owner index cannot disagree whichever path (Delete,
// ChangeID, a cap's eviction, DeleteExpired) takes an entry out.
func (sh *shard) insert(e *entry) {
	sh.byID[e.id] = e
	sh.heap.push(e)
	sh.index(e)
}

func (sh *shard) remove(e *entry) {
	delete(sh.byID, e.id)
	sh.heap.remove(int(e.index))
	sh.unindex(e)
}

// setOwner changes the owner of an entry the shard holds.
func (sh *shard) setOwner(e *entry, owner store.Owner) {
	sh.unindex(e)
	e.owner = owner
	sh.index(e)
}

func (sh *shard) index(e *entry) {
	if e.owner == "" {
		return
	}
	list := sh.byOwner[e.owner]
	e.slot = int32(len(list))
	sh.byOwner[e.owner] = append(list, e)
}

func (sh *shard) unindex(e *entry) {
	if e.owner == "" {
		return
	}
	list := sh.byOwner[e.owner]
	last := len(list) - 1
	if last == 0 {
		// The owner's last session here: drop the key, so that the index
		// does not grow with every owner ever seen.
		delete(sh.byOwner, e.owner)
		return
	}
	list[e.slot] = list[last]
	list[e.slot].slot = e.slot
	list[last] = nil // let the collector have the entry
	sh.byOwner[e.owner] = list[:last]
}

// earliestExpired returns the shard's first record in reclaim order if that
// record is expired at now, and nil otherwise (then nothing in the shard is).
func (sh *shard) earliestExpired(now instant) *heapItem {
	if len(sh.heap) == 0 || !sh.heap[0].expiredAt(now) {
		return nil
	}
	return &sh.heap[0]
}

// shardHash picks an ID's shard. It is fixed, not seeded per process, so
// that placement, and with it the store's internal layout, is the same in
// every run and replays exactly. It takes eight bytes per multiply (a
// byte-at-a-time hash such as FNV-1a spends more on a 43-byte ID than the
// map lookup it precedes) and ends with MurmurHash3's finaliser, so that the
// low bits, which select the shard, depend on every input bit. Being
// unseeded, it is no defence against IDs chosen to collide; at worst such IDs
// share one lock, since the shard maps themselves are seeded by the runtime.
func shardHash(id store.ID) uint64 {
	const mul = 0x9e3779b97f4a7c15 // 2^64 / golden ratio, odd
	s := string(id)
	h := uint64(len(s)) * mul
	for len(s) >= 8 {
		h = bits.RotateLeft64((h^le64(s))*mul, 31)
		s = s[8:]
	}
	if len(s) > 0 {
		var w uint64
		for i := 0; i < len(s); i++ {
			w |= uint64(s[i]) << (8 * i)
		}
		h = bits.RotateLeft64((h^w)*mul, 31)
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// le64 reads the first eight bytes of s as a little-endian word; the
// compiler turns it into a single load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

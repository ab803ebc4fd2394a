package memstore

import (
	"context"
	"slices"

	"github.com/hourglass-go/hourglass/store"
)

// Scan returns the IDs of the sessions live now that are greater than after
// in byte order, the first limit of them in that order (store.Scanner); nil
// when there are none. after "" starts from the beginning. An invalid after
// is store.ErrInvalidID, a limit below 1 store.ErrInvalidLimit.
//
// The store keeps no index in ID order (every write would pay to maintain
// it), so each page visits every record held: it costs O(n) comparisons
// for n records held, live or expired, plus the upkeep of a max-heap of at
// most limit IDs, O(n log limit) at worst and far less in practice, since
// once the heap is full an ID that sorts after its largest is dropped with
// one comparison. Memory is O(limit). A full walk of the store in pages of
// k therefore costs O(n²/k): Scan is for maintenance passes, which should
// take large pages, not for a request path.
//
// Each page is one atomic read: Scan holds every shard's lock, taken in the
// ascending order every multi-shard operation follows, while it selects. A
// shard-by-shard read would not be linearizable: a ChangeID from a shard
// not yet read into one already read would vanish from the page, a result
// that no instant of the store ever held. Every other operation waits
// while a page is selected: about a millisecond per 65,536 records held,
// on the machine BenchmarkScan last ran on. Only the final sort of the
// page happens after the locks are released; IDs are immutable strings, so
// it needs none.
func (s *Store) Scan(ctx context.Context, after store.ID, limit int) ([]store.ID, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckScan(after, limit); err != nil {
		return nil, err
	}
	// Capacity for a modest page up front; a larger one grows by append,
	// so that a huge limit on a small store allocates nothing it does not
	// use.
	h := make(idHeap, 0, min(limit, 256))
	s.lockAll()
	now := instantOf(s.now())
	for i := range s.shards {
		// The heap's items carry the ID and the expiry inline: walking them
		// reads one array per shard instead of chasing a pointer per record.
		for k := range s.shards[i].heap {
			it := &s.shards[i].heap[k]
			if it.id <= after || it.expiredAt(now) {
				continue
			}
			if len(h) < limit {
				h.push(it.id)
			} else if it.id < h[0] {
				h.replaceMax(it.id)
			}
		}
	}
	s.unlockAll()
	if len(h) == 0 {
		return nil, nil
	}
	out := []store.ID(h)
	slices.Sort(out)
	return out, nil
}

// idHeap is a binary max-heap of IDs in byte order: the limit smallest IDs
// seen so far, the largest of them at the root, where the next candidate is
// compared.
type idHeap []store.ID

func (h *idHeap) push(id store.ID) {
	*h = append(*h, id)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent] >= s[i] {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

// replaceMax puts id, smaller than the root, in the root's place.
func (h idHeap) replaceMax(id store.ID) {
	h[0] = id
	for i := 0; ; {
		child := 2*i + 1
		if child >= len(h) {
			return
		}
		if r := child + 1; r < len(h) && h[r] > h[child] {
			child = r
		}
		if h[i] >= h[child] {
			return
		}
		h[i], h[child] = h[child], h[i]
		i = child
	}
}

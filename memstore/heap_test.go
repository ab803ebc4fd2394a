package memstore

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"github.com/hourglass-go/hourglass/store"
)

// TestExpiryHeap drives the heap with random pushes, removals from any
// position and key changes, checking after each step that it is ordered,
// that its keys match their entries and that every entry knows where it is,
// then drains it in order.
func TestExpiryHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(0, 0)
	var h expiryHeap
	var in []*entry
	check := func(step int) {
		t.Helper()
		if len(h) != len(in) {
			t.Fatalf("step %d: heap has %d, want %d", step, len(h), len(in))
		}
		for i := range h {
			it := &h[i]
			if int(it.e.index) != i {
				t.Fatalf("step %d: entry at %d thinks it is at %d", step, i, it.e.index)
			}
			if it.id != it.e.id || it.expires != instantOf(it.e.expires) {
				t.Fatalf("step %d: stale key at %d", step, i)
			}
			if i > 0 && it.before(&h[(i-1)/arity]) {
				t.Fatalf("step %d: order broken at %d", step, i)
			}
		}
	}
	// Few distinct expiries, so that ties (broken by ID) are common.
	exp := func() time.Time { return base.Add(time.Duration(rng.IntN(50)-25) * time.Microsecond) }
	for step := range 5000 {
		switch r := rng.IntN(10); {
		case r < 5 || len(in) == 0:
			e := &entry{id: store.ID(fmt.Sprint(step)), expires: exp()}
			h.push(e)
			in = append(in, e)
		case r < 8:
			k := rng.IntN(len(in))
			e := in[k]
			h.remove(int(e.index))
			if e.index != -1 {
				t.Fatalf("step %d: removed entry keeps index %d", step, e.index)
			}
			in[k] = in[len(in)-1]
			in = in[:len(in)-1]
		default:
			e := in[rng.IntN(len(in))]
			e.expires = exp()
			h.rekey(e)
		}
		check(step)
	}
	var prev heapItem
	for k := 0; len(h) > 0; k++ {
		it := h[0]
		if k > 0 && it.before(&prev) {
			t.Fatalf("drained %v@%v after %v@%v", it.id, it.expires, prev.id, prev.expires)
		}
		h.remove(0)
		prev = it
	}
}

// TestInstantOrder checks that instants order as the times they come from,
// on both sides of 1970 and far from it.
func TestInstantOrder(t *testing.T) {
	times := []time.Time{
		time.Date(-50000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(-1, 999_999_000).UTC(),
		time.Unix(0, 0).UTC(),
		time.Unix(0, 1000).UTC(),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i, a := range times {
		for j, b := range times {
			if got, want := instantOf(a).before(instantOf(b)), a.Before(b); got != want {
				t.Errorf("instant(%v).before(%v) = %v, want %v (%d, %d)", a, b, got, want, i, j)
			}
		}
	}
}

// TestShardHashIsFixed pins the shard hash to known values: placement must
// not vary between processes, nor between releases without notice.
func TestShardHashIsFixed(t *testing.T) {
	for _, c := range []struct {
		id   store.ID
		want uint64
	}{
		{"a", 0xeb5b7189b32c22f2},
		{"session-1", 0x77d6467afe8ed0f3},
		{"abcdefgh", 0x5ffc8a6f480b8edc},
		{"abcdefghi", 0x2fb89f2fb15893a1},
		{"0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", 0xab9a7817a50bcfba},
	} {
		if got := shardHash(c.id); got != c.want {
			t.Errorf("shardHash(%q) = %#x, want %#x", c.id, got, c.want)
		}
	}
}

// TestShardSpread checks that random IDs spread evenly over the default
// shards: a hash that put them all in a few shards would quietly turn the
// store back into a single lock.
func TestShardSpread(t *testing.T) {
	s := New(Options{})
	counts := make([]int, len(s.shards))
	const n = 64000
	for range n {
		counts[s.shardIndex(store.NewID())]++
	}
	mean := n / len(counts)
	for i, c := range counts {
		if c < mean/2 || c > mean*3/2 {
			t.Errorf("shard %d got %d of %d IDs, mean %d", i, c, n, mean)
		}
	}
}

// TestShardSpreadSequential does the same for IDs that differ only in their
// last bytes, the case a weak hash's low bits handle worst.
func TestShardSpreadSequential(t *testing.T) {
	s := New(Options{})
	counts := make([]int, len(s.shards))
	const n = 64000
	for i := range n {
		counts[s.shardIndex(store.ID(fmt.Sprintf("user-%06d", i)))]++
	}
	mean := n / len(counts)
	for i, c := range counts {
		if c < mean/2 || c > mean*3/2 {
			t.Errorf("shard %d got %d of %d IDs, mean %d", i, c, n, mean)
		}
	}
}

// TestEntrySize keeps an entry within the 96-byte allocation size class:
// one more field tips it into the 112-byte class, a sixth more memory per
// session and more cache misses on every lookup.
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 96 {
		t.Fatalf("entry is %d bytes, want at most 96", n)
	}
}

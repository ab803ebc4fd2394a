package hashid

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/store"
)

// testKey is a key whose bytes are recognisable in any rendering.
var testKey = []byte(strings.Repeat("SECRETKEY", 4))

// ids covers the shortest and longest valid IDs, a NewID, and an invalid
// one too long for the stack buffers (which only StoredID can be given).
var ids = []store.ID{"a", store.NewID(), store.ID(strings.Repeat("x", store.MaxIDLen)), store.ID(strings.Repeat("y", store.MaxIDLen+50))}

func encode(sum []byte) store.ID { return store.ID(base64.RawURLEncoding.EncodeToString(sum)) }

// TestPlainIsSHA256 checks the plain hash against its definition,
// computed the obvious way.
func TestPlainIsSHA256(t *testing.T) {
	h, err := newHasher(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		sum := sha256.Sum256([]byte("hourglass/hashid\x00" + string(id)))
		if got, want := h.stored(id), encode(sum[:]); got != want {
			t.Errorf("stored(%.10s…) = %s, want %s", id, got, want)
		}
	}
	if empty, _ := newHasher([]byte{}); empty.stored("a") != h.stored("a") {
		t.Error("an empty key does not give the plain hash")
	}
}

// TestKeyedIsHMAC checks the keyed hash against crypto/hmac for keys
// shorter than, as long as and longer than SHA-256's block.
func TestKeyedIsHMAC(t *testing.T) {
	for _, n := range []int{MinKeyLen, sha256.BlockSize, 100} {
		key := bytes.Repeat([]byte{byte(n)}, n)
		h, err := newHasher(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			m := hmac.New(sha256.New, key)
			m.Write([]byte("hourglass/hashid\x00" + string(id)))
			// Twice: a pooled state must be reset between uses.
			for range 2 {
				if got, want := h.stored(id), encode(m.Sum(nil)); got != want {
					t.Errorf("%d-byte key: stored(%.10s…) = %s, want %s", n, id, got, want)
				}
			}
		}
	}
}

func TestStoredIsAValidID(t *testing.T) {
	plain, _ := newHasher(nil)
	keyed, _ := newHasher(testKey)
	for _, h := range []*hasher{plain, keyed} {
		for _, id := range ids {
			s := h.stored(id)
			if len(s) != StoredLen || s.Validate() != nil {
				t.Errorf("stored ID %q: length %d, validation %v", s, len(s), s.Validate())
			}
		}
	}
	if plain.stored("a") == keyed.stored("a") {
		t.Error("the key makes no difference")
	}
}

func TestKeyTooShort(t *testing.T) {
	for n := 1; n < MinKeyLen; n++ {
		_, err := newHasher(testKey[:n])
		if !errors.Is(err, ErrKeyLength) {
			t.Fatalf("%d-byte key: %v, want ErrKeyLength", n, err)
		}
		msg := err.Error()
		for _, leak := range []string{"SECRET", "ECRE", hex.EncodeToString(testKey[:4]), base64.StdEncoding.EncodeToString(testKey[:3])} {
			if strings.Contains(msg, leak) {
				t.Fatalf("%d-byte key: the error %q shows the key", n, msg)
			}
		}
	}
}

// TestKeyIsCopied: the caller may wipe its key after New.
func TestKeyIsCopied(t *testing.T) {
	key := bytes.Clone(testKey)
	h, err := newHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	before := h.stored("a")
	clear(key)
	if h.stored("a") != before {
		t.Error("the hasher follows changes to the caller's key")
	}
}

// TestHashAllocatesOnlyTheResult: a hash runs on every operation.
func TestHashAllocatesOnlyTheResult(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop states at random")
	}
	id := store.NewID()
	plain, _ := newHasher(nil)
	keyed, _ := newHasher(testKey)
	for name, h := range map[string]*hasher{"plain": plain, "keyed": keyed} {
		if n := testing.AllocsPerRun(1000, func() { h.stored(id) }); n != 1 {
			t.Errorf("%s: %v allocations per hash, want 1 (the string)", name, n)
		}
	}
}

// BenchmarkHash measures the hash of a NewID. The keyed hash uses pooled
// HMAC states; hashing the pads afresh each time (two more SHA-256 blocks)
// measured 400 ns against the pool's 316 ns, and was dropped.
func BenchmarkHash(b *testing.B) {
	id := store.NewID()
	plain, _ := newHasher(nil)
	keyed, _ := newHasher(testKey)
	for name, h := range map[string]*hasher{"plain": plain, "keyed": keyed} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.stored(id)
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.stored(id)
				}
			})
		})
	}
}

package seal_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/seal"
)

// nonceReuse returns an error naming two blobs that share a nonce, if any
// do. Under one key, a repeated nonce gives away the XOR of the two
// plaintexts and lets anyone forge tags.
func nonceReuse(blobs [][]byte) error {
	seen := make(map[string]int, len(blobs))
	for i, b := range blobs {
		n := seal.NonceOf(b)
		if n == nil {
			return fmt.Errorf("blob %d has no nonce (%d bytes)", i, len(b))
		}
		if j, ok := seen[string(n)]; ok {
			return fmt.Errorf("blobs %d and %d share a nonce", j, i)
		}
		seen[string(n)] = i
	}
	return nil
}

// sealMany seals the same state for the same session n times.
func sealMany(t *testing.T, l *seal.Layer, n int) [][]byte {
	t.Helper()
	blobs := make([][]byte, n)
	for i := range blobs {
		b, err := l.Seal("same-session", []byte("same state"))
		if err != nil {
			t.Fatal(err)
		}
		blobs[i] = b
	}
	return blobs
}

func TestNoNonceReuse(t *testing.T) {
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	blobs := sealMany(t, f.l, 10000)
	if err := nonceReuse(blobs); err != nil {
		t.Fatal(err)
	}
	// Same state, same session, same key: only the nonce differs, and the
	// ciphertexts with it.
	if string(blobs[0][29:]) == string(blobs[1][29:]) {
		t.Fatal("two seals of one state have the same ciphertext")
	}
}

// Planted bug: a sealer with a fixed nonce. The check above must catch it.
func TestNonceReuseCheckCatchesFixedNonce(t *testing.T) {
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	seal.FixNonce(f.l, 0x2a)
	err := nonceReuse(sealMany(t, f.l, 2))
	if err == nil || !strings.Contains(err.Error(), "share a nonce") {
		t.Fatalf("nonceReuse on a fixed-nonce sealer = %v, want the reuse reported", err)
	}
	// The buggy sealer's blobs still open: nothing but the nonce check
	// tells it apart, which is why the check exists.
	b, _ := f.l.Seal("x", []byte("s"))
	if got, _, err := f.l.Open("x", b); err != nil || string(got) != "s" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

// Planted bug: a layer that leaves the ID out of the additional data. The
// row-swap check must catch it.
func TestRowSwapCheckCatchesUnboundCiphertext(t *testing.T) {
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	seal.Unbind(f.l)
	_, _, err := rowSwap(t.Context(), f.l, f.inner)
	if err == nil || !strings.Contains(err.Error(), "reads the state sealed for") {
		t.Fatalf("rowSwap on a layer that does not bind the ID = %v, want the swap detected", err)
	}
	if f.l.Tampered() != 0 {
		t.Fatalf("Tampered() = %d: the unbound layer should have noticed nothing", f.l.Tampered())
	}
}

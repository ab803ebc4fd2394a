package seal_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// BenchmarkCipher measures what choosing XChaCha20-Poly1305 over
// AES-256-GCM costs per session write and read: sealing (a fresh random
// nonce included, as the layer draws one per write) and opening a 512-byte
// state with additional data of the size the layer uses.
func BenchmarkCipher(b *testing.B) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	xc, err := chacha20poly1305.NewX(key)
	if err != nil {
		b.Fatal(err)
	}
	state := make([]byte, 512)
	aad := make([]byte, 15+8+1+43+5)
	for _, c := range []struct {
		name string
		aead cipher.AEAD
	}{{"AES-256-GCM", gcm}, {"XChaCha20-Poly1305", xc}} {
		n := c.aead.NonceSize()
		b.Run(c.name+"/seal", func(b *testing.B) {
			b.SetBytes(int64(len(state)))
			b.ReportAllocs()
			out := make([]byte, 0, len(state)+n+c.aead.Overhead())
			for b.Loop() {
				out = out[:n]
				_, _ = rand.Read(out)
				out = c.aead.Seal(out, out[:n], state, aad)
			}
		})
		b.Run(c.name+"/open", func(b *testing.B) {
			nonce := make([]byte, n)
			_, _ = rand.Read(nonce)
			sealed := c.aead.Seal(nil, nonce, state, aad)
			dst := make([]byte, 0, len(state))
			b.SetBytes(int64(len(state)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.aead.Open(dst, nonce, sealed, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLayer measures a sealed Update and Load of a 512-byte state over
// memstore, to set the cipher's cost beside the store's.
func BenchmarkLayer(b *testing.B) {
	ctx := context.Background()
	l := newFixture(b, ringOf(b, 1, 1), seal.Options{Namespace: "bench"}).l
	id := store.NewID()
	state := make([]byte, 512)
	if err := l.Create(ctx, id, state, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.Run("Update", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := l.Update(ctx, id, state, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Load(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

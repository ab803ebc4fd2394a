package seal_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// A store that keeps its sessions sealed, with its keys from the
// environment. Key 2 writes; key 1, the previous one, still opens what it
// sealed until Reseal has moved every session to key 2.
func Example() {
	ctx := context.Background()
	// As os.Getenv("SESSION_KEYS") would return it. Make a secret with
	// `head -c 32 /dev/urandom | basenc --base64url`.
	keys := "2:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA, 1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	ring, err := seal.ParseRing(keys)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ring)

	clk := clock.NewSim(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	// The inner store holds sealed states, Overhead bytes larger.
	inner := memstore.New(memstore.Options{Clock: clk, Limits: store.Limits{MaxStateSize: 4096 + seal.Overhead}})
	layer, err := seal.New(inner, ring, seal.Options{Namespace: "sessions", Limits: store.Limits{MaxStateSize: 4096}})
	if err != nil {
		fmt.Println(err)
		return
	}
	sessions := layer.Store()

	id := store.NewID()
	if err := sessions.Create(ctx, id, []byte(`{"user":"alice"}`), time.Hour); err != nil {
		fmt.Println(err)
		return
	}
	rec, err := sessions.Load(ctx, id)
	fmt.Println(string(rec.State), err)
	// Its version is numbered from what the caller created, not from the
	// sealed state the inner store holds.
	fmt.Println("first version:", rec.Version == store.FirstVersion(id, "", []byte(`{"user":"alice"}`), rec.Expires))

	raw, _ := inner.Load(ctx, id)
	fmt.Println("stored:", len(raw.State), "bytes, under key", raw.State[4])

	// A blob moved to another session's row does not open there.
	other := store.NewID()
	_ = inner.Create(ctx, other, raw.State, time.Hour)
	_, err = sessions.Load(ctx, other)
	fmt.Println(errors.Is(err, store.ErrNotFound), layer.Tampered())
	// Output:
	// seal.Ring{write: 2, keys: [1 2]}
	// {"user":"alice"} <nil>
	// first version: true
	// stored: 61 bytes, under key 2
	// true 1
}

package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// A session gets a fresh ID when its user signs in, so that an ID planted
// before sign-in (session fixation) is worth nothing afterwards.
func ExampleStore_ChangeID() {
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	s := memstore.New(memstore.Options{Clock: clk})

	_ = s.Create(ctx, "anonymous-1", []byte(`{"cart":3}`), 30*time.Minute)
	clk.Add(10 * time.Minute) // the user signs in
	if err := s.ChangeID(ctx, "anonymous-1", "signed-in-1"); err != nil {
		fmt.Println(err)
	}

	_, err := s.Load(ctx, "anonymous-1")
	fmt.Println("old ID:", errors.Is(err, store.ErrNotFound))
	rec, _ := s.Load(ctx, "signed-in-1")
	fmt.Println("new ID:", string(rec.State), "until", rec.Expires.Format(time.Kitchen))

	clk.Add(time.Hour)
	n, _ := s.DeleteExpired(ctx, 1000)
	fmt.Println("reclaimed:", n, "held:", s.Len())
	// Output:
	// old ID: true
	// new ID: {"cart":3} until 9:30AM
	// reclaimed: 1 held: 0
}

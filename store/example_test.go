package store_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// A cleanup job clears the backlog of expired sessions a few at a time, so
// that requests run between the steps.
func ExampleSweep() {
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	s := memstore.New(memstore.Options{Clock: clk})
	for i := range 5 {
		_ = s.Create(ctx, store.ID(fmt.Sprintf("s%d", i)), nil, time.Duration(i+1)*time.Minute)
	}

	clk.Add(3 * time.Minute) // s0, s1 and s2 have expired
	n, err := store.Sweep(ctx, s, 2)
	fmt.Println("removed:", n, err)
	_, err = store.Sweep(ctx, s, 0)
	fmt.Println(err)
	// Output:
	// removed: 3 <nil>
	// hourglass: invalid limit: batch 0, want at least 1
}

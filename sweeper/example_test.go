package sweeper_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/sweeper"
)

// A sweeper on a simulated clock: 2,500 expired sessions, cleared 1,000 at
// a time with a 100ms pause between steps. The example holds the clock: it
// waits until the sweeper is waiting, then moves time to the deadline the
// sweeper waits for.
func Example() {
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ms := memstore.New(memstore.Options{Clock: clk})
	for i := range 2500 {
		if err := ms.Create(ctx, store.ID(fmt.Sprintf("s%04d", i)), nil, time.Second); err != nil {
			log.Fatal(err)
		}
	}
	clk.Add(time.Second) // every session has expired

	sw, err := sweeper.Start(ctx, ms, sweeper.Options{
		Interval: time.Minute,
		Batch:    1000,
		Pause:    100 * time.Millisecond,
		Clock:    clk,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sw.Stop()

	for range 3 {
		if err := clk.BlockUntil(ctx, 1); err != nil {
			log.Fatal(err)
		}
		next, _ := clk.Next()
		clk.Set(next)
		if err := clk.BlockUntil(ctx, 1); err != nil { // the step is done
			log.Fatal(err)
		}
		fmt.Printf("%s: %d records left\n", clk.Now().Format("15:04:05.0"), ms.Len())
	}
	st := sw.Stats()
	fmt.Printf("runs %d, steps %d, removed %d\n", st.Runs, st.Steps, st.Removed)
	next, _ := clk.Next()
	fmt.Println("next run at", next.Format("15:04:05.0"))
	// Output:
	// 00:01:01.0: 1500 records left
	// 00:01:01.1: 500 records left
	// 00:01:01.2: 0 records left
	// runs 1, steps 3, removed 2500
	// next run at 00:02:01.2
}

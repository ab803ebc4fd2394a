package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// racers is how many goroutines contend for one ID.
const racers = 16

// concurrency races callers on one ID where exactly one may win. The clock
// stands still, so the outcome does not depend on timing, only on atomicity.
func concurrency(t *testing.T, newStore Factory) {
	ctx := context.Background()
	clk := clock.NewSim(sim.DefaultStart)
	s, err := newStore(sim.Env{Clock: clk})
	if err != nil {
		t.Fatalf("making the backend: %v", err)
	}
	if c, ok := s.(interface{ Close() error }); ok {
		defer c.Close()
	}

	wins, err := race(func(i int) error {
		return s.Create(ctx, "contested", []byte(fmt.Sprint(i)), time.Minute)
	}, store.ErrDuplicateID)
	if err != nil {
		t.Fatalf("concurrent Create: a loser got %v, want ErrDuplicateID", err)
	}
	if wins != 1 {
		t.Fatalf("%d concurrent Create of one ID: %d succeeded, want exactly 1", racers, wins)
	}

	wins, err = race(func(i int) error {
		return s.ChangeID(ctx, "contested", store.ID(fmt.Sprintf("moved-%d", i)))
	}, store.ErrNotFound)
	if err != nil {
		t.Fatalf("concurrent ChangeID: a loser got %v, want ErrNotFound", err)
	}
	if wins != 1 {
		t.Fatalf("%d concurrent ChangeID from one ID: %d succeeded, want exactly 1 (a session must not be cloned)", racers, wins)
	}
	found := 0
	for i := range racers {
		if _, err := s.Load(ctx, store.ID(fmt.Sprintf("moved-%d", i))); err == nil {
			found++
		}
	}
	if _, err := s.Load(ctx, "contested"); !errors.Is(err, store.ErrNotFound) || found != 1 {
		t.Fatalf("after the ChangeID race: %d sessions under new IDs and Load(old) = %v; want 1 and ErrNotFound", found, err)
	}
}

// race runs op from racers goroutines at once and counts successes. Every
// failure must be the loser's error; another is returned.
func race(op func(i int) error, loser error) (int, error) {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		wins  int
		bad   error
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := op(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, loser):
				bad = err
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins, bad
}

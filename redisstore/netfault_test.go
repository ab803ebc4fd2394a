package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/internal/redistest"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/store"
)

// Every network fault on every request of a cross-slot move (prepare,
// claim, commit, settle, unmark): the outcome the mover reports is the
// one a reader sees. The commit's answer lost once let the mover drop its
// marker before the target was settled, and the next reader of the target
// then dropped the session as an aborted move (found by the simulator,
// over hashid and seal).
func TestChangeIDNetFaultOnEveryRequest(t *testing.T) {
	srv := redistest.Cluster(t)
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	prefix := redistest.Prefix(t)
	observer, err := redisstore.New(ctx, redisstore.Options{Addrs: srv.Addrs, Cluster: true, Clock: clk, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	in := faults.New()
	d := faults.NewDialerFor(faults.RESP, nil)
	d.Use(in)
	mover, err := redisstore.New(ctx, redisstore.Options{Addrs: srv.Addrs, Cluster: true, Clock: clk, Prefix: prefix, Dialer: d.DialContext, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer mover.Close()
	n := 0
	for _, kind := range []faults.Kind{faults.NetRefuse, faults.NetDrop, faults.NetStall} {
		for at := 1; at <= 5; at++ {
			for _, conditional := range []bool{false, true} {
				n++
				name := fmt.Sprintf("%s@%d/if=%v", kind, at, conditional)
				old, new := crossSlotIDs(t, nil, n)
				if err := observer.Create(ctx, old, []byte("s"), time.Hour); err != nil {
					t.Fatal(err)
				}
				rec, _ := observer.Load(ctx, old)
				want := []byte("s")
				in.Arm(kind, at)
				opCtx := in.Begin(ctx)
				if conditional {
					want = []byte("t")
					_, err = mover.ChangeIDIf(opCtx, old, new, rec.Version, want)
				} else {
					err = mover.ChangeID(opCtx, old, new)
				}
				fired := in.End()
				b, errB := observer.Load(ctx, new)
				_, errA := observer.Load(ctx, old)
				switch {
				case errA == nil && errB == nil, errA != nil && errB != nil:
					t.Fatalf("%s (fired %v): old %v, new %v, mover %v", name, fired, errA, errB, err)
				case errA == nil && err == nil:
					t.Fatalf("%s: mover reported success, session still under old", name)
				case errB == nil && err != nil && !store.IsAmbiguous(err):
					t.Fatalf("%s: moved, but the mover reported a definite failure: %v", name, err)
				case errB == nil && !bytes.Equal(b.State, want):
					t.Fatalf("%s: under new with state %q", name, b.State)
				}
				if err != nil && !store.IsAmbiguous(err) && !errors.Is(err, store.ErrNotFound) {
					t.Logf("%s: definite: %v", name, err)
				}
			}
		}
	}
}

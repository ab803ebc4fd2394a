package pgstore_test

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/store"
)

// A store on an existing pool: migrate once at startup, then use it through
// the store.Store interface. (Needs a server, so it is compiled, not run.)
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	sessions, err := pgstore.New(pool, pgstore.Options{
		Clock:  clock.Real(),
		Table:  "web_sessions",
		Limits: store.Limits{MaxStateSize: 64 << 10},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := sessions.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	id := store.NewID()
	if err := sessions.Create(ctx, id, []byte(`{"user":42}`), 30*time.Minute); err != nil {
		log.Fatal(err)
	}
	// After login, give the session a new ID so a planted one is useless.
	newID := store.NewID()
	switch err := sessions.ChangeID(ctx, id, newID); {
	case err == nil:
	case store.IsAmbiguous(err):
		// The rename may have happened: find out rather than retry.
		_, err = sessions.Load(ctx, newID)
		log.Printf("after an ambiguous ChangeID, the new ID loads with %v", err)
	case errors.Is(err, store.ErrNotFound):
		log.Print("the session expired or was logged out meanwhile")
	default:
		log.Fatal(err)
	}

	// In a background job, every few minutes: remove what has expired,
	// 500 sessions per statement, so requests run between the batches.
	if n, err := sessions.Sweep(ctx, 500); err == nil {
		log.Printf("removed %d expired sessions", n)
	}
}

// A cleanup job that paces itself: a batch of 200 sessions, then a pause
// twice as long as the batch took, so that the cleanup's connection is busy
// about a third of the time however large the backlog (the pacing measured
// in bench/BENCHMARKS.md). (Needs a server, so it is compiled, not run.)
func ExampleStore_StartSweep() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	sessions, err := pgstore.New(pool, pgstore.Options{})
	if err != nil {
		log.Fatal(err)
	}

	sweep := sessions.StartSweep()
	removed := 0
	for {
		began := time.Now()
		n, done, err := sweep.Next(ctx, 200)
		removed += n
		if err != nil {
			log.Printf("cleanup stopped after %d sessions: %v", removed, err)
			return
		}
		if done {
			break
		}
		time.Sleep(2 * time.Since(began))
	}
	log.Printf("removed %d expired sessions", removed)
}

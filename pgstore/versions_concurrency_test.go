package pgstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// Concurrent conditional writes at one version: exactly one applies, the
// others are told the session changed (UpdateIf) or moved (ChangeIDIf),
// and the session holds the winner's write at the next version. This is
// the lost update the versions exist to prevent.
func TestConcurrentUpdateIfOneWinner(t *testing.T) {
	t.Parallel()
	clk := clock.NewSim(t0)
	s := newStoreOn(t, widePool(t), Options{Clock: clk})
	ctx := t.Context()
	for round := range 30 {
		id := store.ID(fmt.Sprintf("id%d", round))
		if err := s.Create(ctx, id, nil, time.Hour); err != nil {
			t.Fatal(err)
		}
		v := store.FirstVersion(id, "", nil, t0.Add(time.Hour))
		ttl := time.Hour
		if round%2 == 1 {
			ttl = store.KeepTTL
		}
		errs := race(workers, func(i int) error {
			got, err := s.UpdateIf(ctx, id, v, []byte{byte(i)}, ttl)
			if err == nil && got != v+1 {
				return fmt.Errorf("won at version %d, want %d", got, v+1)
			}
			return err
		})
		if wins, lost := count(errs, nil), count(errs, store.ErrConflict); wins != 1 || lost != workers-1 {
			t.Fatalf("round %d: %v; want one winner and the rest ErrConflict", round, errs)
		}
		rec, err := s.Load(ctx, id)
		if err != nil || rec.Version != v+1 || len(rec.State) != 1 || int(rec.State[0]) != slicesIndexNil(errs) {
			t.Fatalf("round %d: %+v, %v is not the winner's (%d) write", round, rec, err, slicesIndexNil(errs))
		}
	}
}

func TestConcurrentChangeIDIfOneWinner(t *testing.T) {
	t.Parallel()
	clk := clock.NewSim(t0)
	s := newStoreOn(t, widePool(t), Options{Clock: clk})
	ctx := t.Context()
	for round := range 30 {
		src := store.ID(fmt.Sprintf("src%d", round))
		if err := s.Create(ctx, src, nil, time.Hour); err != nil {
			t.Fatal(err)
		}
		v := store.FirstVersion(src, "", nil, t0.Add(time.Hour))
		// Half the rounds race to distinct targets, half to the same one.
		target := func(i int) store.ID {
			if round%2 == 0 {
				return store.ID(fmt.Sprintf("r%d-t%d", round, i))
			}
			return store.ID(fmt.Sprintf("r%d-t", round))
		}
		errs := race(workers, func(i int) error {
			_, err := s.ChangeIDIf(ctx, src, target(i), v, []byte{byte(i)})
			return err
		})
		if wins, lost := count(errs, nil), count(errs, store.ErrNotFound); wins != 1 || lost != workers-1 {
			t.Fatalf("round %d: %v; want one winner and the rest ErrNotFound", round, errs)
		}
		winner := slicesIndexNil(errs)
		rec, err := s.Load(ctx, target(winner))
		if err != nil || rec.Version != v+1 || len(rec.State) != 1 || int(rec.State[0]) != winner {
			t.Fatalf("round %d: %+v, %v is not the winner's (%d) move", round, rec, err, winner)
		}
	}
}

// Capped logins of one owner racing conditional moves of that owner's
// sessions to new IDs (ChangeIDIf, which, like ChangeID, takes no owner
// lock: a move neither adds to nor takes from the owner's sessions). The
// logins' check that the owner's rows held still catches the moves, so no
// List ever shows more than the cap, and the cap is what is left.
func TestConditionalMovesRacingCappedLogins(t *testing.T) {
	t.Parallel()
	const cap, perWorker = 3, 12
	s := newStoreOn(t, loginPool(t, ""), Options{Clock: clock.NewSim(t0)})
	ctx := t.Context()
	ids := make(chan store.ID, loginWorkers*perWorker*4)
	stop := make(chan struct{})
	most := watchList(t, s, "alice", stop)
	var moved, gone atomic.Int64
	var logins sync.WaitGroup
	logins.Add(loginWorkers / 2)
	loginsDone := make(chan struct{})
	go func() { logins.Wait(); close(loginsDone) }()
	errs := race(loginWorkers, func(w int) error {
		if w%2 == 0 {
			defer logins.Done()
		}
		for i := range perWorker {
			if w%2 == 0 {
				id := store.ID(fmt.Sprintf("s-%d-%d", w, i))
				ttl := time.Hour - time.Duration(w*perWorker+i)*time.Microsecond
				if err := s.CreateOwned(ctx, id, "alice", nil, ttl, cap); err != nil {
					return fmt.Errorf("login %s: %w", id, err)
				}
				ids <- id
				continue
			}
			var id store.ID
			select {
			case id = <-ids:
			case <-loginsDone:
				select {
				case id = <-ids:
				default: // nothing left to move
					return nil
				}
			}
			rec, err := s.Load(ctx, id)
			if errors.Is(err, store.ErrNotFound) { // evicted
				gone.Add(1)
				continue
			}
			if err != nil {
				return err
			}
			next := store.ID(fmt.Sprintf("m-%d-%d", w, i))
			switch _, err := s.ChangeIDIf(ctx, id, next, rec.Version, nil); {
			case err == nil:
				moved.Add(1)
				ids <- next
			case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
				gone.Add(1)
			default:
				return fmt.Errorf("move %s: %w", id, err)
			}
		}
		return nil
	})
	close(stop)
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if m := most(); m > cap {
		t.Errorf("a List showed %d sessions, over the cap of %d", m, cap)
	}
	got, err := s.List(ctx, "alice")
	if err != nil || len(got) != cap {
		t.Fatalf("after the logins: %d sessions, %v; want %d", len(got), err, cap)
	}
	if n := s.rowsOf(t, "alice"); n != cap {
		t.Fatalf("alice has %d rows, want %d", n, cap)
	}
	if moved.Load() == 0 {
		t.Fatalf("no move succeeded (%d found their session gone): nothing raced", gone.Load())
	}
	t.Logf("%d moves, %d sessions gone before their move", moved.Load(), gone.Load())
}

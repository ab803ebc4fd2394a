package pgstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/store"
)

// Interleavings forced with row locks, as in linearizable_test.go, for the
// conditional writes and for the moves, whose target conflict is now
// handled by INSERT ... ON CONFLICT rather than by a failing rename.

// An UpdateIf waiting on a row that a ChangeID then moves away finds the
// session gone: ErrNotFound. Its UPDATE skips the deleted row, and its
// snapshot still shows the session at the version asked for, which is
// therefore no answer (neither ErrConflict nor success): the statement
// runs again on a fresh snapshot.
func TestUpdateIfWaitingOnAMovedSessionFindsItGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "moved", time.Hour)
	v := f.version("a")
	tx := holdRow(t, f, "a")
	moved := async(func() error { return f.s.ChangeID(f.ctx, "a", "b") })
	blocked(t, f, 1)
	updated := async(func() error { _, err := f.s.UpdateIf(f.ctx, "a", v, []byte("lost"), time.Hour); return err })
	blocked(t, f, 2)
	if err := tx.Rollback(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-moved; err != nil {
		t.Fatalf("ChangeID: %v", err)
	}
	if err := <-updated; !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateIf of the session moved away while it waited: %v, want ErrNotFound", err)
	}
	rec, err := f.s.Load(f.ctx, "b")
	if err != nil || string(rec.State) != "moved" || rec.Version != v+1 {
		t.Fatalf("b: %+v, %v; want the moved session at version %d", rec, err, v+1)
	}
	f.wantNotFound("a")
}

// An UpdateIf waiting on a row that an Update then writes loses: the
// session is live at another version, ErrConflict, and the Update stands.
func TestUpdateIfWaitingOnAnUpdateConflicts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "first", time.Hour)
	v := f.version("a")
	tx := holdRow(t, f, "a")
	plain := async(func() error { return f.s.Update(f.ctx, "a", []byte("second"), time.Hour) })
	blocked(t, f, 1)
	conditional := async(func() error { _, err := f.s.UpdateIf(f.ctx, "a", v, []byte("lost"), time.Hour); return err })
	blocked(t, f, 2)
	if err := tx.Rollback(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-plain; err != nil {
		t.Fatal(err)
	}
	if err := <-conditional; !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UpdateIf at the version the Update replaced: %v, want ErrConflict", err)
	}
	rec, err := f.s.Load(f.ctx, "a")
	if err != nil || string(rec.State) != "second" || rec.Version != v+1 {
		t.Fatalf("a: %+v, %v; want the Update's state at version %d", rec, err, v+1)
	}
}

// The moves, each given a session at "src" (at version, for ChangeIDIf)
// and the target "dst".
func moves(f *fixture, version uint64) map[string]func() error {
	return map[string]func() error{
		"ChangeID":    func() error { return f.s.ChangeID(f.ctx, "src", "dst") },
		"ChangeIDIf":  func() error { _, err := f.s.ChangeIDIf(f.ctx, "src", "dst", version, []byte("session")); return err },
		"Cycle":       func() error { return f.s.Cycle(f.ctx, "src", "dst", "", []byte("session"), time.Hour, 0) },
		"Cycle owned": func() error { return f.s.Cycle(f.ctx, "src", "dst", "alice", []byte("session"), time.Hour, 2) },
	}
}

// A move whose target is inserted by another client after the move locked
// the rows (so it saw no target) meets that row in its INSERT ... ON
// CONFLICT: a live one stops the move, ErrDuplicateID, an expired one (at
// the move's clock) is taken in place. Either way the statement runs
// once, without an error: the rename of an earlier version failed here
// with unique_violation, which the server logs with the ID, and ran again.
func TestMoveOntoATargetInsertedWhileItWaits(t *testing.T) {
	t.Parallel()
	for _, live := range []bool{true, false} {
		for name := range moves(nil, 0) {
			t.Run(fmt.Sprintf("%s/live=%v", name, live), func(t *testing.T) {
				t.Parallel()
				rec := &traceRecorder{}
				f := newFixture(t)
				f.s = newStoreOn(t, siblingPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = rec }), Options{Clock: f.clk, Table: f.table})
				f.mustCreate("src", "session", time.Hour)
				move := moves(f, f.version("src"))[name]
				// The target, inserted and held open by another client.
				expires := t0.Add(-time.Minute)
				if live {
					expires = t0.Add(time.Minute)
				}
				tx, err := f.pool.Begin(f.ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = tx.Rollback(f.ctx) })
				if _, err := tx.Exec(f.ctx, "INSERT INTO "+f.s.Table()+" (id, state, expires) VALUES ('dst', 'other', $1)", expires); err != nil {
					t.Fatal(err)
				}
				rec.mu.Lock()
				rec.starts, rec.ends = nil, nil
				rec.mu.Unlock()
				done := async(move)
				blocked(t, f, 1) // the move's INSERT waits for the target's inserter
				if err := tx.Commit(f.ctx); err != nil {
					t.Fatal(err)
				}
				err = <-done
				rows := f.dump()
				if live {
					if !errors.Is(err, store.ErrDuplicateID) {
						t.Fatalf("onto a live target inserted while it waited: %v, want ErrDuplicateID", err)
					}
					if len(rows) != 2 || rows[0][:4] != "dst|" || rows[1][:4] != "src|" {
						t.Fatalf("rows %v, want both sessions as they were", rows)
					}
				} else {
					if err != nil {
						t.Fatalf("onto a target inserted while it waited, expired at its clock: %v", err)
					}
					f.wantNotFound("src")
					if len(rows) != 1 || rows[0][:4] != "dst|" {
						t.Fatalf("rows %v, want the session at dst alone", rows)
					}
				}
				rec.mu.Lock()
				defer rec.mu.Unlock()
				for i, end := range rec.ends {
					if end.Err != nil {
						t.Errorf("statement %d of the move failed (%v): %s", i, end.Err, rec.starts[i].SQL)
					}
				}
			})
		}
	}
}

// A move locks the rows at old and new through its snapshot, following
// each to its latest version: a row that was at new in the snapshot and
// was moved to old after it (by a writer that renames rows, as pgstore's
// earlier versions did) is locked as the source. The DELETE of the source
// finds rows through the snapshot, where that row is not at old, so the
// move must not write: it checks that the snapshot's row at old is the
// one it locked, and runs again otherwise. Without the check the session
// was written at new and left at old too.
func TestMoveOfASourceRenamedAfterItsSnapshot(t *testing.T) {
	t.Parallel()
	for name := range moves(nil, 0) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.mustCreate("dst", "session", time.Hour)
			move := moves(f, f.version("dst"))[name]
			tx, err := f.pool.Begin(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tx.Rollback(f.ctx) })
			if _, err := tx.Exec(f.ctx, "UPDATE "+f.s.Table()+" SET id = 'src' WHERE id = 'dst'"); err != nil {
				t.Fatal(err)
			}
			done := async(move)
			blocked(t, f, 1) // the move's snapshot has the row at dst, locked by tx
			if err := tx.Commit(f.ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("moving the renamed session back: %v", err)
			}
			f.wantNotFound("src")
			if rows := f.dump(); len(rows) != 1 || rows[0][:4] != "dst|" {
				t.Fatalf("rows %v, want the session at dst alone", rows)
			}
		})
	}
}

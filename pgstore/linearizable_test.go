package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// The tests below pin down, each with one interleaving forced by row locks,
// three ways pgstore broke linearizability that the simulator's concurrent
// checker found (histories in internal/pgsim/testdata/defects): each
// statement ran alone is right, and only a statement of another client
// committing at the wrong moment showed them.

// blocked waits until n statements on f's table are waiting for a lock, so
// that a test can order what happens next.
func blocked(t *testing.T, f *fixture, n int) {
	t.Helper()
	waitForLockWaiters(t, f, n, "query LIKE '%' || $1 || '%'", f.table)
}

// waitForLockWaiters waits until n server processes that match where (a condition
// on pg_stat_activity, with args) are waiting for a lock. It polls the
// server, not the clock of any store.
func waitForLockWaiters(t *testing.T, f *fixture, n int, where string, args ...any) {
	t.Helper()
	for range 2000 {
		var waiting int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND `+where, args...).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		time.Sleep(2 * time.Millisecond) // a statement reaching its lock, not simulated time
	}
	t.Fatalf("%d statements never waited on a lock (%s)", n, where)
}

// async runs fn in a goroutine and returns a channel with its error.
func async(fn func() error) chan error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return done
}

// holdRow starts a transaction that locks id's row, as a caller's own
// transaction or a statement of another client would.
func holdRow(t *testing.T, f *fixture, id store.ID) pgx.Tx {
	t.Helper()
	tx, err := f.pool.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(f.ctx, "SELECT 1 FROM "+f.s.Table()+" WHERE id = $1 FOR UPDATE", string(id)); err != nil {
		t.Fatal(err)
	}
	return tx
}

// Defect: ChangeID reported ErrDuplicateID over a target that, by its own
// clock, had expired, when the target was committed by another writer
// after the ChangeID's statement took its snapshot: the rename hit the
// unique index. Now the move's INSERT ... ON CONFLICT meets the target's
// row, whatever the snapshot, and takes it in place since it expired.
func TestChangeIDOntoATargetInsertedAfterItsSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("src", "session", 2*time.Hour)
	// A second application server whose clock is an hour behind: the
	// target it writes is live for it and long expired for f.s.
	behind, err := New(f.pool, Options{Clock: clock.NewSim(t0.Add(-time.Hour)), Table: f.table})
	if err != nil {
		t.Fatal(err)
	}
	tx := holdRow(t, f, "src") // ChangeID takes its snapshot, then waits here
	done := async(func() error { return f.s.ChangeID(f.ctx, "src", "dst") })
	blocked(t, f, 1)
	if err := behind.Create(f.ctx, "dst", []byte("stale"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ChangeID onto a target expired by its clock: %v, want success", err)
	}
	f.wantRecord("dst", "session", t0.Add(2*time.Hour))
	f.wantNotFound("src")
}

// Defect: DeleteExpired skipped rows other transactions held (FOR UPDATE
// SKIP LOCKED). A holder that did not end up removing the row (a
// transaction that rolled back, or, seen by the checker, a Create's upsert
// not yet committed) left the earliest expired record in place while a
// later one went. Now cleanup waits for the row.
func TestDeleteExpiredWaitsForAHeldRow(t *testing.T) {
	t.Parallel()
	for _, sweep := range []bool{false, true} {
		f := newFixture(t)
		f.mustCreate("x", "first to expire", time.Second)
		f.mustCreate("y", "second", 2*time.Second)
		f.clk.Add(time.Hour)
		tx := holdRow(t, f, "x")
		done := async(func() error {
			var n int
			var err error
			if sweep {
				n, _, err = f.s.StartSweep().Next(f.ctx, 1)
			} else {
				n, err = f.s.DeleteExpired(f.ctx, 1)
			}
			if err == nil && n != 1 {
				t.Errorf("removed %d, want 1", n)
			}
			return err
		})
		blocked(t, f, 1)
		if err := tx.Rollback(f.ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		f.clk.Add(-time.Hour) // both live again, if still held
		f.wantNotFound("x")
		f.wantRecord("y", "second", t0.Add(2*time.Second))
	}
}

// Defect: ChangeID onto an expired target deleted the target's row and
// renamed the source's. An Update of the target by an application server
// whose clock still saw it live, waiting on the target's row, then found
// it deleted and reported the session missing, though a session was live
// under that ID throughout. Now the target's row takes the session in
// place, and the waiting Update follows it.
func TestUpdateWaitingOnAChangeIDTargetFollowsIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("dst", "old", time.Minute) // expired for f.s at t0+1h
	f.clk.Set(t0.Add(time.Hour))
	f.mustCreate("src", "moved", time.Hour)
	// For the other server the target is still live.
	behind, err := New(f.pool, Options{Clock: clock.NewSim(t0), Table: f.table})
	if err != nil {
		t.Fatal(err)
	}
	tx := holdRow(t, f, "dst")
	moved := async(func() error { return f.s.ChangeID(f.ctx, "src", "dst") })
	blocked(t, f, 1)
	updated := async(func() error { return behind.Update(f.ctx, "dst", []byte("updated"), 30*time.Minute) })
	blocked(t, f, 2)
	if err := tx.Rollback(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-moved; err != nil {
		t.Fatalf("ChangeID: %v", err)
	}
	if err := <-updated; err != nil {
		t.Fatalf("Update of a session live for its server throughout: %v", err)
	}
	rec, err := behind.Load(f.ctx, "dst")
	if err != nil || string(rec.State) != "updated" || !rec.Expires.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("dst for the other server: %q until %v, %v; want the update on the moved session", rec.State, rec.Expires, err)
	}
	f.wantNotFound("src")
}

// Defect: a cleanup batch under READ COMMITTED locked a row at its latest
// version, but deleted rows found through its snapshot. A row a server
// with a clock behind renamed (ChangeID) after the batch's snapshot was
// locked under its new ID and never found to delete: DeleteExpired(1)
// removed nothing, with an expired record there. Under REPEATABLE READ the
// batch runs again on a fresh snapshot and removes it.
func TestCleanupBatchFollowsARenameAfterItsSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("x", "session", time.Minute)
	f.clk.Set(t0.Add(time.Hour)) // x is long expired for f.s
	behind, err := New(f.pool, Options{Clock: clock.NewSim(t0), Table: f.table})
	if err != nil {
		t.Fatal(err)
	}
	tx := holdRow(t, f, "x")
	renamed := async(func() error { return behind.ChangeID(f.ctx, "x", "y") }) // x is live for it
	blocked(t, f, 1)
	var n int
	cleaned := async(func() (err error) { n, err = f.s.DeleteExpired(f.ctx, 1); return err })
	blocked(t, f, 2)
	if err := tx.Rollback(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-renamed; err != nil {
		t.Fatalf("ChangeID: %v", err)
	}
	if err := <-cleaned; err != nil || n != 1 {
		t.Fatalf("DeleteExpired(1) beside the rename = %d, %v; want 1: y expired at its clock", n, err)
	}
	if _, err := behind.Load(f.ctx, "y"); err == nil {
		t.Fatal("y is still there")
	}
}

// A login with room under the cap counts the owner's live sessions on its
// snapshot, without row locks. A ChangeID moving the owner's session away
// from the login's ID, committed after that snapshot, frees the ID for the
// insert: the moved session must have been counted, or the owner ends over
// the cap (the concurrent checker found this, in a simrun -backend postgres
// -clients 8 history, when the count left the row at the ID out).
func TestLoginCountsTheSessionMovedFromItsID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.s.CreateOwned(f.ctx, "ab", "zoe", []byte("first"), time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	// The rename, held open: ab's row is updated in place to x_y.
	tx, err := f.pool.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(f.ctx, "UPDATE "+f.s.Table()+" SET id = 'x_y' WHERE id = 'ab'"); err != nil {
		t.Fatal(err)
	}
	login := async(func() error { return f.s.CreateOwned(f.ctx, "ab", "zoe", []byte("second"), time.Hour, 1) })
	blocked(t, f, 1) // the login waits on ab's row
	if err := tx.Commit(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-login; err != nil {
		t.Fatalf("login: %v", err)
	}
	list, err := f.s.List(f.ctx, "zoe")
	if err != nil || len(list) != 1 || list[0].Handle != store.HandleOf("ab") {
		t.Fatalf("zoe's sessions after a login under cap 1: %v, %v; want ab alone (x_y evicted)", list, err)
	}
}

// A cleanup batch takes its snapshot, then waits for a row lock another
// transaction holds on an expired row (a ChangeID's, of a server whose
// clock still calls the row live). A record committed meanwhile, already
// expired at the batch's reading, is there when the batch commits, so the
// batch must take it too: the earliest expired records, as the table is
// when it commits. Under REPEATABLE READ it did not (the concurrent
// checker found it, in simrun -backend postgres -clients 8 -faults all,
// seed 113: internal/pgsim/testdata/open).
func TestCleanupSeesWhatCommittedWhileItWaited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	insertRecords(t, f.ctx, f.pool, f.s.Table(), []sweepRecord{{"s10", t0}})
	f.clk.Set(t0.Add(time.Second))
	tx := holdRow(t, f, "s10")
	cleanup := make(chan int, 1)
	done := async(func() error {
		n, err := f.s.DeleteExpired(f.ctx, 3)
		cleanup <- n
		return err
	})
	blocked(t, f, 1) // the batch waits on s10's row
	insertRecords(t, f.ctx, f.pool, f.s.Table(), []sweepRecord{{"early", t0.Add(-time.Second)}})
	if err := tx.Rollback(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := <-cleanup; n != 2 {
		t.Fatalf("DeleteExpired(3) = %d, want 2: the record committed while it waited, expired, is there when it commits", n)
	}
	if got := idsLeft(t, f.ctx, f.pool, f.s.Table()); len(got) != 0 {
		t.Fatalf("left %v, want nothing", got)
	}
}

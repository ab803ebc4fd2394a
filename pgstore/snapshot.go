package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// maxSnapshotAttempts bounds how often a cleanup statement runs again
// after a row it wanted changed under it. Each rerun follows a commit of
// another transaction, so the reruns make progress; the bound is for a
// table written faster than any cleanup could follow.
const maxSnapshotAttempts = 50

// writeSnapshot runs a cleanup statement (DeleteExpired, a sweep's batch)
// in a transaction of its own, at the clock reading now, followed by
// cleanCheck on a snapshot of its own, with the arguments check gives from
// the batch's result; if the check finds a record the batch should have
// taken, the batch is rolled back and runs again.
//
// Why: a batch is many rows, and its statement takes its snapshot before
// it waits for the row locks other transactions hold. What they commit
// meanwhile, it misses: a row renamed by a ChangeID of a server whose
// clock still calls it live is locked under its new ID and not found to
// delete, and a record another client commits while the batch waits is not
// seen at all, so the batch removes fewer than the earliest expired records
// as the table is when it commits (the simulator's concurrent checker found
// both, with clocks apart). The check runs after the batch, on a fresh
// snapshot, before COMMIT: a batch that commits is exactly the earliest
// expired records of the table as it then is. (REPEATABLE READ, which an
// earlier version used, made the first case fail and run again, but not
// the second: an insert is no conflict.)
//
// A failure before COMMIT is sent is definite: nothing commits without it,
// and the transaction is rolled back (by the server, if the connection is
// gone). Only a COMMIT whose answer is lost is ambiguous, and it is fenced
// like any other write.
func (s *Store) writeSnapshot(ctx context.Context, op string, st *statement, now time.Time, encode func(a *args, now time.Time), row func([][]byte) error, check func(a *args)) (pgconn.CommandTag, error) {
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	var a args
	encode(&a, now)
	for attempt := 1; ; attempt++ {
		if err := simple(ctx, pc, "BEGIN ISOLATION LEVEL READ COMMITTED"); err != nil {
			return pgconn.CommandTag{}, readFailed(op, err)
		}
		// runOnce, not run: a statement the server no longer has fails
		// the transaction too, so it is prepared again outside it.
		ran := st
		tag, rerr := s.runOnce(ctx, conn, st, a.list()[:len(st.params)], row)
		if rerr == nil {
			var c args
			check(&c)
			ran = &s.sql.cleanCheck
			_, rerr = s.runOnce(ctx, conn, ran, c.list()[:len(ran.params)], nil)
		}
		if rerr != nil {
			// Rolled back here, or by the server when the broken
			// connection is gone: either way nothing was committed.
			rollback(ctx, pc)
			switch {
			case attempt < maxSnapshotAttempts && ctx.Err() == nil && (isConflict(rerr.err) || sqlState(rerr.err) == "22012"):
				continue // a record the batch missed: again, on a fresh snapshot
			case attempt < maxSnapshotAttempts && ctx.Err() == nil && staleStatement(rerr.err):
				if err := conn.Conn().Deallocate(ctx, ran.name); err != nil {
					return tag, readFailed(op, err)
				}
				continue
			}
			return tag, readFailed(op, rerr.err)
		}
		// The statement has done its work: the COMMIT is sent whatever
		// the caller's context says by now, and is not interrupted by it
		// (a commit cut off in flight is what makes a write ambiguous,
		// and this one is quick). So a batch that ran counts, as a
		// single statement that ran does.
		commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.fenceTimeoutOr(time.Second))
		err := simple(commitCtx, pc, "COMMIT")
		cancel()
		if err != nil {
			return tag, s.failedWrite(op, pc.PID(), err)
		}
		return tag, nil
	}
}

// rollback ends a failed transaction, whatever the caller's context: the
// connection goes back to the pool.
func rollback(ctx context.Context, pc *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = simple(ctx, pc, "ROLLBACK")
}

// fenceTimeoutOr is the fence's bound, or d if the fence is off.
func (s *Store) fenceTimeoutOr(d time.Duration) time.Duration {
	if s.fenceTimeout > 0 {
		return s.fenceTimeout
	}
	return d
}

// simple runs a statement without parameters or results.
func simple(ctx context.Context, pc *pgconn.PgConn, sql string) error {
	results, err := pc.Exec(ctx, sql).ReadAll()
	if err != nil {
		return err
	}
	for _, r := range results {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

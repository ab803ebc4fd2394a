package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// step is one statement of a batch and its encoded parameters.
type step struct {
	st     *statement
	params [][]byte
}

// writeBatch runs the steps as one transaction, sent in one round trip:
// BEGIN ISOLATION LEVEL READ COMMITTED, the steps, COMMIT, and a single
// Sync. Each step takes its snapshot when it starts, after the locks the
// steps before it took; if one fails, the server skips the rest, COMMIT
// included, and the transaction is rolled back here before the connection
// is used again. The owner operations use it to hold an advisory lock
// across the statement that needs it without a round trip per statement.
// row is called for each row of the last step; the other steps' rows are
// discarded. The tag is the last step's.
//
// Failures are classified as for write: one before anything was sent, or
// the server's error answer (nothing commits without the COMMIT the
// server then skips), is definite; anything else once the batch was sent
// is ambiguous, and fenced. A deadlock or serialization failure, and a
// prepared statement the server no longer has, roll the batch back and it
// runs again on the same connection with the same parameters.
func (s *Store) writeBatch(ctx context.Context, op string, steps []step, row func([][]byte) error) (pgconn.CommandTag, error) {
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	all := make([]step, 0, len(steps)+2)
	all = append(all, step{st: &s.sql.begin})
	all = append(all, steps...)
	all = append(all, step{st: &s.sql.commit})
	for attempt := 1; ; attempt++ {
		tag, rerr := s.runBatch(ctx, conn, all, len(steps), row)
		if rerr == nil {
			return tag, nil
		}
		if !pc.IsClosed() && pc.TxStatus() != 'I' {
			rollback(ctx, pc)
		}
		switch {
		case attempt < maxAttempts && ctx.Err() == nil && staleStatement(rerr.err):
			// Which statement is stale is not said: prepare them all
			// again.
			for _, st := range all {
				if err := conn.Conn().Deallocate(ctx, st.st.name); err != nil {
					return tag, readFailed(op, err)
				}
			}
			continue
		case attempt < maxAttempts && ctx.Err() == nil && isConflict(rerr.err):
			continue
		case !rerr.executed:
			return tag, readFailed(op, rerr.err)
		}
		return tag, s.failedWrite(op, pc.PID(), rerr.err)
	}
}

// runBatch prepares the steps' statements (once per connection), checks
// them as run does, and executes them as one batch, calling row for the
// rows of steps[rowStep] and returning its tag.
func (s *Store) runBatch(ctx context.Context, conn *pgxpool.Conn, steps []step, rowStep int, row func([][]byte) error) (pgconn.CommandTag, *runErr) {
	c := conn.Conn()
	var b pgconn.Batch
	for _, st := range steps {
		sd, err := c.Prepare(ctx, st.st.name, st.st.sql)
		if err != nil {
			return pgconn.CommandTag{}, &runErr{err: err}
		}
		if err := st.st.check(sd); err != nil {
			return pgconn.CommandTag{}, &runErr{err: err}
		}
		b.ExecStatement(sd, st.params, binaryFormat, binaryFormat)
	}
	tracer := s.tracer
	var traced []context.Context
	if tracer != nil {
		// As in runOnce: the statements, never their arguments.
		traced = make([]context.Context, len(steps))
		for i, st := range steps {
			traced[i] = tracer.TraceQueryStart(ctx, c, pgx.TraceQueryStartData{SQL: st.st.sql})
		}
	}
	mrr := c.PgConn().ExecBatch(ctx, &b)
	var rowErr error
	var lastTag pgconn.CommandTag
	done := 0
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		last := done == rowStep
		for rr.NextRow() {
			if last && rowErr == nil && row != nil {
				rowErr = row(rr.Values())
			}
		}
		tag, err := rr.Close()
		err = scrub(err) // before the tracer sees it (scrub.go)
		if last {
			lastTag = tag
		}
		if tracer != nil && done < len(steps) {
			tracer.TraceQueryEnd(traced[done], c, pgx.TraceQueryEndData{CommandTag: tag, Err: err})
		}
		done++
	}
	err := scrub(mrr.Close())
	if tracer != nil {
		// The steps the server skipped after a failure, or never ran.
		for ; done < len(steps); done++ {
			tracer.TraceQueryEnd(traced[done], c, pgx.TraceQueryEndData{Err: err})
		}
	}
	switch {
	case err != nil:
		return lastTag, &runErr{err: err, executed: true}
	case rowErr != nil:
		return lastTag, &runErr{err: rowErr, executed: true}
	}
	return lastTag, nil
}

package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hourglass-go/hourglass/store"
)

// FenceTimeout bounds how long an ambiguous write waits for its outcome to
// become final.
const FenceTimeout = 5 * time.Second

// ErrNotFinal marks an ambiguous failure whose outcome pgstore could not fix
// before returning: the statement may still commit later.
var ErrNotFinal = errors.New("pgstore: the outcome may still change")

// fence makes the outcome of an ambiguous write final before it is reported.
//
// When a client gives up on a statement it has sent (the answer was lost,
// its context ended), the server process that received it carries on: it may
// run the statement after the client has returned, even after the client's
// next operations. An "ambiguous" write could then take effect late, which
// no caller can reason about. The server process exits once it finds the
// connection closed, after finishing whatever it had received, so waiting
// for it to be gone fixes the outcome: committed, or never. The wait uses a
// connection of its own, outside the pool, which may have no room.
func (s *Store) fence(pid uint32, err error) error {
	if pid == 0 {
		return fmt.Errorf("%w: %w", ErrNotFinal, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), FenceTimeout)
	defer cancel()
	c, cerr := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if cerr != nil {
		return fmt.Errorf("%w (could not reach the server to wait for it: %v): %w", ErrNotFinal, cerr, err)
	}
	defer c.Close(context.Background())
	for {
		var alive bool
		qerr := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, int32(pid)).Scan(&alive)
		switch {
		case qerr != nil:
			return fmt.Errorf("%w (waiting for server process %d: %v): %w", ErrNotFinal, pid, qerr, err)
		case !alive:
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (server process %d still running after %v): %w", ErrNotFinal, pid, FenceTimeout, err)
		case <-time.After(2 * time.Millisecond): // a process exiting, not simulated time
		}
	}
}

// failedWrite classifies a write's failure and, when it is ambiguous, waits
// for it to become final. The connection must be released by the caller
// after this returns; pid is the server process it was talking to.
func (s *Store) failedWrite(op string, pid uint32, err error) error {
	err = writeFailed(op, err)
	if store.IsAmbiguous(err) {
		return s.fence(pid, err)
	}
	return err
}

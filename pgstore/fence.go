package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hourglass-go/hourglass/store"
)

// DefaultFenceTimeout is how long an ambiguous write waits for its outcome
// to become final when Options.FenceTimeout is zero. A server process that
// finds its connection gone exits within milliseconds; one still running a
// statement exits when the statement ends, and the statements of this
// package are short unless they wait on a lock. The default leaves room for
// that wait without holding a caller indefinitely.
const DefaultFenceTimeout = 5 * time.Second

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
//
// The wait is bounded by Options.FenceTimeout alone, not by the caller's
// context: its deadline passing is often what made the write ambiguous.
func (s *Store) fence(pid uint32, err error) error {
	switch {
	case pid == 0:
		return fmt.Errorf("%w: %w", ErrNotFinal, err)
	case s.fenceTimeout < 0:
		return fmt.Errorf("%w (not waited for: Options.FenceTimeout is negative): %w", ErrNotFinal, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.fenceTimeout)
	defer cancel()
	c, cerr := s.fenceConn(ctx)
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
			return fmt.Errorf("%w (server process %d still running after %v): %w", ErrNotFinal, pid, s.fenceTimeout, err)
		case <-time.After(2 * time.Millisecond): // a process exiting, not simulated time
		}
	}
}

// fenceConn opens the fence's connection as the pool opens its own, so
// that it reaches the same server as the same role.
func (s *Store) fenceConn(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config() // a copy, which BeforeConnect may change
	// BeforeConnect is where pools whose credentials change (IAM tokens,
	// rotated passwords) or whose server is found at connect time put
	// them; without it the fence would be refused where the pool is let
	// in, making every ambiguous write ErrNotFinal and logging an
	// authentication failure on the server each time.
	if cfg.BeforeConnect != nil {
		if err := cfg.BeforeConnect(ctx, cfg.ConnConfig); err != nil {
			return nil, fmt.Errorf("BeforeConnect: %w", err)
		}
	}
	// AfterConnect is not run. It readies a connection for the pool's
	// users (data types, prepared statements, session settings, SET
	// ROLE), none of which the fence's one query needs: every role may see
	// the process IDs in pg_stat_activity. Running it would only add round
	// trips to a bounded wait, let a hook that fails for its own reasons
	// make the write ErrNotFinal, and show the hook a connection that
	// never enters the pool.
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
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

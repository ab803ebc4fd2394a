package pgstore

import (
	"context"
	"fmt"

	"github.com/hourglass-go/hourglass/store"
)

// move is the row a move statement returns (moveResult), and, for a
// capped Cycle, whether the owner's sessions held still (stable).
type move struct {
	unstable   bool // the owner's rows changed under the statement: nothing written
	srcLive    bool
	srcVersion uint64 // the version of the live source
	dstLive    bool
	here       bool   // the snapshot's row at old is the one locked
	moved      uint64 // the version the session moved at; 0: it did not move
}

// read decodes moveResult.
func (m *move) read(v [][]byte) error {
	src, err := decodeInt8(v[0])
	if err != nil {
		return err
	}
	m.srcLive = src > 0
	if m.srcLive {
		if m.srcVersion, err = decodeVersion(v[1]); err != nil {
			return err
		}
	}
	dst, err := decodeInt8(v[2])
	if err != nil {
		return err
	}
	m.dstLive = dst > 0
	if m.here, err = decodeBool(v[3]); err != nil {
		return err
	}
	moved, err := decodeInt8(v[4])
	switch {
	case err != nil:
		return err
	case moved < 0:
		return fmt.Errorf("%w: %d", errBadVersion, moved)
	}
	m.moved = uint64(moved)
	return nil
}

// readStable decodes a capped Cycle's row: stable, then moveResult.
func (m *move) readStable(v [][]byte) error {
	stable, err := decodeBool(v[0])
	if err != nil {
		return err
	}
	m.unstable = !stable
	return m.read(v[1:])
}

// move runs a move statement (run) until its answer is final and gives
// the contract's: ErrNotFound, ErrConflict (only for a version other than
// 0, which no record has), ErrDuplicateID, or the version the session
// moved at. The statement writes nothing when it must run again: the
// owner's sessions or the source changed after its snapshot (moveSQL).
func (s *Store) move(ctx context.Context, op string, version uint64, run func() (move, error)) (uint64, error) {
	for attempt := 1; ; attempt++ {
		m, err := run()
		switch {
		case err != nil:
			return 0, err
		case m.unstable:
			// Changed nothing, as in CreateOwned.
		case !m.srcLive:
			return 0, store.ErrNotFound
		case version != 0 && m.srcVersion != version:
			return 0, store.ErrConflict
		case m.dstLive:
			return 0, store.ErrDuplicateID
		case m.moved != 0:
			return m.moved, nil
		case m.here:
			// The INSERT met a row that came to new after the lock, live
			// at this clock, and left it alone: the target is taken now.
			return 0, store.ErrDuplicateID
		}
		if attempt < maxReruns && ctx.Err() == nil {
			continue
		}
		return 0, fmt.Errorf("pgstore: %s: the sessions kept changing under the statement (%d attempts)", op, attempt)
	}
}

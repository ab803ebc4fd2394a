package memstore

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The conditional writes of store.Versioner. Each compares the version and
// writes under the locks its unconditional counterpart takes (UpdateIf one
// shard, as Update; ChangeIDIf the two shards of its IDs in ascending order,
// as ChangeID), so the check and the write are one step: no write can land
// between them, and the version read is the one replaced.

// UpdateIf replaces the state of the live session under id if it is at
// version, sets its expiry to now+ttl (or keeps it, for store.KeepTTL),
// keeps its owner, and returns the new version, one more. It fails with
// store.ErrNotFound if no live session has id and with store.ErrConflict if
// it is at another version; either way nothing changes. Its arguments are
// validated as store.Limits.CheckUpdateIf says (a version of 0 is
// store.ErrInvalidVersion). It costs what Update costs: one shard lock and
// a map access, and a heap repair only if the expiry moves.
func (s *Store) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.limits.CheckUpdateIf(id, version, state, ttl); err != nil {
		return 0, err
	}
	return s.replace(id, version, state, ttl)
}

// ChangeIDIf moves the live session under oldID to newID with state, if it
// is at version, in one atomic step: the session keeps its expiry and owner,
// nothing is left under oldID, an expired record under newID is replaced,
// and the new version, one more, is returned. Its errors, in this order, are
// store.ErrNotFound (oldID is not live), store.ErrConflict (oldID is at
// another version) and store.ErrDuplicateID (newID is live, also when oldID
// == newID); each leaves the store as it was. Arguments are validated as
// store.Limits.CheckChangeIDIf says.
func (s *Store) ChangeIDIf(ctx context.Context, oldID, newID store.ID, version uint64, state []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.limits.CheckChangeIDIf(oldID, newID, version, state); err != nil {
		return 0, err
	}
	// Copied before locking, as in ChangeID and Update.
	to := store.ID(strings.Clone(string(newID)))
	state = bytes.Clone(state)
	i, j := s.shardIndex(oldID), s.shardIndex(newID)
	s.lockPair(i, j)
	defer s.unlockPair(i, j)
	src, dst := &s.shards[i].shard, &s.shards[j].shard
	now := s.now()
	e, ok := src.byID[oldID]
	if !ok || !e.liveAt(now) {
		return 0, store.ErrNotFound
	}
	if e.version != version {
		return 0, store.ErrConflict
	}
	// With oldID == newID, t is e itself, live: ErrDuplicateID, as the
	// contract wants, and nothing is removed.
	if t, ok := dst.byID[newID]; ok {
		if t.liveAt(now) {
			return 0, store.ErrDuplicateID
		}
		dst.remove(t)
	}
	src.remove(e)
	e.id, e.state = to, state
	e.version++
	dst.insert(e)
	return e.version, nil
}

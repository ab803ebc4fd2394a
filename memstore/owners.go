package memstore

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// An owner's sessions fall into any shard, so every operation that reads or
// removes an owner's sessions as a set (List, Revoke, RevokeAll, and a
// CreateOwned or Cycle that applies a cap) locks every shard, in ascending
// order as lockPair does, for one consistent view. Each shard's owner index
// then leads it straight to that owner's entries: the cost is the number of
// shards plus the owner's sessions, whatever the store holds. Without a cap
// a CreateOwned or Cycle touches only its IDs' shards and locks only those.

// CreateOwned stores a new session under id, at version 1, that belongs to
// owner. If owner already has cap live sessions or more, its oldest live
// sessions (earliest expiry, ties by ID) are removed in the same atomic
// step, leaving it cap with the new one. cap 0 means the store's
// Limits.MaxPerOwner (0 there: no cap). Errors are Create's, and
// store.ErrInvalidOwner or store.ErrInvalidCap for a bad owner or cap.
func (s *Store) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cap, err := s.limits.CheckOwned(id, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	// Copied before locking, as in Create; the owner too, since it is often
	// a slice of a larger string the store would otherwise keep alive.
	e := &entry{
		id:    store.ID(strings.Clone(string(id))),
		owner: store.Owner(strings.Clone(string(owner))),
		state: bytes.Clone(state),
	}
	seed := store.VersionSeedOf(ctx, id, owner, state)
	i := s.shardIndex(id)
	s.lockFor(cap, i, i)
	defer s.unlockFor(cap, i, i)
	sh := &s.shards[i].shard
	now := s.now()
	if old, ok := sh.byID[id]; ok {
		if old.liveAt(now) {
			return store.ErrDuplicateID
		}
		sh.remove(old)
	}
	s.evict(now, owner, cap)
	e.expires = store.Expiry(now, ttl)
	e.version = seed.At(e.expires)
	sh.insert(e)
	return nil
}

// Cycle moves the live session under old to new and, in the same atomic
// step, replaces its state, expiry (now+ttl) and owner: the login step
// against session fixation. The session's version counts on from old's by
// one. Its errors are ChangeID's, and an expired record under new is
// replaced. owner may be the zero Owner (the session then has none);
// otherwise the owner's cap applies as in CreateOwned, counting the owner's
// live sessions other than the one being cycled.
func (s *Store) Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cap, err := s.limits.CheckCycle(old, new, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	// The session's new entry, made before locking as in CreateOwned. Its
	// expiry is set under the lock.
	moved := &entry{
		id:    store.ID(strings.Clone(string(new))),
		owner: store.Owner(strings.Clone(string(owner))),
		state: bytes.Clone(state),
	}
	i, j := s.shardIndex(old), s.shardIndex(new)
	s.lockFor(cap, i, j)
	defer s.unlockFor(cap, i, j)
	src, dst := &s.shards[i].shard, &s.shards[j].shard
	now := s.now()
	e, ok := src.byID[old]
	if !ok || !e.liveAt(now) {
		return store.ErrNotFound
	}
	if t, ok := dst.byID[new]; ok {
		if t.liveAt(now) {
			return store.ErrDuplicateID
		}
		dst.remove(t)
	}
	// Out of the index before the eviction, so that the session being
	// cycled does not count against its own owner's cap.
	src.remove(e)
	s.evict(now, owner, cap)
	moved.expires = store.Expiry(now, ttl)
	moved.version = e.version + 1 // a new entry, but the same session's next write
	dst.insert(moved)
	return nil
}

// lockFor takes the locks an owned write needs: with a cap, every shard,
// since the owner's oldest sessions may lie in any; without one, only the
// shards of the IDs it writes.
func (s *Store) lockFor(cap, i, j int) {
	if cap > 0 {
		s.lockAll()
		return
	}
	s.lockPair(i, j)
}

func (s *Store) unlockFor(cap, i, j int) {
	if cap > 0 {
		s.unlockAll()
		return
	}
	s.unlockPair(i, j)
}

// evict removes owner's oldest live sessions until it has fewer than cap (0:
// no cap), making room for one more. The caller holds every shard's lock
// when cap > 0.
func (s *Store) evict(now time.Time, owner store.Owner, cap int) {
	if cap <= 0 {
		return
	}
	live := s.liveOwned(now, owner)
	if len(live) < cap {
		return
	}
	slices.SortFunc(live, oldestFirst)
	for _, e := range live[:len(live)-(cap-1)] {
		s.shard(e.id).remove(e)
	}
}

// liveOwned collects owner's sessions live at now from every shard's owner
// index. The caller holds every shard's lock.
func (s *Store) liveOwned(now time.Time, owner store.Owner) []*entry {
	var out []*entry
	for i := range s.shards {
		for _, e := range s.shards[i].byOwner[owner] {
			if e.liveAt(now) {
				out = append(out, e)
			}
		}
	}
	return out
}

// oldestFirst is reclaim order: earliest expiry first, ties by ID in byte
// order, the order in which a cap evicts and List lists.
func oldestFirst(a, b *entry) int {
	if c := a.expires.Compare(b.expires); c != 0 {
		return c
	}
	return strings.Compare(string(a.id), string(b.id))
}

// List returns owner's live sessions, oldest first (earliest expiry, ties by
// ID), as handles and expiries; nil if it has none.
func (s *Store) List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := owner.Validate(); err != nil {
		return nil, err
	}
	type owned struct {
		id      store.ID
		expires time.Time
	}
	// Room for a typical owner's sessions without an allocation.
	var buf [16]owned
	live := buf[:0]
	s.lockAll()
	now := s.now()
	for i := range s.shards {
		for _, e := range s.shards[i].byOwner[owner] {
			if e.liveAt(now) {
				live = append(live, owned{e.id, e.expires})
			}
		}
	}
	s.unlockAll()
	// The snapshot is taken; sorting and hashing it need no lock, so the
	// store is held up only for the copy.
	if len(live) == 0 {
		return nil, nil
	}
	slices.SortFunc(live, func(a, b owned) int {
		if c := a.expires.Compare(b.expires); c != 0 {
			return c
		}
		return strings.Compare(string(a.id), string(b.id))
	})
	out := make([]store.OwnedSession, len(live))
	for k, o := range live {
		out[k] = store.OwnedSession{Handle: store.HandleOf(o.id), Expires: o.expires}
	}
	return out, nil
}

// Revoke removes owner's session with handle h. It returns store.ErrNotFound
// if no live session of owner has that handle, removing an expired one all
// the same, as Delete does. Sessions of other owners are never touched.
func (s *Store) Revoke(ctx context.Context, owner store.Owner, h store.Handle) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := owner.Validate(); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	s.lockAll()
	defer s.unlockAll()
	now := s.now()
	found := false
	for i := range s.shards {
		sh := &s.shards[i].shard
		owned := sh.byOwner[owner]
		// Downwards: remove moves the list's last entry into the freed
		// slot, and every entry above k has been looked at already.
		for k := len(owned) - 1; k >= 0; k-- {
			if e := owned[k]; store.HandleOf(e.id) == h {
				sh.remove(e)
				found = found || e.liveAt(now)
			}
		}
	}
	if !found {
		return store.ErrNotFound
	}
	return nil
}

// RevokeAll removes every session of owner, live or expired, except those
// under the IDs in except, and returns how many live ones it removed. IDs in
// except that are not owner's sessions are ignored.
func (s *Store) RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := store.CheckExcept(owner, except); err != nil {
		return 0, err
	}
	s.lockAll()
	defer s.unlockAll()
	now := s.now()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i].shard
		owned := sh.byOwner[owner]
		for k := len(owned) - 1; k >= 0; k-- { // downwards: see Revoke
			e := owned[k]
			if slices.Contains(except, e.id) {
				continue
			}
			sh.remove(e)
			if e.liveAt(now) {
				n++
			}
		}
	}
	return n, nil
}

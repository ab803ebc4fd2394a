package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The methods of store.Owners. Each validates its arguments, reads the
// clock once, and runs its statements with that reading; sql_owners.go
// says why the statements are shaped as they are.

// CreateOwned stores a new session that belongs to owner, at its first
// version, replacing an expired record under id, or fails with
// store.ErrDuplicateID if a live session has id. With a cap (cap, or else Limits.MaxPerOwner), the
// owner's oldest live sessions are removed in the same transaction so that
// with the new one it has at most the cap; no owner ever has more, however
// many logins run at once.
func (s *Store) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	cap, err := s.limits.CheckOwned(id, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	seed := store.VersionSeedOf(ctx, id, owner, state) // as Create
	now := s.instant()
	expires := store.Expiry(now, ttl)
	var lock, pre, main args
	s.lockArgs(&lock, owner)
	main.text(string(id)).bytes(nonNil(state)).instant(expires).text(string(owner)).instant(now).int8(versionParam(seed.At(expires)))
	if cap == 0 {
		// The lock only orders this login with the capped ones and
		// RevokeAll of the same owner, whose reading of the owner's
		// sessions it would otherwise change under them.
		tag, err := s.writeBatch(ctx, "create owned", []step{
			{&s.sql.ownerLock, lock.list()}, {&s.sql.createOwned, main.list()},
		}, nil)
		switch {
		case err != nil:
			return err
		case tag.RowsAffected() == 0:
			return store.ErrDuplicateID
		}
		return nil
	}
	main.int8(int64(cap))
	// Most logins find room under the cap: they need no row locks.
	var room bool
	var stored int64
	_, err = s.writeBatch(ctx, "create owned", []step{
		{&s.sql.ownerLock, lock.list()}, {&s.sql.createRoomy, main.list()},
	}, func(v [][]byte) (err error) {
		if room, err = decodeBool(v[0]); err != nil {
			return err
		}
		stored, err = decodeMicros(v[1])
		return err
	})
	switch {
	case err != nil:
		return err
	case room && stored == 0:
		return store.ErrDuplicateID
	case room:
		return nil
	}
	pre.text(string(owner)).text(string(id)).null()
	for attempt := 1; ; attempt++ {
		var stable bool
		var put int64
		_, err := s.writeBatch(ctx, "create owned", []step{
			{&s.sql.ownerLock, lock.list()}, {&s.sql.prelock, pre.list()}, {&s.sql.createCapped, main.list()},
		}, func(v [][]byte) (err error) {
			if stable, err = decodeBool(v[0]); err != nil {
				return err
			}
			put, err = decodeMicros(v[1])
			return err
		})
		switch {
		case err != nil:
			return err
		case stable && put == 0:
			return store.ErrDuplicateID
		case stable:
			return nil
		case attempt < maxReruns && ctx.Err() == nil:
			// The statement changed nothing: one of the owner's sessions
			// moved to a row the prelock had not locked. Again, with a
			// snapshot that has it.
			continue
		}
		return fmt.Errorf("pgstore: create owned: the owner's sessions kept changing under the statement (%d attempts)", attempt)
	}
}

// Cycle moves the live session at old to new, giving it state, an expiry
// of now+ttl and owner (none if owner is empty) at old's version + 1, in
// one transaction, with ChangeID's errors; with an owner and a cap, the
// owner's oldest other live sessions are removed as in CreateOwned.
func (s *Store) Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	cap, err := s.limits.CheckCycle(old, new, owner, state, ttl, cap)
	if err != nil {
		return err
	}
	if old == new {
		_, err := s.changeToSelf(ctx, "cycle", old)
		return err
	}
	now := s.instant()
	var lock, pre, main args
	main.text(string(old)).text(string(new)).bytes(nonNil(state)).instant(store.Expiry(now, ttl))
	var steps []step
	switch {
	case owner == "":
		// No owner's sessions grow: ChangeID's single statement, alone.
		main.null().instant(now)
	case cap == 0:
		s.lockArgs(&lock, owner)
		main.text(string(owner)).instant(now)
		steps = []step{{&s.sql.ownerLock, lock.list()}, {&s.sql.cycle, main.list()}}
	default:
		s.lockArgs(&lock, owner)
		pre.text(string(owner)).text(string(old)).text(string(new))
		main.text(string(owner)).instant(now).int8(int64(cap))
		steps = []step{{&s.sql.ownerLock, lock.list()}, {&s.sql.prelock, pre.list()}, {&s.sql.cycleCapped, main.list()}}
	}
	capped := owner != "" && cap > 0
	_, err = s.move(ctx, "cycle", 0, func() (move, error) {
		var m move
		row := m.read
		if capped {
			row = m.readStable
		}
		var err error
		if steps == nil {
			_, err = s.writeAt(ctx, "cycle", &s.sql.cycle, now, func(a *args, _ time.Time) { *a = main }, row)
		} else {
			_, err = s.writeBatch(ctx, "cycle", steps, row)
		}
		return m, err
	})
	return err
}

// lockArgs encodes the advisory lock's parameters for owner.
func (s *Store) lockArgs(a *args, owner store.Owner) {
	a.text(s.sql.table).text(string(owner))
}

// List returns owner's live sessions, oldest first (earliest expiry, ties
// by ID), as handles and expiries: the IDs, which are credentials, are
// hashed before they leave this package.
func (s *Store) List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	if err := owner.Validate(); err != nil {
		return nil, err
	}
	var a args
	a.text(string(owner)).instant(s.instant())
	var out []store.OwnedSession
	_, err := s.read(ctx, "list", &s.sql.list, &a, func(v [][]byte) error {
		expires, err := decodeInstant(v[1])
		if err != nil {
			return err
		}
		out = append(out, store.OwnedSession{Handle: store.HandleOf(store.ID(v[0])), Expires: expires})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Revoke removes owner's session with handle h, live or expired, and
// reports store.ErrNotFound unless it was live. Another owner's session is
// never touched, whatever its handle.
func (s *Store) Revoke(ctx context.Context, owner store.Owner, h store.Handle) error {
	if err := owner.Validate(); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	var now int64
	live := false
	_, err := s.write(ctx, "revoke", &s.sql.revoke, func(a *args, t time.Time) {
		now = micros(t)
		a.text(string(owner)).text(string(h))
	}, func(v [][]byte) error {
		// Compared on the wire's scale, as Delete does.
		expires, err := decodeMicros(v[0])
		live = live || err == nil && expires > now
		return err
	})
	switch {
	case err != nil:
		return err
	case !live:
		return store.ErrNotFound
	}
	return nil
}

// RevokeAll removes every session of owner, live or expired, except those
// under the IDs in except, and returns how many live ones it removed.
func (s *Store) RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error) {
	if err := store.CheckExcept(owner, except); err != nil {
		return 0, err
	}
	now := s.instant()
	var lock, pre, main args
	s.lockArgs(&lock, owner)
	pre.text(string(owner)).null().null()
	main.text(string(owner)).textArray(except).instant(now)
	for attempt := 1; ; attempt++ {
		var stable bool
		var n int64
		_, err := s.writeBatch(ctx, "revoke all", []step{
			{&s.sql.ownerLock, lock.list()}, {&s.sql.prelock, pre.list()}, {&s.sql.revokeAll, main.list()},
		}, func(v [][]byte) (err error) {
			if stable, err = decodeBool(v[0]); err != nil {
				return err
			}
			n, err = decodeMicros(v[1])
			return err
		})
		switch {
		case err != nil:
			return 0, err
		case stable:
			return int(n), nil
		case attempt < maxReruns && ctx.Err() == nil:
			continue // changed nothing, as in CreateOwned
		}
		return 0, fmt.Errorf("pgstore: revoke all: the owner's sessions kept changing under the statement (%d attempts)", attempt)
	}
}

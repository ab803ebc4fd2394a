package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// The methods of store.Versioner. Every write to a live row adds one to its
// version column in the same statement, so a version read names one state
// of the session; the conditional writes below apply only at the version
// the caller read, in one statement each. UpdateIf tells "gone" from
// "changed" with a read after a write that matched nothing; ChangeIDIf in
// its one statement.

// UpdateIf replaces the state of the live session under id and sets its
// expiry to now+ttl (or keeps it, with store.KeepTTL), only if the session
// is at version, and returns the new version. It fails with
// store.ErrNotFound if no live session has id and store.ErrConflict if it
// is at another version; either way nothing changed.
func (s *Store) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	if err := s.limits.CheckUpdateIf(id, version, state, ttl); err != nil {
		return 0, err
	}
	now := s.instant()
	for attempt := 1; ; attempt++ {
		updated := false
		var at uint64
		_, err := s.writeAt(ctx, "update if", &s.sql.updateIf, now, func(a *args, now time.Time) {
			a.text(string(id)).bytes(nonNil(state))
			if ttl == store.KeepTTL {
				a.null() // coalesce keeps the expiry
			} else {
				a.instant(store.Expiry(now, ttl))
			}
			a.int8(versionParam(version)).instant(now)
		}, func(v [][]byte) (err error) {
			updated = true
			at, err = decodeVersion(v[0])
			return err
		})
		switch {
		case err != nil:
			return 0, err
		case updated:
			return at, nil
		}
		// Nothing matched, so nothing was written: whatever the read
		// below answers or however it fails, the operation had no
		// effect, and its answer holds at the read's snapshot.
		live, cur, err := s.liveVersionAt(ctx, "update if", id, now)
		switch {
		case err != nil:
			return 0, err
		case !live:
			return 0, store.ErrNotFound
		case cur != version:
			return 0, store.ErrConflict
		case attempt < maxReruns && ctx.Err() == nil:
			// The session is at version now, but was not when the
			// UPDATE looked (a row committed after its snapshot, or
			// written back to this version since): run it again.
			continue
		}
		return 0, fmt.Errorf("pgstore: update if: the session kept changing under the statement (%d attempts)", attempt)
	}
}

// liveVersionAt reads the version of the session live at now under id, if
// there is one. A failure is definite: it is a read.
func (s *Store) liveVersionAt(ctx context.Context, op string, id store.ID, now time.Time) (bool, uint64, error) {
	var a args
	a.text(string(id)).instant(now)
	var version uint64
	tag, err := s.read(ctx, op, &s.sql.liveVersion, &a, func(v [][]byte) (err error) {
		version, err = decodeVersion(v[0])
		return err
	})
	if err != nil {
		return false, 0, err
	}
	return tag.RowsAffected() == 1, version, nil
}

// ChangeIDIf moves the live session at old to new with state, keeping its
// expiry and owner, only if it is at version, in one atomic step, and
// returns the new version. Its errors, in this order: store.ErrNotFound
// (old is not live), store.ErrConflict (old is at another version),
// store.ErrDuplicateID (new is live, also when old == new). An expired
// record at new is replaced, as by ChangeID.
func (s *Store) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	if err := s.limits.CheckChangeIDIf(old, new, version, state); err != nil {
		return 0, err
	}
	if old == new {
		at, err := s.changeToSelf(ctx, "change id if", old)
		if errors.Is(err, store.ErrDuplicateID) && at != version {
			return 0, store.ErrConflict
		}
		return 0, err
	}
	now := s.instant()
	return s.move(ctx, "change id if", version, func() (move, error) {
		var m move
		_, err := s.writeAt(ctx, "change id if", &s.sql.changeIDIf, now, func(a *args, now time.Time) {
			a.text(string(old)).text(string(new)).instant(now).int8(versionParam(version)).bytes(nonNil(state))
		}, m.read)
		return m, err
	})
}

package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Touch loads the live session under id and, in the same statement,
// extends its expiry to now+ttl (a write: version + 1) if that moves it
// forward by resolution or more. Otherwise the statement writes nothing at
// all, so it costs what a Load does: no new row version, no WAL, no
// durable commit, and the version stays. It returns the
// record as it is afterwards, or store.ErrNotFound; it never shortens a
// session nor revives an expired one.
func (s *Store) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	if err := s.limits.CheckTouch(id, ttl, resolution); err != nil {
		return store.Record{}, err
	}
	now := s.instant()
	next := store.Expiry(now, ttl)
	// A live record expires after now, so it moves by less than
	// next-now. When that is not more than the resolution, none can be
	// extended, and a read is the whole answer.
	if span := next.Sub(now); resolution >= span {
		return s.touchRead(ctx, id, now)
	}
	// Expiries are whole microseconds, so "later by resolution or more"
	// is "later by the resolution rounded up to a microsecond, and by one
	// at least": a record is extended exactly when it expires at bound or
	// earlier. (resolution < span <= MaxTTL: no overflow.)
	move := resolution.Truncate(store.Resolution)
	if move < resolution {
		move += store.Resolution
	}
	bound := next.Add(-max(move, store.Resolution))
	if !bound.After(now) {
		return s.touchRead(ctx, id, now)
	}
	for attempt := 1; ; attempt++ {
		var rec store.Record
		found, final := false, false
		_, err := s.writeAt(ctx, "touch", &s.sql.touch, now, func(a *args, now time.Time) {
			a.text(string(id)).instant(next).instant(now).instant(bound)
		}, func(v [][]byte) (err error) {
			found = true
			if err := decodeRecord(&rec, v); err != nil {
				return err
			}
			final, err = decodeBool(v[4])
			return err
		})
		switch {
		case err != nil:
			return store.Record{}, err
		case !found:
			return store.Record{}, store.ErrNotFound
		case final:
			return rec, nil
		case attempt < maxReruns && ctx.Err() == nil:
			// The row changed after the statement's snapshot and the
			// UPDATE, rechecking it, left it alone: what the snapshot
			// holds is no longer the record. Again, with a fresh one.
			continue
		}
		return store.Record{}, fmt.Errorf("pgstore: touch: the session kept changing under the statement (%d attempts)", attempt)
	}
}

// touchRead is Touch when nothing can be extended: Load's statement.
func (s *Store) touchRead(ctx context.Context, id store.ID, now time.Time) (store.Record, error) {
	var a args
	a.text(string(id)).instant(now)
	return s.load(ctx, "touch", &a)
}

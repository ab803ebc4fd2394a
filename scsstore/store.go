package scsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// DefaultResolution is how far an idle-timeout extension may lag behind
// scs's expiry before the adapter writes it: a session that is only read
// costs one write a minute, not one a request, and may end up to a minute
// before scs's idle timeout says.
const DefaultResolution = time.Minute

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Clock is the application's clock, the one scs computes expiries
	// with (scs reads the system clock, so leave it nil outside tests of
	// the adapter itself). It turns scs's absolute expiry into a TTL (the
	// backend's own clock then decides when the session ends) and judges
	// scs's deadlines in LoadAndSave.
	Clock clock.Clock
	// Resolution: under LoadAndSave with scs's IdleTimeout, a request
	// that would move the expiry by less than this does not write it (see
	// store.Toucher), so a session may end up to this much earlier than
	// scs's idle timeout says. 0 means DefaultResolution; negative is
	// invalid. Use a nanosecond to write whenever the expiry moves.
	Resolution time.Duration
	// Cap limits each user's sessions at Login (see store.Owners): 0 means
	// the backend's Limits.MaxPerOwner.
	Cap int
}

// Store is an scs session store over a store.Store. It is safe for
// concurrent use. Build it with New.
type Store struct {
	s          store.Store
	owners     store.Owners    // nil unless s implements it
	toucher    store.Toucher   // nil unless s implements it
	versioner  store.Versioner // nil unless s implements it
	clock      clock.Clock
	resolution time.Duration
	cap        int
}

var (
	_ scs.Store            = (*Store)(nil)
	_ scs.CtxStore         = (*Store)(nil)
	_ scs.IterableStore    = (*Store)(nil)
	_ scs.IterableCtxStore = (*Store)(nil)
)

// New returns an scs store over s.
func New(s store.Store, opts Options) (*Store, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidOptions)
	}
	if opts.Resolution < 0 {
		return nil, fmt.Errorf("%w: Resolution %v is negative", ErrInvalidOptions, opts.Resolution)
	}
	if opts.Cap < 0 {
		return nil, fmt.Errorf("%w: Cap %d is negative (0 means the backend's)", ErrInvalidOptions, opts.Cap)
	}
	st := &Store{s: s, clock: opts.Clock, resolution: opts.Resolution, cap: opts.Cap}
	if st.clock == nil {
		st.clock = clock.Real()
	}
	if st.resolution == 0 {
		st.resolution = DefaultResolution
	}
	st.owners, _ = s.(store.Owners)
	st.toucher, _ = s.(store.Toucher)
	st.versioner, _ = s.(store.Versioner)
	return st, nil
}

// Backend returns the store the adapter writes to, for what scs has no
// word for: Owners' List and Revoke, a sweeper, a readiness probe.
func (st *Store) Backend() store.Store { return st.s }

// FindCtx returns the state of the live session under token. A token that
// is not a valid store.ID (a tampered cookie) and a session that is absent
// or expired are found=false with a nil error, the first without a round
// trip; any other failure, ambiguous ones included, is an error.
//
// Under LoadAndSave with scs's IdleTimeout, the read is a Touch that
// slides the expiry to the idle timeout in the same statement, writing
// only when that moves it by the resolution or more, so that a request
// that changes nothing needs no statement at its commit. The adapter does
// not know scs's absolute deadline before scs has decoded the session, so
// in the last idle timeout of a session's lifetime the stored expiry may
// pass that deadline by up to the idle timeout; LoadAndSave destroys a
// session presented after its deadline before the handler sees it, so no
// request is served past it (the owner's list, Devices, may show it until
// the store's expiry).
func (st *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	id, err := store.ParseID(token)
	if err != nil {
		return nil, false, nil
	}
	m := memoFrom(ctx)
	var rec store.Record
	if m != nil && m.idle > 0 && st.toucher != nil {
		rec, err = st.toucher.Touch(ctx, id, m.idle, st.resolution)
	} else {
		rec, err = st.s.Load(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		m.saw(token, nil)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	m.saw(token, &rec)
	return rec.State, true, nil
}

// CommitCtx saves a session's state with scs's absolute expiry. An expiry
// that is not after the application clock's now deletes the session.
//
// Under LoadAndSave it is one statement at most: a token the request
// found is written only as far as the request changed it (values, expiry,
// or nothing at all; see commitFound) and never created again, so a
// session deleted while the request ran (a logout, a revocation, its
// expiry) stays deleted; a token the request did not find is new, and is
// created. Without the wrapper the adapter cannot tell the two apart, and
// does what scs's own stores do in effect: it updates, and creates the
// session if there is none, so a request that was running when its
// session was deleted brings it back at its end.
func (st *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	id, err := store.ParseID(token)
	if err != nil {
		return err
	}
	ttl := expiry.Sub(st.clock.Now())
	if ttl <= 0 {
		return st.deleteID(ctx, id)
	}
	m := memoFrom(ctx)
	if m == nil {
		err := st.s.Update(ctx, id, b, ttl)
		if errors.Is(err, store.ErrNotFound) {
			err = st.s.Create(ctx, id, b, ttl)
		}
		return err
	}
	seen, found := m.found(token)
	switch {
	case found != nil:
		return st.commitFound(ctx, m, id, found, b, expiry, ttl)
	case m.renewing():
		return st.commitRenewal(ctx, m, id, b, ttl)
	case seen:
		// scs never commits under a token it did not find, but a caller
		// of the store may: a session that was gone is not brought back.
		return nil
	default:
		return st.s.Create(ctx, id, b, ttl)
	}
}

// commitFound writes a session the request found, in at most one
// statement (two when a conditional write loses a race), and never brings
// it back if it is gone. It writes values
// only if they changed (a read never puts back what it read over a newer
// write), and the expiry only if scs's differs from what the store
// already holds:
//   - values unchanged, expiry in place: nothing;
//   - values unchanged, expiry moved: Touch (UpdateTTL without Toucher);
//   - values changed, expiry in place: UpdateIf at the version read with
//     the expiry kept, which on PostgreSQL leaves the indexed expiry
//     column alone and lets the row be updated in place (a TTL recomputed
//     at every commit would move it by the microseconds between two clock
//     readings); if the session changed since the read, Update, so the
//     last commit wins as in scs;
//   - values changed, expiry moved: Update.
func (st *Store) commitFound(ctx context.Context, m *memo, id store.ID, found *store.Record, b []byte, expiry time.Time, ttl time.Duration) error {
	inPlace := st.expiryInPlace(m, string(id), expiry)
	var err error
	switch same := m.same(found.State, b); {
	case same && inPlace:
	case same && st.toucher != nil:
		_, err = st.toucher.Touch(ctx, id, ttl, st.resolution)
	case same:
		err = st.s.UpdateTTL(ctx, id, ttl)
	case inPlace && st.versioner != nil && found.Version != 0:
		_, err = st.versioner.UpdateIf(ctx, id, found.Version, b, store.KeepTTL)
		if errors.Is(err, store.ErrConflict) {
			err = st.s.Update(ctx, id, b, ttl)
		}
	default:
		err = st.s.Update(ctx, id, b, ttl)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// expiryInPlace reports whether the store already holds the expiry scs
// commits for the request's own session, as far as the application's
// clock can tell: scs's deadline as it was loaded (scs's expiry without
// an idle timeout, which the commit that set it stored), or, under an
// idle timeout, now+timeout within the resolution, which FindCtx's Touch
// slid the expiry to.
func (st *Store) expiryInPlace(m *memo, token string, expiry time.Time) bool {
	loaded, own := m.loadedDeadline(token)
	if !own {
		return false
	}
	if expiry.Equal(loaded) {
		return true
	}
	return m.idle > 0 && st.toucher != nil && !expiry.Before(st.clock.Now().Add(m.idle-st.resolution))
}

// DeleteCtx removes the session under token. A token that is not a valid
// ID, and one with no live session, are a no-op, as scs asks.
func (st *Store) DeleteCtx(ctx context.Context, token string) error {
	id, err := store.ParseID(token)
	if err != nil {
		return nil
	}
	if m := memoFrom(ctx); m != nil {
		hold, also := m.deleting(token)
		if hold {
			return nil
		}
		if also != "" {
			if err := st.deleteID(ctx, also); err != nil {
				return err
			}
		}
	}
	return st.deleteID(ctx, id)
}

func (st *Store) deleteID(ctx context.Context, id store.ID) error {
	if err := st.s.Delete(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// Find is FindCtx with context.Background().
func (st *Store) Find(token string) ([]byte, bool, error) {
	return st.FindCtx(context.Background(), token)
}

// Commit is CommitCtx with context.Background().
func (st *Store) Commit(token string, b []byte, expiry time.Time) error {
	return st.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx with context.Background().
func (st *Store) Delete(token string) error {
	return st.DeleteCtx(context.Background(), token)
}

package scsstore

import (
	"context"
	"errors"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/hourglass-go/hourglass/store"
)

// RenewToken is scs's RenewToken made atomic: call it in place of
// sm.RenewToken(ctx) in a request wrapped by LoadAndSave. scs deletes the
// old token at once and writes the new one when the request ends, so
// between the two the session exists under neither (a concurrent request
// finds nothing and starts an empty session), and a request that fails
// before its commit loses it. Here the delete is held back and the commit
// moves the session to its new token with its new state in one step
// (store.Owners' Cycle, keeping its owner; on a backend without owners,
// ChangeID then Update); until then the old token works. If the session
// was deleted meanwhile, it stays deleted.
func (st *Store) RenewToken(ctx context.Context, sm *scs.SessionManager) error {
	return st.renew(ctx, sm, "", false)
}

// Login renews the token as RenewToken does and, in the same atomic step
// at the end of the request, makes the session owner's (store.Owners):
// the login that defeats session fixation, with the owner's cap (Options.Cap)
// applied in that step. A request without a session yet, or whose session
// was deleted meanwhile, creates the owner's session instead.
func (st *Store) Login(ctx context.Context, sm *scs.SessionManager, owner store.Owner) error {
	if err := owner.Validate(); err != nil {
		return err
	}
	if st.owners == nil {
		return ErrNoOwners
	}
	return st.renew(ctx, sm, owner, true)
}

func (st *Store) renew(ctx context.Context, sm *scs.SessionManager, owner store.Owner, setOwner bool) error {
	m := memoFrom(ctx)
	if m == nil {
		return ErrNotWrapped
	}
	m.startRenewal(sm.Token(ctx), owner, setOwner)
	err := sm.RenewToken(ctx)
	m.endRenewal(err == nil)
	return err
}

// commitRenewal writes the session under its new token at the end of a
// request that renewed it.
func (st *Store) commitRenewal(ctx context.Context, m *memo, to store.ID, b []byte, ttl time.Duration) error {
	r, rec := m.takeRenewal()
	owner := r.owner
	if !r.setOwner && rec != nil {
		owner = rec.Owner
	}
	if r.held {
		from := store.ID(r.from)
		var err error
		if st.owners != nil {
			err = st.owners.Cycle(ctx, from, to, owner, b, ttl, st.cap)
		} else if err = st.s.ChangeID(ctx, from, to); err == nil {
			if err = st.s.Update(ctx, to, b, ttl); errors.Is(err, store.ErrNotFound) {
				err = nil // deleted since the move: it stays deleted
			}
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !r.setOwner {
			return nil // the session was deleted meanwhile: it stays deleted
		}
	}
	if owner != "" {
		return st.owners.CreateOwned(ctx, to, owner, b, ttl, st.cap)
	}
	return st.s.Create(ctx, to, b, ttl)
}

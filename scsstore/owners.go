package scsstore

import (
	"context"

	"github.com/alexedwards/scs/v2"
	"github.com/hourglass-go/hourglass/store"
)

// Devices lists owner's live sessions, oldest first, as handles and
// expiries ("your devices"); see store.Owners.List.
func (st *Store) Devices(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	if st.owners == nil {
		return nil, ErrNoOwners
	}
	return st.owners.List(ctx, owner)
}

// Current returns the handle of the request's session, to mark "this
// device" in Devices' list. A request whose session is not stored yet (a
// new one, or one renewed in this request) has a handle no list holds yet.
func (st *Store) Current(ctx context.Context, sm *scs.SessionManager) store.Handle {
	return store.HandleFor(st.s, store.ID(sm.Token(ctx)))
}

// Revoke signs one of owner's devices out; see store.Owners.Revoke.
func (st *Store) Revoke(ctx context.Context, owner store.Owner, h store.Handle) error {
	if st.owners == nil {
		return ErrNoOwners
	}
	return st.owners.Revoke(ctx, owner, h)
}

// RevokeOthers signs owner out everywhere but the request's session, in
// one atomic step, and returns how many sessions it ended; see
// store.Owners.RevokeAll.
func (st *Store) RevokeOthers(ctx context.Context, sm *scs.SessionManager, owner store.Owner) (int, error) {
	if st.owners == nil {
		return 0, ErrNoOwners
	}
	var except []store.ID
	if id, err := store.ParseID(sm.Token(ctx)); err == nil {
		except = append(except, id)
	}
	return st.owners.RevokeAll(ctx, owner, except...)
}

// Package scsstore lets github.com/alexedwards/scs/v2 keep its sessions in
// any Hourglass store (pgstore, memstore, redisstore, a stack of layers):
// *Store is an scs.CtxStore, and an scs.IterableCtxStore where the backend
// can list its sessions.
//
// scs's store interface is an upsert with an absolute expiry, which cannot
// say whether a token is new: mapped naively onto a store, a request that
// was already running when its session was logged out writes the session
// back at its end, and a read under an idle timeout writes back the state
// it read over a newer one. Wrapping scs's middleware in Store.LoadAndSave
// closes both holes and makes each store call one statement, by
// remembering, for the length of the request, what the request read: a
// token that was found is only ever updated, never created again; a new
// token is only ever created; values are written only if they changed,
// and the expiry only if it moved. Under an idle timeout the read slides
// the expiry itself (store.Toucher), so a request that changes nothing
// costs one statement, usually with no write. The same memory makes token
// renewal atomic (Store.RenewToken, Store.Login: one Cycle when the
// request commits instead of scs's delete now and insert later). Without
// the wrapper the adapter is a plain scs store, with scs's window
// (CommitCtx).
//
// Expiry is the store's: scs's absolute expiry becomes a TTL at the
// application's clock (Options.Clock, the system clock by default, which
// is what scs reads), and the store ends the session at its own clock's
// now+TTL. An expiry already past at commit deletes the session, and
// LoadAndSave never hands a handler a session past scs's absolute
// deadline.
package scsstore

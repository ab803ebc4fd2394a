// Package redisstore is a session store on Redis Cluster (or one plain
// Redis node), held to the same contract, model and simulator as
// pgstore.
//
// Every single-key operation is one Lua script that takes the caller's
// instant, read once from the injected clock, as an argument: a session
// is live while now < expires, in microseconds, exactly as the contract
// says, and the server's clock never decides it. A session is a hash
// under PREFIX:{ID}: the ID is the hash tag, so sessions spread over
// every slot. Redis's own key expiry is only garbage collection: each
// write sets the key's TTL to the time left plus Options.Margin, so that
// Redis drops a key only when every clock that could still call it live
// has passed its expiry (see Options.Margin for what that assumes).
//
// # Moving a session between slots
//
// ChangeID's two keys usually live in different slots, often on
// different primaries, and no Redis command spans them. When they share a
// slot, one script moves the session. Otherwise the move is a protocol of
// single-slot steps, any of which a client may stop after, and which any
// other client can finish or undo:
//
//  1. prepare (on old): if the session is live (and at the version, for
//     ChangeIDIf), record an intent {token, new} beside it and return it.
//     Any later write to old clears the intent.
//  2. claim (on new): if no session is live there, write the incoming
//     record (version + 1) as pending {token, from old} beside whatever
//     record new holds. Pending records are invisible.
//  3. commit (on old): if the intent is still this token, delete old's
//     record and write a marker token -> new in old's slot. This is the
//     linearization point: the intent proves nothing wrote old since it
//     was read, and that nothing resolved the pending record on new.
//  4. settle (on new): the pending record becomes new's record; then the
//     marker goes.
//
// Any operation that meets a pending record on a key resolves it first:
// on the source's slot it aborts the intent if it is still there (so the
// move can never commit) or finds the marker (it committed); then it
// settles the pending record accordingly, and retries. So a client that
// stops between any two steps leaves either a harmless intent and an
// invisible pending record (undone by the next reader), or a committed
// move that the next reader finishes: a session is never lost, cloned, or
// readable under both IDs. A mover whose intent was cleared by a
// concurrent write starts over (at most 16 times, then ErrContended).
// Errors before the commit are definite: nothing visible changed.
//
// # Expiry and cleanup
//
// DeleteExpired scans every primary for records expired at the caller's
// instant and removes them earliest first, each only if unchanged since
// read. It is exact for every record expired less than Options.Margin
// ago; older ones Redis has already dropped. It is not one atomic step
// over the cluster (no such step exists), which the contract's
// concurrent checker sees only as a cleanup that runs over an interval.
//
// # Failures
//
// A command whose request never reached the server, or which Redis
// refused before running it, fails definitely; a lost answer is
// ambiguous (store.ErrAmbiguous). go-redis's own retries are off for the
// scripts, since a script whose answer was lost may have run.
// Options.WaitReplicas makes each write wait for replicas (WAIT), so that
// a failover to an asynchronous replica cannot lose an acknowledged
// write; README "Figures" has what that costs and what it saves.
package redisstore

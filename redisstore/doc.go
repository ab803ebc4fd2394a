// Package redisstore is a session store on Redis Cluster (or one plain
// Redis node), held to the same contract, model and simulator as
// pgstore.
//
// Every single-key write is one Lua script that takes the caller's
// instant, read once from the injected clock, as an argument: a session
// is live while now < expires, in microseconds, exactly as the contract
// says, and the server's clock never decides it. Load reads the record
// with one HMGET and judges it with the same instant in the client. A session is a hash
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
// other client can finish:
//
//  1. prepare (on old): if the session is live (and at the version, for
//     ChangeIDIf), record an intent beside it: a fresh token, the target,
//     the mover's instant and, for ChangeIDIf, the new state.
//  2. claim (on new): if no session is live there at the mover's instant,
//     write the incoming record (version + 1) as pending {token, from old}
//     beside whatever record new holds. Pending records are invisible.
//  3. commit (on old): if the intent is still there, delete old's record
//     and the intent and write a marker token -> new in old's slot. This
//     is the linearization point.
//  4. settle (on new): the pending record becomes new's record; then the
//     mover drops the marker.
//
// Writes meet an intent with BUSY and reads of the target meet the pending
// record; either way the client finishes that move first (claim, commit,
// settle, with the mover's instant, so that it decides as the mover
// would), or aborts it if its target is taken, and then retries. Nothing
// can write old between prepare and commit without finishing the move, so
// the commit moves the record the mover read. A pending record whose
// source holds neither its intent nor its marker was aborted (tokens are
// never reused) and is dropped; the mover keeps its marker until the
// target is settled, so a committed move is never mistaken for an aborted
// one. A mover that fails part way withdraws its intent (abort) before it
// returns, on a context of its own: commit needs the intent, so the abort
// fences the move, and the failure is final when it is reported (if the
// abort cannot run, the error wraps ErrNotFinal). So a client that stops
// between any two steps leaves a move that the next client to meet it
// finishes or undoes: a session is never lost, cloned, or readable under
// both IDs.
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
// scripts, since a script whose answer was lost may have run. Before an
// ambiguous write is reported, its token is fenced (marked dead in its
// slot, which every write script checks first), so that a request still
// waiting in the server can never apply after the caller has moved on.
// Options.WaitReplicas makes each write wait for replicas (WAIT), so that
// a failover to an asynchronous replica cannot lose an acknowledged
// write; README "Figures" has what that costs and what it saves.
package redisstore

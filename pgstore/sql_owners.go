package pgstore

import (
	"encoding/hex"
	"strconv"

	"github.com/hourglass-go/hourglass/store"
)

// owners holds the statements of store.Owners and store.Toucher.
//
// How the owner operations stay linearizable under READ COMMITTED. A
// statement reads the table as committed when it started (its snapshot)
// and commits, and is seen by plain reads, later. For a statement on one
// row, row locks make that harmless: the UPDATE or DELETE waits for the
// row and then reads its latest version (EvalPlanQual). An operation on an
// owner's set of rows (the cap's eviction, RevokeAll) also needs that set
// not to gain members between its snapshot and its commit, and row locks
// cannot stop a row from joining a set. Were one to join (another login of
// the same user committing in between), a plain read could see both the
// newcomer and a session the operation is about to remove, which no single
// point in time explains. So:
//
//   - Every operation that adds a session to an owner's set (CreateOwned,
//     Cycle with an owner, capped or not) and every one that reads the set
//     to change it (the capped ones, RevokeAll) first takes a
//     transaction-level advisory lock on (table, owner), in the same
//     READ COMMITTED transaction, in the same round trip
//     (Store.writeBatch).
//     They take turns per owner; each statement after the lock has a
//     snapshot that includes whatever the previous holder committed.
//   - Those that read the set then lock all of the owner's rows, live or
//     expired, in ID order (prelock), before the statement that decides:
//     nothing else can then change them (Update, UpdateIf, Touch,
//     Delete, the moves, cleanups all lock the row they change), and an expired row cannot
//     be made live under them by an instance whose clock is behind.
//   - One way is left for the set to change without the advisory lock:
//     a move (ChangeID, ChangeIDIf) of one of the owner's sessions to
//     another ID, into an expired row there, which takes its owner in
//     place, or into a new row, committed after the prelock's snapshot.
//     The deciding statement therefore locks the
//     owner's rows once more (mine) and compares what it locked with its
//     snapshot (stable): if any row changed, moved or went since the
//     snapshot, the statement writes nothing and runs again. Normally the
//     prelock already holds them all and nothing has moved.
//
// Reads (List) and the statements on one row (Revoke's DELETE finds at
// most one row, Touch) are a single statement with no lock.
type owners struct {
	begin, commit, ownerLock, prelock      statement
	createOwned, createRoomy, createCapped statement
	cycle, cycleCapped                     statement
	list, revoke, revokeAll, touch         statement
}

// operations lists the statements.
func (o *owners) operations() []*statement {
	return []*statement{&o.begin, &o.commit, &o.ownerLock, &o.prelock, &o.createOwned, &o.createRoomy, &o.createCapped, &o.cycle, &o.cycleCapped, &o.list, &o.revoke, &o.revokeAll, &o.touch}
}

// handlePrefixHex is store.HandleOf's prefix, "hourglass/handle\x00", in
// hex: Revoke computes handles in SQL, and decode(..., 'hex') reads the
// same whatever standard_conforming_strings says.
var handlePrefixHex = hex.EncodeToString([]byte("hourglass/handle\x00"))

// handleSQL is store.HandleOf of the row's ID, in SQL.
var handleSQL = `left(encode(sha256(decode('` + handlePrefixHex + `', 'hex') || convert_to(id, 'UTF8')), 'hex'), ` + strconv.Itoa(store.HandleLen) + `)`

// stableSQL is the stable CTE over mine: whether the owner's rows as
// locked (their latest versions) are exactly the rows of the statement's
// snapshot. A row updated since has a new ctid, one deleted or given to
// another owner is missing from mine, and no row is in mine that the
// snapshot lacks (a locking scan finds rows through the snapshot). ctids
// of the snapshot's rows cannot be reused while the statement runs.
func stableSQL(t, owner string) string {
	return `stable AS MATERIALIZED (
	SELECT (SELECT count(*) FROM mine) = (SELECT count(*) FROM ` + t + ` WHERE owner = ` + owner + `)
		AND NOT EXISTS (SELECT ctid FROM ` + t + ` WHERE owner = ` + owner + ` EXCEPT SELECT ctid FROM mine) AS ok
)`
}

func buildOwners(t string) owners {
	o := owners{
		// A batch is a transaction of its own, at READ COMMITTED whatever
		// the connection's default: each statement then takes its
		// snapshot when it starts, after the locks of the statements
		// before it. (Under REPEATABLE READ the snapshot would be taken
		// before the advisory lock is granted, and miss what the previous
		// holder committed.)
		begin:  newStatement(`BEGIN ISOLATION LEVEL READ COMMITTED`, nil, nil),
		commit: newStatement(`COMMIT`, nil, nil),
		// $1 the table's quoted name, $2 owner. The table's OID, not its
		// name, keys the lock, so that stores naming one table differently
		// (with and without its schema) still take turns; hashtext
		// collisions between owners only make them wait for each other. The
		// name is resolved on every call, not when the statement is
		// prepared: a table dropped and created again has a new OID.
		ownerLock: newStatement(`SELECT pg_advisory_xact_lock($1::text::regclass::oid::int4, hashtext($2::text COLLATE "C"))`,
			[]uint32{oidText, oidText}, []uint32{oidVoid}),
		// $1 owner, $2 and $3 IDs (NULL: none). Locks every row of the
		// owner and the rows at the IDs, in ID order as ChangeID does, so
		// that they wait for each other instead of deadlocking.
		prelock: newStatement(`WITH locked AS MATERIALIZED (
	SELECT 1 FROM `+t+` WHERE owner = $1 OR id = $2 OR id = $3
	ORDER BY id COLLATE "C" FOR UPDATE
)
SELECT count(*) FROM locked`,
			[]uint32{oidText, oidText, oidText}, []uint32{oidInt8}),
		// $1 id, $2 state, $3 expires, $4 owner, $5 now, $6 version (its
		// first, store.FirstVersion). CreateOwned without a cap: Create's
		// upsert, with the owner.
		createOwned: newStatement(`INSERT INTO `+t+` AS s (id, state, expires, owner, version) VALUES ($1, $2, $3, $4, $6)
ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires, owner = EXCLUDED.owner, version = EXCLUDED.version
WHERE s.expires <= $5`,
			[]uint32{oidText, oidBytea, oidTimestamptz, oidText, oidTimestamptz, oidInt8}, nil),
		// $1 id, $2 state, $3 expires, $4 owner, $5 now, $6 version, $7 cap
		// (>= 1). A login with room under the cap: one row back, room (the owner
		// has fewer than cap live sessions) and put (1: the session was
		// stored, only if there was room). It needs no row locks, under
		// the owner's lock: every operation that adds to an owner's live
		// sessions holds that lock, and what the others do to them while
		// the statement runs (delete, revoke, clean up, renew, move to
		// another ID) leaves at most as many live at $5, so a count below
		// the cap at the snapshot is below it when the session lands. The
		// count includes a live session of the owner at id itself: a
		// ChangeID may move it away before the insert (which then takes
		// the freed ID), and it still counts where it lands. (Leaving it
		// out let a login put the owner over the cap: the concurrent
		// checker found it.) (Only a renewal by a server whose clock is behind can
		// make a session expired at $5 live again, and that renewal is
		// judged at its own clock: ordered after this login, as it may
		// be, it breaks no rule.) Without room, createCapped decides.
		createRoomy: newStatement(`WITH n AS MATERIALIZED (
	SELECT count(*) AS live FROM `+t+` WHERE owner = $4::text AND expires > $5::timestamptz
), put AS (
	INSERT INTO `+t+` AS s (id, state, expires, owner, version)
	SELECT $1::text, $2::bytea, $3::timestamptz, $4::text, $6::int8 FROM n WHERE n.live < $7::int8
	ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires, owner = EXCLUDED.owner, version = EXCLUDED.version
	WHERE s.expires <= $5::timestamptz
	RETURNING 1
)
SELECT (SELECT live FROM n) < $7::int8, (SELECT count(*) FROM put)`,
			[]uint32{oidText, oidBytea, oidTimestamptz, oidText, oidTimestamptz, oidInt8, oidInt8}, []uint32{oidBool, oidInt8}),
		// $1 id, $2 state, $3 expires, $4 owner, $5 now, $6 version, $7 cap
		// (>= 1).
		// One row back: stable, put (1: the session was stored), evicted.
		//  - put is the upsert of createOwned; it reads the row at id at
		//    its latest version, whatever the snapshot says, and stores
		//    nothing over a live one (ErrDuplicateID).
		//  - evicted removes, only if put stored the session, the owner's
		//    live rows but the newest cap-1, that is its oldest beyond
		//    cap-1 (earliest expiry first, ties by ID), so that with the
		//    new one it has cap. The row at id is not among them: a live
		//    one stops put, an expired one is not live.
		// The two write disjoint rows, and evicted reads put, which fixes
		// their order.
		createCapped: newStatement(`WITH mine AS MATERIALIZED (
	SELECT id, expires, ctid FROM `+t+` WHERE owner = $4::text FOR UPDATE
), `+stableSQL(t, "$4::text")+`, put AS (
	INSERT INTO `+t+` AS s (id, state, expires, owner, version)
	SELECT $1::text, $2::bytea, $3::timestamptz, $4::text, $6::int8 FROM stable WHERE ok
	ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires, owner = EXCLUDED.owner, version = EXCLUDED.version
	WHERE s.expires <= $5::timestamptz
	RETURNING 1
), evicted AS (
	DELETE FROM `+t+` WHERE id = ANY (ARRAY(
		SELECT id FROM mine WHERE expires > $5::timestamptz
		ORDER BY expires DESC, id COLLATE "C" DESC OFFSET $7::int8 - 1
	)) AND EXISTS (SELECT 1 FROM put)
	RETURNING 1
)
SELECT (SELECT ok FROM stable), (SELECT count(*) FROM put), (SELECT count(*) FROM evicted)`,
			[]uint32{oidText, oidBytea, oidTimestamptz, oidText, oidTimestamptz, oidInt8, oidInt8}, []uint32{oidBool, oidInt8, oidInt8}),
		// $1 old, $2 new, $3 state, $4 expires, $5 owner (NULL: none),
		// $6 now. ChangeID's statement (moveSQL), giving the moved session
		// the new state, expiry and owner, at old's version + 1.
		cycle: newStatement(`WITH `+cycleMove(t, "")+`
SELECT `+moveResult,
			[]uint32{oidText, oidText, oidBytea, oidTimestamptz, oidText, oidTimestamptz}, moveResultOIDs),
		// $1 old, $2 new, $3 state, $4 expires, $5 owner, $6 now, $7 cap
		// (>= 1). cycle, moving only if stable, and evicting as
		// createCapped does, only if the session moved, among the owner's
		// live rows but old (which goes anyway, so it does not count) and
		// new (not live, or nothing moves). One row back: stable, and
		// cycle's.
		cycleCapped: newStatement(`WITH mine AS MATERIALIZED (
	SELECT id, expires, ctid FROM `+t+` WHERE owner = $5::text FOR UPDATE
), `+stableSQL(t, "$5::text")+`, `+cycleMove(t, "(SELECT ok FROM stable)")+`, evicted AS (
	DELETE FROM `+t+` WHERE id = ANY (ARRAY(
		SELECT id FROM mine WHERE expires > $6::timestamptz AND id <> $1::text
		ORDER BY expires DESC, id COLLATE "C" DESC OFFSET $7::int8 - 1
	)) AND EXISTS (SELECT 1 FROM put)
	RETURNING 1
)
SELECT (SELECT ok FROM stable), `+moveResult,
			[]uint32{oidText, oidText, oidBytea, oidTimestamptz, oidText, oidTimestamptz, oidInt8}, append([]uint32{oidBool}, moveResultOIDs...)),
		// $1 owner, $2 now. A range scan of the owner index, in its order.
		list: newStatement(`SELECT id, expires FROM `+t+` WHERE owner = $1 AND expires > $2
ORDER BY expires, id COLLATE "C"`,
			[]uint32{oidText, oidTimestamptz}, []uint32{oidText, oidTimestamptz}),
		// $1 owner, $2 handle. The handle of each of the owner's rows is
		// computed here, so that the ID never leaves the server; an ID
		// has one handle, so at most one row matches (a statement on one
		// row: no lock needed). Liveness is decided in Go from the
		// returned expiry, as for Delete.
		revoke: newStatement(`DELETE FROM `+t+` WHERE owner = $1 AND `+handleSQL+` = $2 RETURNING expires`,
			[]uint32{oidText, oidText}, []uint32{oidTimestamptz}),
		// $1 owner, $2 except (text[]), $3 now. Removes, only if stable,
		// the owner's rows but those under except, live or expired. One
		// row back: stable, and how many live rows went.
		revokeAll: newStatement(`WITH mine AS MATERIALIZED (
	SELECT id, ctid FROM `+t+` WHERE owner = $1::text AND id <> ALL ($2::text[]) FOR UPDATE
), stable AS MATERIALIZED (
	SELECT (SELECT count(*) FROM mine) = (SELECT count(*) FROM `+t+` WHERE owner = $1::text AND id <> ALL ($2::text[]))
		AND NOT EXISTS (SELECT ctid FROM `+t+` WHERE owner = $1::text AND id <> ALL ($2::text[]) EXCEPT SELECT ctid FROM mine) AS ok
), gone AS (
	DELETE FROM `+t+` WHERE id = ANY (ARRAY(SELECT id FROM mine)) AND (SELECT ok FROM stable)
	RETURNING expires
)
SELECT (SELECT ok FROM stable), (SELECT count(*) FROM gone WHERE expires > $3::timestamptz)`,
			[]uint32{oidText, oidTextArray, oidTimestamptz}, []uint32{oidBool, oidInt8}),
		// $1 id, $2 the new expiry (now+ttl), $3 now, $4 the latest expiry
		// that moves by the resolution or more (computed in Go, later than
		// now). The UPDATE (a write: version + 1) matches only a live row
		// it extends enough, so
		// when the extension is too small it matches nothing and writes
		// nothing: no row version, no WAL, no transaction ID, and the
		// implicit transaction commits as a read. The SELECT returns the
		// row as it is when the UPDATE changed nothing. Its last column
		// says whether that answer holds: the snapshot's row is one the
		// UPDATE would not extend. If it would (false), the UPDATE found
		// the row changed since the snapshot (another client extended,
		// updated, moved or deleted it) and skipped it after rechecking
		// the latest version, which this SELECT cannot see: the statement
		// runs again, with a fresh snapshot, rather than return a version
		// that is no longer current (Store.Touch).
		touch: newStatement(`WITH touched AS (
	UPDATE `+t+` SET expires = $2, version = version + 1 WHERE id = $1 AND expires > $3 AND expires <= $4
	RETURNING state, expires, owner, version
)
SELECT state, expires, owner, version, true FROM touched
UNION ALL
SELECT state, expires, owner, version, expires > $4 FROM `+t+`
WHERE id = $1 AND expires > $3 AND NOT EXISTS (SELECT 1 FROM touched)`,
			[]uint32{oidText, oidTimestamptz, oidTimestamptz, oidTimestamptz}, []uint32{oidBytea, oidTimestamptz, oidText, oidInt8, oidBool}),
	}
	return o
}

// cycleMove is the move of the cycle statements, writing only if guard
// holds ("" for always). Params: $1 old, $2 new, $3 state, $4 expires,
// $5 owner, $6 now.
func cycleMove(t, guard string) string {
	return moveSQL{
		t: t, old: "$1::text", new: "$2::text", now: "$6::timestamptz",
		state: "$3::bytea", expires: "$4::timestamptz", owner: "$5::text", guard: guard,
	}.parts()
}

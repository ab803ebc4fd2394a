package pgstore

// moveSQL builds the statements that move a live session from one ID to
// another in one atomic step: ChangeID, ChangeIDIf, and Cycle with and
// without a cap. They differ only in the values the moved session gets and
// in a further condition; the parts below are shared:
//
//  1. locked takes the row lock of whatever is at old and at new, in byte
//     order of ID, so that two moves in opposite directions wait for each
//     other instead of deadlocking. Under READ COMMITTED a row another
//     transaction changed is read at its latest version once locked, so
//     src and dst see old and new as they are, not as the snapshot had
//     them.
//  2. A source that is not live is ErrNotFound and a live target
//     ErrDuplicateID; nothing changes.
//  3. put writes the session at new with INSERT ... ON CONFLICT: over an
//     expired target, which locked holds, the conflict arm takes the
//     session into the target's row in place. (Deleting that row and
//     inserting another would strand a statement of another client that
//     found the old row, an Update by an instance whose clock still sees
//     it live: it would wait for the row, find it deleted and report the
//     session missing although one was live under the ID throughout.
//     Updated in place, the row is followed to its new version.) Over
//     nothing, a row is inserted. A row another client inserted at new
//     after the lock is met by the same conflict arm: taken in place if
//     it is expired at this clock, left alone if live, and the answer is
//     then ErrDuplicateID, as it is when the target was live from the
//     start. No path raises unique_violation, whose detail, in the
//     server's log, names the ID. (Renaming the source row, as an earlier
//     version did, raised it whenever a row appeared at new after the
//     statement's snapshot.)
//  4. gone deletes the source, only if put wrote. A DELETE finds its rows
//     through the statement's snapshot, and a locked row may not be there
//     under old: one moved to old, or replaced there, after the snapshot
//     was taken (a concurrent move the other way). here checks that the
//     snapshot's row at old is the very row version locked; if not,
//     nothing is written and the statement runs again with a fresh
//     snapshot. Otherwise the session could be written at new and also
//     left at old.
//
// The data-modifying parts touch disjoint rows (old != new: a move onto
// itself is answered by a read) and gone reads put, which fixes their
// order; each runs to completion whether or not the result reads it.
type moveSQL struct {
	t             string // the table, quoted
	old, new, now string // the parameters, cast
	// locks lists the columns locked reads beyond id, expires and
	// version, for the values below.
	locks string
	// state, expires and owner are what the session is given at new,
	// as expressions over src or parameters. Its version is always
	// src's plus one.
	state, expires, owner string
	// guard, if not empty, is a further condition of writing anything.
	guard string
}

// parts returns the common table expressions locked, src, dst, here, put
// and gone, to follow WITH (or other expressions and a comma).
func (m moveSQL) parts() string {
	guard := ""
	if m.guard != "" {
		guard = " AND " + m.guard
	}
	locks := "id, expires, version, ctid"
	if m.locks != "" {
		locks += ", " + m.locks
	}
	return `locked AS MATERIALIZED (
	SELECT ` + locks + ` FROM ` + m.t + ` WHERE id = ANY (ARRAY[` + m.old + `, ` + m.new + `])
	ORDER BY id COLLATE "C" FOR UPDATE
), src AS MATERIALIZED (
	SELECT * FROM locked WHERE id = ` + m.old + ` AND expires > ` + m.now + `
), dst AS MATERIALIZED (
	SELECT expires > ` + m.now + ` AS live FROM locked WHERE id = ` + m.new + `
), here AS MATERIALIZED (
	SELECT EXISTS (SELECT 1 FROM ` + m.t + ` WHERE id = ` + m.old + ` AND ctid = (SELECT ctid FROM src)) AS ok
), put AS (
	INSERT INTO ` + m.t + ` AS s (id, state, expires, owner, version)
	SELECT ` + m.new + `, ` + m.state + `, ` + m.expires + `, ` + m.owner + `, src.version + 1 FROM src
	WHERE (SELECT ok FROM here) AND NOT EXISTS (SELECT 1 FROM dst WHERE live)` + guard + `
	ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires, owner = EXCLUDED.owner, version = EXCLUDED.version
	WHERE s.expires <= ` + m.now + `
	RETURNING version
), gone AS (
	DELETE FROM ` + m.t + ` WHERE id = ` + m.old + ` AND EXISTS (SELECT 1 FROM put)
	RETURNING 1
)`
}

// moveResult is the one row a move returns: whether old is live (0 or
// 1) and at which version (0: not live), whether new is live, whether
// the snapshot's row at old is the one locked (here), and the version
// the session moved at (0: it did not move).
const moveResult = `(SELECT count(*) FROM src) AS old_live, coalesce((SELECT version FROM src), 0) AS old_version,
	(SELECT count(*) FROM dst WHERE live) AS new_live, (SELECT ok FROM here) AS here, coalesce((SELECT version FROM put), 0) AS moved`

// moveResultOIDs are moveResult's types.
var moveResultOIDs = []uint32{oidInt8, oidInt8, oidInt8, oidBool, oidInt8}

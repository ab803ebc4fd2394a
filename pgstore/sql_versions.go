package pgstore

// versions holds the statements of store.Versioner and store.Scanner.
type versions struct {
	updateIf, changeIDIf, scan statement
}

// operations lists the statements.
func (v *versions) operations() []*statement {
	return []*statement{&v.updateIf, &v.changeIDIf, &v.scan}
}

func buildVersions(t string) versions {
	return versions{
		// $1 id, $2 state, $3 expires (NULL: keep it, store.KeepTTL),
		// $4 version, $5 now. At most one row back: updated, and the
		// version. The UPDATE matches only the live row at $4, rechecked
		// on its latest version if another client changed it meanwhile;
		// when it matches nothing, the SELECT reads the row from the
		// statement's snapshot, so that ErrNotFound (no row) and
		// ErrConflict (another version) are told apart in the same round
		// trip. That answer holds at the snapshot unless the snapshot's
		// row is at $4: then the UPDATE found the row changed since, and
		// the statement runs again (Store.UpdateIf), as Touch's does.
		updateIf: newStatement(`WITH done AS (
	UPDATE `+t+` SET state = $2, expires = coalesce($3, expires), version = version + 1
	WHERE id = $1 AND expires > $5 AND version = $4
	RETURNING version
)
SELECT true, version FROM done
UNION ALL
SELECT false, version FROM `+t+`
WHERE id = $1 AND expires > $5 AND NOT EXISTS (SELECT 1 FROM done)`,
			[]uint32{oidText, oidBytea, oidTimestamptz, oidInt8, oidTimestamptz}, []uint32{oidBool, oidInt8}),
		// $1 old, $2 new, $3 now, $4 version, $5 state. ChangeID's move
		// (moveSQL), only of the source at $4, with the new state; expiry
		// and owner kept. src's version in the result tells ErrConflict
		// from the rest in the same round trip. Moving a session keeps
		// its owner's count, so, as ChangeID, it takes no owner lock.
		changeIDIf: newStatement(`WITH `+moveSQL{
			t: t, old: "$1::text", new: "$2::text", now: "$3::timestamptz",
			locks: "owner", state: "$5::bytea", expires: "src.expires", owner: "src.owner",
			guard: "src.version = $4::int8",
		}.parts()+`
SELECT `+moveResult,
			[]uint32{oidText, oidText, oidTimestamptz, oidInt8, oidBytea}, moveResultOIDs),
		// $1 after, $2 now, $3 limit. A range scan of the primary key,
		// whose order is the column's collation, "C" (or "POSIX"): byte
		// order, as the contract wants, with no sort.
		scan: newStatement(`SELECT id FROM `+t+` WHERE id > $1 AND expires > $2 ORDER BY id LIMIT $3`,
			[]uint32{oidText, oidTimestamptz, oidInt8}, []uint32{oidText}),
	}
}

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
		// $4 version, $5 now. Update's statement with the version in its
		// WHERE: the row back is the new version. No row, and only then,
		// Store.UpdateIf reads the live version (liveVersion) to tell
		// ErrNotFound from ErrConflict: a second round trip on the
		// failure path keeps the success path as cheap as Update's (a
		// one-statement form that answered both, a data-modifying CTE
		// with a UNION, cost 20-35% more server CPU per write).
		updateIf: newStatement(`UPDATE `+t+` SET state = $2, expires = coalesce($3, expires), version = version + 1
WHERE id = $1 AND expires > $5 AND version = $4
RETURNING version`,
			[]uint32{oidText, oidBytea, oidTimestamptz, oidInt8, oidTimestamptz}, []uint32{oidInt8}),
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

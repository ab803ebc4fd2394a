package pgstore

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// DefaultTable is the table used when Options.Table is empty.
const DefaultTable = "hourglass_sessions"

// maxIdentLen is PostgreSQL's identifier limit (NAMEDATALEN-1). Longer names
// are silently truncated by the server, so two long names could end up
// naming the same table; New refuses them instead.
const maxIdentLen = 63

// statements holds every SQL string of a Store, built once by New from the
// validated, quoted names: nothing is concatenated per call.
type statements struct {
	table   string // quoted, possibly schema-qualified
	migrate string
	shape   string
	// indexes names the indexes Migrate creates, unquoted, for its check
	// of whether there is anything left to do.
	indexes []string

	create, load, update, updateTTL, delete statement
	changeID, liveVersion, deleteExpired    statement
	sweep, cleanCheck                       statement
	owners
	versions
}

// MigrationSQL returns the idempotent DDL that creates the session table and
// its indexes, or brings a table made by an earlier version up to date (it
// adds the owner and version columns and the owner index), for teams that
// run migrations with their own tool. schema may be empty (the table then lands in the first
// schema of the search_path); table empty means DefaultTable. The schema
// itself must already exist. Migrate runs the same SQL, after checking the
// shape of a table that already exists, and only if something is missing;
// this SQL checks nothing, so run Ping after it.
func MigrationSQL(schema, table string) (string, error) {
	st, err := buildStatements(schema, table)
	if err != nil {
		return "", err
	}
	return st.migrate, nil
}

func buildStatements(schema, table string) (statements, error) {
	if table == "" {
		table = DefaultTable
	}
	if err := checkIdent("table", table); err != nil {
		return statements{}, err
	}
	qualified := pgx.Identifier{table}
	index := pgx.Identifier{indexName(table, expiresIndexSuffix)}
	ownerIndex := pgx.Identifier{indexName(table, ownerIndexSuffix)}
	if schema != "" {
		if err := checkIdent("schema", schema); err != nil {
			return statements{}, err
		}
		qualified = pgx.Identifier{schema, table}
	}
	t := qualified.Sanitize()

	// Every instant is a parameter read from the injected clock: $now below
	// is the operation's single clock reading, never the server's.
	st := statements{
		table:   t,
		indexes: []string{index[0], ownerIndex[0]},
		// id sorts as bytes whatever the database collation; the index on
		// (expires, id) yields expired rows in exactly DeleteExpired's order.
		// owner is NULL for a session without one (Create's), and compares
		// as bytes too; the partial index on (owner, expires, id) holds
		// only owned rows and yields one owner's in List's and eviction's
		// order, so the owner operations cost what that owner has, whatever
		// the table holds. version counts the writes to a session
		// (store.Versioner); every statement sets it, and its default is
		// for the rows of an upgraded table and for writers that predate
		// it. A table made by an earlier version gets the missing columns
		// from the ALTER, in one statement: owner nullable and without a
		// default, version with a constant default, so adding either
		// rewrites nothing and every existing row reads version 1 (a
		// record created since starts at its store.FirstVersion).
		migrate: `CREATE TABLE IF NOT EXISTS ` + t + ` (
	id      text COLLATE "C" PRIMARY KEY,
	state   bytea NOT NULL,
	expires timestamptz NOT NULL,
	owner   text COLLATE "C",
	version bigint NOT NULL DEFAULT 1
);
ALTER TABLE ` + t + `
	ADD COLUMN IF NOT EXISTS owner text COLLATE "C",
	ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS ` + index.Sanitize() + ` ON ` + t + ` (expires, id);
CREATE INDEX IF NOT EXISTS ` + ownerIndex.Sanitize() + ` ON ` + t + ` (owner, expires, id) WHERE owner IS NOT NULL;
`,
		// $1 id, $2 state, $3 expires, $4 now, $5 version (its first,
		// store.FirstVersion, computed in Go). An upsert whose conflict
		// arm replaces only an expired row, owner and all (Create's
		// session has none); a live one leaves zero rows affected. The
		// conflict is never an error: a plain INSERT, cheaper by a
		// little, failed with unique_violation on a taken ID, and the
		// server logged the ID with it ("Key (id)=(...) already
		// exists"), as it would for a Create of one ID racing another.
		create: newStatement(`INSERT INTO `+t+` AS s (id, state, expires, version) VALUES ($1, $2, $3, $5)
ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires, owner = NULL, version = EXCLUDED.version
WHERE s.expires <= $4`,
			[]uint32{oidText, oidBytea, oidTimestamptz, oidTimestamptz, oidInt8}, nil),
		// $1 id, $2 now. owner is NULL for a session without one.
		load: newStatement(`SELECT state, expires, owner, version FROM `+t+` WHERE id = $1 AND expires > $2`,
			[]uint32{oidText, oidTimestamptz}, []uint32{oidBytea, oidTimestamptz, oidText, oidInt8}),
		// $1 id, $2 state, $3 expires, $4 now. Only a live row matches, so
		// an update never brings a session back. The owner is kept, here
		// and in updateTTL, by not being named; every write to a live row
		// adds one to its version.
		update: newStatement(`UPDATE `+t+` SET state = $2, expires = $3, version = version + 1 WHERE id = $1 AND expires > $4`,
			[]uint32{oidText, oidBytea, oidTimestamptz, oidTimestamptz}, nil),
		// $1 id, $2 expires, $3 now.
		updateTTL: newStatement(`UPDATE `+t+` SET expires = $2, version = version + 1 WHERE id = $1 AND expires > $3`,
			[]uint32{oidText, oidTimestamptz, oidTimestamptz}, nil),
		// $1 id. Liveness is decided in Go from the returned expiry, so
		// the row goes whether or not it was live, in one statement.
		delete: newStatement(`DELETE FROM `+t+` WHERE id = $1 RETURNING expires`,
			[]uint32{oidText}, []uint32{oidTimestamptz}),
		// $1 old, $2 new, $3 now. The session moves with its state,
		// expiry and owner, at its version + 1 (see moveSQL).
		changeID: newStatement(`WITH `+moveSQL{
			t: t, old: "$1::text", new: "$2::text", now: "$3::timestamptz",
			locks: "state, owner", state: "src.state", expires: "src.expires", owner: "src.owner",
		}.parts()+`
SELECT `+moveResult,
			[]uint32{oidText, oidText, oidTimestamptz}, moveResultOIDs),
		// $1 id, $2 now. ChangeID(id, id) and the like: a row means live.
		liveVersion: newStatement(`SELECT version FROM `+t+` WHERE id = $1 AND expires > $2`,
			[]uint32{oidText, oidTimestamptz}, []uint32{oidInt8}),
		// $1 now, $2 limit (NULL: all). DELETE has no LIMIT in PostgreSQL,
		// so the batch is chosen by a subquery that walks the (expires, id)
		// index in order, evaluated once into an array whose rows the
		// DELETE then finds through the primary key: neither side scans the
		// table, whatever the planner estimates (an IN (subquery) turned
		// into a hash join over the whole table). FOR UPDATE waits for a
		// row another transaction holds rather than skipping it (SKIP
		// LOCKED did): the holder may be about to make it live (a Create
		// replacing it, not yet committed) or may roll back and leave it
		// expired, and a batch that skipped it would have answered for a
		// state the table was never in; the simulator's concurrent
		// checker found both. Once locked, a row the holder deleted or
		// made live is passed over and the walk goes on to the next, so
		// the batch is the earliest expired records when it commits.
		// Concurrent cleaners take turns on the rows they share.
		// One row back: how many went, and where the batch ended (the
		// latest expiry and, among its rows, the greatest ID), for
		// cleanCheck.
		deleteExpired: newStatement(`WITH batch AS (
	DELETE FROM `+t+` WHERE id = ANY (ARRAY(
		SELECT id FROM `+t+` WHERE expires <= $1
		ORDER BY expires, id COLLATE "C"
		LIMIT $2
		FOR UPDATE
	))
	RETURNING expires, id
)
SELECT count(*), max(expires), (array_agg(id ORDER BY expires DESC, id COLLATE "C" DESC))[1] FROM batch`,
			[]uint32{oidTimestamptz, oidInt8}, []uint32{oidInt8, oidTimestamptz, oidText}),
		// $1 now, $2 batch size, $3 where the previous batch ended (its
		// latest expiry; -infinity for the first). deleteExpired's batch,
		// with the index walk starting at $3 instead of at the index's low
		// end: the entries of the rows earlier batches removed stay in the
		// index until VACUUM, and walking past them again on every call is
		// what made a backlog's last batches several times dearer than its
		// first. ">=" rather than ">": a batch may end inside a run of equal
		// expiries. Rows other transactions hold are waited for, as in
		// deleteExpired. One row back: how many went, and the latest expiry.
		sweep: newStatement(`WITH batch AS (
	DELETE FROM `+t+` WHERE id = ANY (ARRAY(
		SELECT id FROM `+t+` WHERE expires <= $1 AND expires >= $3
		ORDER BY expires, id COLLATE "C"
		LIMIT $2
		FOR UPDATE
	))
	RETURNING expires, id
)
SELECT count(*), max(expires), (array_agg(id ORDER BY expires DESC, id COLLATE "C" DESC))[1] FROM batch`,
			[]uint32{oidTimestamptz, oidInt8, oidTimestamptz}, []uint32{oidInt8, oidTimestamptz, oidText}),
		// $1 now, $2 where the batch started, $3 and $4 where it ended
		// (its latest expiry and greatest ID there; NULL if it removed
		// nothing), $5 1 if it was full. Run after a cleanup batch, in its
		// transaction, on a snapshot of its own: it fails (division by
		// zero) if an expired record the batch should have taken is still
		// there, that is one before where a full batch ended, or any past
		// where it started if the batch came back short. The batch's own
		// snapshot was taken before it waited for the row locks of other
		// transactions, so it can miss what they committed meanwhile: a
		// record written, or a row renamed, by a server whose clock calls
		// it live. Failing here rolls the batch back to run again.
		cleanCheck: newStatement(`SELECT 1 / (CASE WHEN EXISTS (
	SELECT 1 FROM `+t+` WHERE expires <= $1 AND expires >= $2
	AND ($5::int8 = 0 OR (expires, id COLLATE "C") < ($3, $4::text COLLATE "C"))
) THEN 0 ELSE 1 END)`,
			[]uint32{oidTimestamptz, oidTimestamptz, oidTimestamptz, oidText, oidInt8}, []uint32{oidInt4}),
		// $1 the table's quoted name, resolved like the statements above.
		// One row per column (or one row of NULLs if there is no table).
		shape: `SELECT c.relkind::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
	co.collname::text, a.attnotnull, a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
	EXISTS (SELECT 1 FROM pg_index i
		WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indimmediate
		AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum)
FROM (SELECT to_regclass($1) AS oid) r
LEFT JOIN pg_class c ON c.oid = r.oid
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_collation co ON co.oid = a.attcollation
ORDER BY a.attnum`,
	}
	st.owners = buildOwners(t)
	st.versions = buildVersions(t)
	return st, nil
}

// operations lists the statements the store's operations run.
func (st *statements) operations() []*statement {
	all := []*statement{&st.create, &st.load, &st.update, &st.updateTTL, &st.delete, &st.changeID, &st.liveVersion, &st.deleteExpired, &st.sweep, &st.cleanCheck}
	all = append(all, st.owners.operations()...)
	return append(all, st.versions.operations()...)
}

// checkIdent rejects names PostgreSQL would not keep as given. Valid names
// are still always quoted, so any other character is fine.
func checkIdent(field, name string) error {
	switch {
	case name == "":
		return &NameError{Field: field, Name: name, Reason: "empty"}
	case len(name) > maxIdentLen:
		return &NameError{Field: field, Name: name, Reason: fmt.Sprintf("%d bytes, at most %d allowed (PostgreSQL would truncate it)", len(name), maxIdentLen)}
	case strings.IndexByte(name, 0) >= 0:
		return &NameError{Field: field, Name: name, Reason: "contains a NUL byte"}
	case !utf8.ValidString(name):
		return &NameError{Field: field, Name: name, Reason: "not valid UTF-8"}
	}
	return nil
}

// The suffixes of the indexes' names: the cleanup index and the owner index.
const (
	expiresIndexSuffix = "_expires_id_idx"
	ownerIndexSuffix   = "_owner_idx"
)

// indexName derives an index's name from the table's. When the natural
// name is too long it keeps a prefix plus a hash of the whole table name,
// so that long table names that share a prefix still get distinct index
// names instead of PostgreSQL truncating them into one.
func indexName(table, suffix string) string {
	if len(table)+len(suffix) <= maxIdentLen {
		return table + suffix
	}
	h := fnv.New32a()
	h.Write([]byte(table))
	tag := fmt.Sprintf("_%08x", h.Sum32())
	prefix := table[:maxIdentLen-len(suffix)-len(tag)]
	for !utf8.ValidString(prefix) {
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + tag + suffix
}

// migrationLockKey is the advisory lock that serialises Migrate calls for
// one table, since concurrent CREATE TABLE IF NOT EXISTS can still fail on
// PostgreSQL's catalog unique indexes.
func migrationLockKey(table string) int64 {
	h := fnv.New64a()
	h.Write([]byte("hourglass-go/pgstore migrate " + table))
	return int64(h.Sum64())
}

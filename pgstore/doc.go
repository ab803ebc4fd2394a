// Package pgstore keeps Hourglass sessions in a PostgreSQL table, through a
// pgx/v5 connection pool.
//
// One table holds every session: the ID (text under the "C" collation, so
// IDs compare and sort as bytes whatever the database's locale), the state
// (bytea), the instant it expires (timestamptz), its owner (text under
// "C", NULL for a session without one; see store.Owners) and its version
// (bigint; see store.Versioner). An index on
// (expires, id) serves DeleteExpired, which removes expired rows earliest
// first in batches, and Sweep, which clears a backlog batch after batch,
// each starting where the last ended; several processes can run either at
// once, taking turns on the rows they share. A partial index on
// (owner, expires, id), of owned rows only, serves the owner operations,
// so that listing, capping or revoking one user's sessions costs what that
// user has, whatever the table holds. The primary key serves Scan, which
// walks the IDs in its order. Migrate upgrades a table made by an earlier
// version in place.
//
// Time comes only from the clock.Clock given in Options. Each operation
// reads it once, truncates the reading to microseconds (store.Instant) and
// sends it as a query parameter; the SQL never consults the server's clock,
// and because the parameter is a binary timestamptz (an absolute count of
// microseconds) the results do not depend on the connection's TimeZone. This is what lets the simulator
// run a real PostgreSQL at any instant, and what keeps sessions alive for
// exactly their TTL when application and database clocks disagree.
//
// Each operation but the cleanups is a single statement in its own
// implicit transaction, or a batch of statements sent together and run
// in one: one round trip once the statements are prepared on the
// connection, and atomic without an explicit transaction. A cleanup
// batch (DeleteExpired, a step of Sweep) runs in a transaction of its own,
// followed by a check on a fresh snapshot that no expired record it should
// have taken is left (else it runs again), so that it removes exactly the
// earliest expired records of the table as it is when the batch commits,
// whatever other servers write beside it. Create is an upsert that
// replaces a record under the ID only if it expired. ChangeID (and
// ChangeIDIf, and Cycle) locks the rows at both IDs in byte order of ID,
// writes the session at the target with an upsert of its own (over an
// expired target, into the target's row, so that a statement of another
// client waiting on that row follows it to the moved session) and deletes
// the source.
//
// Versions. Create and CreateOwned write a record at its first version,
// computed in Go (store.FirstVersion, from the seed a layer above may pass
// in the context), and every write to a live row adds one to it in the
// statement that writes, so the version Load or Touch returns names one
// state of one session. UpdateIf and ChangeIDIf apply only at the version
// given, in one statement each, which also reads what tells ErrNotFound
// from ErrConflict: one round trip, unless the row changed under the
// statement, which then runs again. Scan is one statement, a range scan of
// the primary key.
//
// The owner operations that add to a user's sessions or change them as a
// set (CreateOwned, Cycle with an owner, RevokeAll) are batches: a
// transaction-level advisory lock on the table and the owner, so that one
// user's logins take turns and no two can each see room under the cap; for
// those that read the set, a statement locking the user's rows; then one
// statement that decides and writes (for a capped login: the duplicate
// check, the eviction of the oldest sessions and the insert). List and
// Revoke are single statements over the owner index. Touch is one
// statement that updates the row only when the expiry moves by the
// resolution or more, and otherwise writes nothing at all: no row version,
// no WAL, no transaction ID, so most touches cost a read.
//
// The statements go through pgconn, the layer under pgx.Conn: each is
// prepared once per connection under a name of its own (whatever the pool's
// DefaultQueryExecMode), with its parameters and results in binary, encoded
// and decoded by this package for the few types it uses. The
// server's description of each prepared statement is checked against those
// types first, so a table of the wrong shape gives ErrTableShape, having run
// nothing, rather than misread data. A pgx.QueryTracer configured on the
// pool sees every statement and its outcome but no arguments: session IDs
// are credentials and states are private.
//
// No session ID, state or owner reaches the server's log or a tracer from
// pgstore. They travel only as bound parameters, never in SQL text, and no
// statement of this package raises an error that quotes a row: in
// particular none raises unique_violation, on any path, races between
// clients included (every conflict over an ID is met by INSERT ... ON
// CONFLICT), whose detail, "Key (id)=(...) already exists", the server
// would log. With PostgreSQL's default logging the server logs, of
// pgstore's statements, only the text of one that fails
// (log_min_error_statement), never its parameters. It does log the
// parameters, and so IDs and states, when an operator turns on any of:
// log_statement = mod or all (every write with its parameters, by design);
// log_min_duration_statement, log_min_duration_sample or
// log_transaction_sample_rate (the statements they log come with their
// parameters); auto_explain (from PostgreSQL 16 its plans come with the
// parameters unless auto_explain.log_parameter_max_length = 0);
// log_parameter_max_length_on_error other than 0 (a failed statement's
// parameters); pgaudit with pgaudit.log_parameter; debug_print_plan and
// its kind. Leave them off on a server that holds sessions.
//
// As defence in depth, every server error is scrubbed where it enters
// this package, before a tracer is told of it and before it is returned:
// its detail, hint, context (where) and internal query are withheld, and
// so is the message of the errors whose message may quote a value
// (integrity violations, data exceptions, PL/pgSQL raises); the SQLSTATE,
// the condition's name and the constraint, table and column names stay.
// That covers what a table that is not only pgstore's can add: a CHECK
// constraint whose violation quotes the failing row, a trigger that
// raises an error naming the ID. (The server still logs those itself:
// keeping values out of them is up to the constraint's or the trigger's
// author.) The few statements pgstore runs through pgx.Conn rather than
// pgconn (Migrate's, Ping's, the fence's) touch no session row, so pgx's
// own calls to the tracer carry none.
//
// A failed operation is reported as definite (it had no effect: safe to
// retry) or ambiguous (store.ErrAmbiguous: it may have been applied). It is
// definite only when it provably failed before the statement could run:
// the context was already done, no connection could be acquired, or the
// server answered with an ordinary error, which rolls the statement back.
// A write whose statement was sent and whose answer was lost (I/O error,
// cancellation in flight, the server shutting down) is ambiguous, whatever
// pgconn.SafeToRetry says: pgx reports a lost COMMIT acknowledgement as
// safe to retry although the transaction committed.
//
// An ambiguous failure is also final. A server process that received a
// statement runs it even after the client gave up, possibly after the
// client's next operations, so a lost write could land late. Before it
// reports an ambiguous write, pgstore waits for that server process to
// exit, which it does once it finds the connection closed: the statement
// has then committed or never will, and a caller that reads the session
// back sees the final answer. The wait uses a connection of its own, opened
// as the pool opens one: the pool's BeforeConnect hook runs first, so
// credentials it supplies (an IAM token, a rotated password) apply; its
// AfterConnect hook does not, as that connection only reads
// pg_stat_activity and never joins the pool. The wait relies on the backend
// process ID, so it does not work through a transaction-pooling proxy such
// as PgBouncer.
//
// Options.FenceTimeout bounds that wait (DefaultFenceTimeout, 5 s, unless
// set; a negative value skips it). It is not cut short by the caller's
// context, whose deadline passing is often why the write is ambiguous: an
// answer given before the outcome is final would make reading the session
// back useless. An ambiguous write can therefore return up to FenceTimeout
// after the caller's deadline. If the wait is skipped, runs out or cannot
// be done (the server is unreachable), the error also wraps ErrNotFinal: a
// caller with tight deadlines sets a small FenceTimeout and accepts
// ErrNotFinal when it is exceeded.
//
// Load and Scan only read, so their
// failures are always definite. A statement the server aborts because it
// deadlocked with a concurrent one (two ChangeIDs swapping IDs) or failed to
// serialize is rolled back, so it is run again, with the same clock
// reading, a few times before its error is returned.
//
// PostgreSQL 12 or later is required. The table is created by Migrate, or by running MigrationSQL with your own
// migration tool. Ping checks both the connection and that the table has the
// shape this package needs, for readiness probes.
package pgstore

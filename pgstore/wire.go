package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/store"
)

// pgstore sends its statements through pgconn, the layer under pgx.Conn:
// each is prepared once per connection under a name of its own, its
// parameters are encoded by hand in binary and its results decoded by hand.
// A session store runs a handful of fixed statements over a few column
// types, so pgx's general machinery (a type map consulted per argument,
// reflection-driven scanning, boxing every argument in an interface) is
// pure overhead here: skipping it cuts a Load from 13 allocations to 3 and
// is what puts pgstore ahead of stores that do less (bench/BENCHMARKS.md).
//
// The hand-written codecs are safe because every statement declares the
// types it encodes and decodes, and the server's description of the
// prepared statement is checked against them before anything is bound:
// a table whose columns differ from MigrationSQL's fails with
// ErrTableShape, having executed nothing, instead of being misread.

// statement is one SQL statement of a Store and the wire types it assumes.
type statement struct {
	name   string   // prepared statement name, unique to the SQL text
	sql    string   // the text, for preparing and for tracers
	params []uint32 // OIDs of the parameters, in the order encoded
	result []uint32 // OIDs of the result columns, in the order decoded
}

func newStatement(sql string, params, result []uint32) statement {
	sum := sha256.Sum256([]byte(sql))
	return statement{name: "hourglass_" + hex.EncodeToString(sum[:12]), sql: sql, params: params, result: result}
}

// The wire types pgstore uses.
const (
	oidBool        = pgtype.BoolOID
	oidBytea       = pgtype.ByteaOID
	oidInt4        = pgtype.Int4OID
	oidInt8        = pgtype.Int8OID
	oidText        = pgtype.TextOID
	oidTimestamptz = pgtype.TimestamptzOID
	oidTextArray   = pgtype.TextArrayOID
	// oidVoid is the result type of pg_advisory_xact_lock.
	oidVoid = 2278
)

// binaryFormat asks for every parameter and result column in binary.
var binaryFormat = []int16{pgtype.BinaryFormatCode}

// args holds a statement's encoded parameters. The values point into the
// caller's memory (ID, state) or into scratch (instants, the limit), so
// encoding costs one allocation whatever the statement (an array of IDs,
// RevokeAll's alone, costs one more).
type args struct {
	vals    [8][]byte
	n       int
	scratch [32]byte
	used    int
}

func (a *args) bytes(b []byte) *args { a.vals[a.n] = b; a.n++; return a }

// text adds a text parameter; its binary format is the UTF-8 bytes.
func (a *args) text(s string) *args { return a.bytes([]byte(s)) }

// int8 adds a bigint parameter.
func (a *args) int8(v int64) *args {
	b := a.scratch[a.used : a.used+8 : a.used+8]
	a.used += 8
	binary.BigEndian.PutUint64(b, uint64(v))
	return a.bytes(b)
}

// instant adds a timestamptz parameter: microseconds since 2000-01-01 UTC,
// an absolute instant that no TimeZone setting reinterprets.
func (a *args) instant(t time.Time) *args { return a.int8(micros(t)) }

// textArray adds a text[] parameter: a one-dimensional array without NULLs
// (an empty one has no dimensions), in the binary format of array_send.
func (a *args) textArray(ids []store.ID) *args {
	if len(ids) == 0 {
		// ndim 0, no NULLs, element type text.
		return a.bytes([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, oidText})
	}
	n := 20
	for _, id := range ids {
		n += 4 + len(id)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, 1) // dimensions
	b = binary.BigEndian.AppendUint32(b, 0) // no NULLs
	b = binary.BigEndian.AppendUint32(b, oidText)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	b = binary.BigEndian.AppendUint32(b, 1) // lower bound
	for _, id := range ids {
		b = binary.BigEndian.AppendUint32(b, uint32(len(id)))
		b = append(b, id...)
	}
	return a.bytes(b)
}

// null adds a NULL parameter.
func (a *args) null() *args { return a.bytes(nil) }

// list returns the encoded parameters.
func (a *args) list() [][]byte { return a.vals[:a.n] }

// pgEpochMicros is 2000-01-01 UTC, PostgreSQL's epoch, in Unix microseconds.
const pgEpochMicros = 946_684_800 * 1_000_000

// micros is t on PostgreSQL's timestamptz scale. store.Instant has already
// dropped anything below a microsecond.
func micros(t time.Time) int64 {
	return t.Unix()*1_000_000 + int64(t.Nanosecond()/1000) - pgEpochMicros
}

// errInfinity: a timestamptz column holds ±infinity, which pgstore never
// writes and a time.Time cannot carry.
var errInfinity = errors.New("expires is infinity, which pgstore never writes")

// decodeMicros reads a binary timestamptz (or bigint) value.
func decodeMicros(v []byte) (int64, error) { return decodeInt8(v) }

// decodeInt8 reads a binary bigint: 8 bytes, big-endian, two's complement.
// NULL arrives as nil and is refused like any other length.
func decodeInt8(v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: an 8-byte value arrived as %d bytes", ErrTableShape, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// errBadVersion: the version column holds a value below 1, which pgstore
// never writes (versions start at 1 or more and only grow).
var errBadVersion = errors.New("version below 1, which pgstore never writes")

// decodeVersion reads the version column.
func decodeVersion(v []byte) (uint64, error) {
	n, err := decodeInt8(v)
	if err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("%w: %d", errBadVersion, n)
	}
	return uint64(n), nil
}

// versionParam is a version as the bigint the version column holds. No
// row is ever past math.MaxInt64: a first version is at most 2^62
// (store.FirstVersion), and it would take 2^62 writes more. A caller's
// larger version wraps to a negative number, which no row has either, so
// it conflicts as any other wrong version does.
func versionParam(v uint64) int64 { return int64(v) }

// PostgreSQL's timestamptz range, 4714-11-24 BC up to 294277-01-01, in
// microseconds from 2000-01-01: a value outside it is not one the server
// sends. (The end is past what time.Time.UnixMicro can represent, hence
// the literal: PostgreSQL's END_TIMESTAMP.)
var (
	minInstantMicros = time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC).UnixMicro() - pgEpochMicros
	endInstantMicros = int64(9_223_371_331_200_000_000)
)

// decodeInstant reads a binary timestamptz into a UTC time.Time.
func decodeInstant(v []byte) (time.Time, error) {
	us, err := decodeMicros(v)
	if err != nil {
		return time.Time{}, err
	}
	if us == math.MaxInt64 || us == math.MinInt64 {
		return time.Time{}, errInfinity
	}
	if us < minInstantMicros || us >= endInstantMicros {
		return time.Time{}, fmt.Errorf("expires is %d microseconds from 2000-01-01, outside PostgreSQL's timestamptz range", us)
	}
	// Seconds and the remainder apart: us + pgEpochMicros can overflow
	// near the end of the range.
	return time.Unix(pgEpochMicros/1_000_000+us/1_000_000, us%1_000_000*1000).UTC(), nil
}

// decodeBool reads a binary boolean.
func decodeBool(v []byte) (bool, error) {
	if len(v) != 1 {
		return false, fmt.Errorf("%w: a boolean arrived as %d bytes", ErrTableShape, len(v))
	}
	return v[0] != 0, nil
}

// decodeOwner reads the owner column: NULL (nil) is no owner.
func decodeOwner(v []byte) store.Owner {
	if len(v) == 0 {
		return ""
	}
	return store.Owner(v)
}

// runErr tells a failure before the statement could run from one of the
// statement itself: only the latter may have changed anything.
type runErr struct {
	err      error
	executed bool // the Bind/Execute was sent: the statement may have run
}

// run executes st on conn with the encoded parameters, calling row for each
// result row (the values are valid only during the call). The statement is
// prepared on first use on the connection; pgx.Conn remembers it.
func (s *Store) run(ctx context.Context, conn *pgxpool.Conn, st *statement, params [][]byte, row func([][]byte) error) (pgconn.CommandTag, *runErr) {
	for attempt := 1; ; attempt++ {
		tag, rerr := s.runOnce(ctx, conn, st, params, row)
		if rerr == nil || attempt == 2 || !staleStatement(rerr.err) {
			return tag, rerr
		}
		// The server no longer has the statement pgx.Conn remembers (it
		// was deallocated behind pgx's back), or its plan no longer fits
		// the table: in both cases the server refused it before running
		// it. Forget it and prepare it afresh, once.
		if err := conn.Conn().Deallocate(ctx, st.name); err != nil {
			return tag, &runErr{err: err}
		}
	}
}

func (s *Store) runOnce(ctx context.Context, conn *pgxpool.Conn, st *statement, params [][]byte, row func([][]byte) error) (pgconn.CommandTag, *runErr) {
	c := conn.Conn()
	sd, err := c.Prepare(ctx, st.name, st.sql)
	if err != nil {
		return pgconn.CommandTag{}, &runErr{err: err}
	}
	if err := st.check(sd); err != nil {
		return pgconn.CommandTag{}, &runErr{err: err}
	}
	tracer := s.tracer
	if tracer != nil {
		// Arguments are withheld on purpose: session IDs are credentials
		// and states are private, neither belongs in traces or logs.
		ctx = tracer.TraceQueryStart(ctx, c, pgx.TraceQueryStartData{SQL: st.sql})
	}
	rr := c.PgConn().ExecStatement(ctx, sd, params, binaryFormat, binaryFormat)
	var rowErr error
	for rr.NextRow() {
		if rowErr == nil && row != nil {
			rowErr = row(rr.Values())
		}
	}
	tag, err := rr.Close()
	// Before anyone sees it, tracer included: the server's detail may
	// quote a row (scrub.go).
	err = scrub(err)
	if tracer != nil {
		tracer.TraceQueryEnd(ctx, c, pgx.TraceQueryEndData{CommandTag: tag, Err: err})
	}
	switch {
	case err != nil:
		return tag, &runErr{err: err, executed: true}
	case rowErr != nil:
		return tag, &runErr{err: rowErr, executed: true}
	}
	return tag, nil
}

// staleStatement reports the server refusing a prepared statement it
// cannot run as prepared: 26000 (it does not exist on the connection) or
// 0A000 "cached plan must not change result type" (the table was altered).
func staleStatement(err error) bool {
	code := sqlState(err)
	return code == "26000" || code == "0A000"
}

// check compares the server's description of the prepared statement with
// the types st encodes and decodes.
func (st *statement) check(sd *pgconn.StatementDescription) error {
	if len(sd.ParamOIDs) != len(st.params) || len(sd.Fields) != len(st.result) {
		return fmt.Errorf("%w (Ping describes the differences): the statement takes %d parameters and returns %d columns, want %d and %d",
			ErrTableShape, len(sd.ParamOIDs), len(sd.Fields), len(st.params), len(st.result))
	}
	for i, oid := range st.params {
		if sd.ParamOIDs[i] != oid {
			return fmt.Errorf("%w (Ping describes the differences): parameter $%d is %s, want %s",
				ErrTableShape, i+1, typeName(sd.ParamOIDs[i]), typeName(oid))
		}
	}
	for i, oid := range st.result {
		if sd.Fields[i].DataTypeOID != oid {
			return fmt.Errorf("%w (Ping describes the differences): column %s is %s, want %s",
				ErrTableShape, sd.Fields[i].Name, typeName(sd.Fields[i].DataTypeOID), typeName(oid))
		}
	}
	return nil
}

// typeMap names types in error messages.
var typeMap = pgtype.NewMap()

func typeName(oid uint32) string {
	if t, ok := typeMap.TypeForOID(oid); ok {
		return t.Name
	}
	return fmt.Sprintf("type OID %d", oid)
}

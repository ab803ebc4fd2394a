package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// The hand-written timestamptz codec must agree with pgx's, which is the
// reference: same bytes out, same instant back, at any epoch.
func TestInstantCodecMatchesPgx(t *testing.T) {
	instants := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
		time.Unix(-1, 999_999_000),
		time.Date(1999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC),
		t0,
		time.Date(2100, 6, 30, 12, 0, 0, 123_456_000, time.FixedZone("Tokyo", 9*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
	}
	for _, in := range instants {
		var a args
		got := a.instant(in).list()[0]
		want, err := typeMap.Encode(oidTimestamptz, pgtype.BinaryFormatCode, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%v: encoded %x, pgx encodes %x", in, got, want)
		}
		back, err := decodeInstant(got)
		if err != nil || !back.Equal(in) || back.Location() != time.UTC {
			t.Errorf("%v: decoded as %v (%v), %v", in, back, back.Location(), err)
		}
	}
}

func TestDecodeInstantRejects(t *testing.T) {
	for _, v := range []int64{math.MaxInt64, math.MinInt64} {
		if _, err := decodeInstant(binary.BigEndian.AppendUint64(nil, uint64(v))); !errors.Is(err, errInfinity) {
			t.Errorf("%d: %v, want errInfinity", v, err)
		}
	}
	// The ends of PostgreSQL's range: the last instant in, the first out.
	last, err := decodeInstant(binary.BigEndian.AppendUint64(nil, uint64(endInstantMicros-1)))
	if want := time.Date(294276, 12, 31, 23, 59, 59, 999_999_000, time.UTC); err != nil || !last.Equal(want) {
		t.Errorf("last instant: %v, %v; want %v", last, err, want)
	}
	first, err := decodeInstant(binary.BigEndian.AppendUint64(nil, uint64(minInstantMicros)))
	if want := time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC); err != nil || !first.Equal(want) {
		t.Errorf("first instant: %v, %v; want %v", first, err, want)
	}
	for _, v := range []int64{endInstantMicros, minInstantMicros - 1} {
		if _, err := decodeInstant(binary.BigEndian.AppendUint64(nil, uint64(v))); err == nil || !strings.Contains(err.Error(), "outside PostgreSQL's timestamptz range") {
			t.Errorf("%d: %v, want out of range", v, err)
		}
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 9)} {
		if _, err := decodeInstant(b); !errors.Is(err, ErrTableShape) {
			t.Errorf("%d bytes: %v, want ErrTableShape", len(b), err)
		}
	}
}

// Whatever bytes arrive, decodeInstant either errs or agrees with pgx.
func FuzzDecodeInstant(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(binary.BigEndian.AppendUint64(nil, math.MaxInt64))
	f.Add(binary.BigEndian.AppendUint64(nil, uint64(micros(t0))))
	f.Add([]byte{1})
	f.Add(binary.BigEndian.AppendUint64(nil, uint64(endInstantMicros-1)))
	f.Add(binary.BigEndian.AppendUint64(nil, uint64(minInstantMicros-1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeInstant(b)
		var want pgtype.Timestamptz
		perr := typeMap.Scan(oidTimestamptz, pgtype.BinaryFormatCode, b, &want)
		switch {
		case err != nil:
			if perr == nil && want.InfinityModifier == pgtype.Finite {
				t.Fatalf("%x: rejected (%v), pgx reads %v", b, err, want.Time)
			}
		case perr != nil:
			t.Fatalf("%x: read as %v, pgx rejects it: %v", b, got, perr)
		case !got.Equal(want.Time):
			t.Fatalf("%x: read as %v, pgx reads %v", b, got, want.Time)
		}
	})
}

// The hand-written bigint codec (limits, versions, counts) must agree
// with pgx's: same bytes out, same number back.
func TestInt8CodecMatchesPgx(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 2, 255, 256, 1 << 31, -1 << 31, math.MaxInt64, math.MinInt64, versionParam(math.MaxUint64), versionParam(1<<63 + 5)} {
		var a args
		got := a.int8(v).list()[0]
		want, err := typeMap.Encode(oidInt8, pgtype.BinaryFormatCode, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d: encoded %x, pgx encodes %x", v, got, want)
		}
		back, err := decodeInt8(got)
		if err != nil || back != v {
			t.Errorf("%d: decoded as %d, %v", v, back, err)
		}
		version, err := decodeVersion(got)
		switch {
		case v >= 1 && (err != nil || version != uint64(v)):
			t.Errorf("version %d: decoded as %d, %v", v, version, err)
		case v < 1 && !errors.Is(err, errBadVersion):
			t.Errorf("version %d: %d, %v; want errBadVersion", v, version, err)
		}
	}
	// A caller's version past any bigint wraps to one no row has.
	for _, v := range []uint64{1 << 63, math.MaxUint64} {
		if p := versionParam(v); p >= 1 {
			t.Errorf("versionParam(%d) = %d, which a row could hold", v, p)
		}
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 9)} {
		if _, err := decodeVersion(b); !errors.Is(err, ErrTableShape) {
			t.Errorf("%d bytes: %v, want ErrTableShape", len(b), err)
		}
	}
}

// Whatever bytes arrive, decodeInt8 either errs or agrees with pgx, and
// decodeVersion also refuses what is below 1.
func FuzzDecodeVersion(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(binary.BigEndian.AppendUint64(nil, math.MaxUint64))
	f.Add(binary.BigEndian.AppendUint64(nil, math.MaxInt64))
	f.Add([]byte{1})
	f.Add([]byte(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeInt8(b)
		v, verr := decodeVersion(b)
		var want int64
		perr := typeMap.Scan(oidInt8, pgtype.BinaryFormatCode, b, &want)
		switch {
		case (err == nil) != (perr == nil):
			t.Fatalf("%x: decodeInt8 %d, %v; pgx %d, %v", b, n, err, want, perr)
		case err == nil && n != want:
			t.Fatalf("%x: read as %d, pgx reads %d", b, n, want)
		case err != nil && verr == nil:
			t.Fatalf("%x: decodeVersion read %d where decodeInt8 failed", b, v)
		case err == nil && want >= 1 && (verr != nil || v != uint64(want)):
			t.Fatalf("%x: version %d, %v; pgx reads %d", b, v, verr, want)
		case err == nil && want < 1 && verr == nil:
			t.Fatalf("%x: version %d accepted, pgx reads %d", b, v, want)
		}
	})
}

// onePool is a pool of one connection on t's schema, so that what a test
// does to "the" connection is what the store uses next.
func onePool(t *testing.T, configure func(*pgxpool.Config)) *pgxpool.Pool {
	return siblingPool(t, func(c *pgxpool.Config) {
		c.MaxConns = 1
		if configure != nil {
			configure(c)
		}
	})
}

// A prepared statement the server dropped behind pgx's back (DEALLOCATE
// ALL, say from a tool sharing the connection) is prepared again, and the
// operation succeeds.
func TestStatementDeallocatedBehindPgx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := onePool(t, nil)
	clk := clock.NewSim(t0)
	s := newStoreOn(t, pool, Options{Clock: clk})
	deallocate := func() {
		t.Helper()
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		if _, err := c.Conn().PgConn().Exec(ctx, "DEALLOCATE ALL").ReadAll(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(ctx, "a", []byte("A"), time.Hour); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"create", func() error { return s.Create(ctx, "b", []byte("B"), time.Hour) }},
		{"load", func() error { _, err := s.Load(ctx, "a"); return err }},
		{"update", func() error { return s.Update(ctx, "a", []byte("A2"), time.Hour) }},
		{"update ttl", func() error { return s.UpdateTTL(ctx, "a", 2*time.Hour) }},
		{"update if", func() error {
			rec, err := s.Load(ctx, "a")
			if err == nil {
				_, err = s.UpdateIf(ctx, "a", rec.Version, []byte("A2"), store.KeepTTL)
			}
			return err
		}},
		{"change id if", func() error { // there and back
			rec, err := s.Load(ctx, "a")
			if err == nil {
				_, err = s.ChangeIDIf(ctx, "a", "a2", rec.Version, []byte("A2"))
			}
			if err == nil {
				_, err = s.ChangeIDIf(ctx, "a2", "a", rec.Version+1, []byte("A2"))
			}
			return err
		}},
		{"change id if to self", func() error {
			if _, err := s.ChangeIDIf(ctx, "a", "a", 1, nil); !errors.Is(err, store.ErrConflict) {
				return err
			}
			return nil
		}},
		{"scan", func() error {
			ids, err := s.Scan(ctx, "", 10)
			if err == nil && len(ids) != 2 {
				err = fmt.Errorf("scanned %q, want a and b", ids)
			}
			return err
		}},
		{"change id", func() error { return s.ChangeID(ctx, "b", "c") }},
		{"change to self", func() error {
			if err := s.ChangeID(ctx, "c", "c"); !errors.Is(err, store.ErrDuplicateID) {
				return err
			}
			return nil
		}},
		{"delete", func() error { return s.Delete(ctx, "c") }},
		{"delete expired", func() error { _, err := s.DeleteExpired(ctx, 10); return err }},
	}
	for _, step := range steps {
		if err := step.do(); err != nil { // prepares the statement
			t.Fatalf("%s: %v", step.name, err)
		}
		deallocate()
		if err := step.do(); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrDuplicateID) {
			t.Errorf("%s after DEALLOCATE ALL: %v", step.name, err)
		}
	}
	rec, err := s.Load(ctx, "a")
	if err != nil || string(rec.State) != "A2" || !rec.Expires.Equal(clk.Now().Add(2*time.Hour)) {
		t.Errorf("Load(a) = %+v, %v", rec, err)
	}
}

// A table altered under prepared statements so that a result column's type
// no longer fits makes the server refuse the prepared read (0A000); it is
// prepared again, checked, and fails with a definite ErrTableShape rather
// than being misread. (A prepared write has no result type to change:
// PostgreSQL replans it with the parameter types it was prepared with, as
// it would pgx's own statement cache. Ping is the check for that.)
func TestTableAlteredUnderPreparedStatements(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := onePool(t, nil)
	clk := clock.NewSim(t0)
	s := newStoreOn(t, pool, Options{Clock: clk})
	if err := s.Create(ctx, "a", []byte("A"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ALTER TABLE "+s.Table()+" ALTER COLUMN state TYPE text USING encode(state, 'escape')"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "a"); !errors.Is(err, ErrTableShape) || !strings.Contains(err.Error(), "column state is text, want bytea") {
		t.Errorf("Load after ALTER: %v, want ErrTableShape about state", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrTableShape) {
		t.Errorf("Ping after ALTER: %v, want ErrTableShape", err)
	}
}

// On a table whose types differ from MigrationSQL's, every operation fails
// with ErrTableShape before running anything: the codecs never misread a
// column or write a value the table would take differently.
func TestWrongTypesNeverExecute(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := testPool(t)
	clk := clock.NewSim(t0)
	table := "wrong_types"
	if _, err := pool.Exec(ctx, `CREATE TABLE `+table+` (id text COLLATE "C" PRIMARY KEY, state text NOT NULL, expires timestamp NOT NULL);
		INSERT INTO `+table+` VALUES ('a', 'A', '2001-01-01'), ('b', 'B', '2999-01-01')`); err != nil {
		t.Fatal(err)
	}
	s, err := New(pool, Options{Clock: clk, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"create":         func() error { return s.Create(ctx, "c", []byte("C"), time.Hour) },
		"load":           func() error { _, err := s.Load(ctx, "b"); return err },
		"update":         func() error { return s.Update(ctx, "b", []byte("X"), time.Hour) },
		"update ttl":     func() error { return s.UpdateTTL(ctx, "b", time.Hour) },
		"delete":         func() error { return s.Delete(ctx, "b") },
		"change id":      func() error { return s.ChangeID(ctx, "b", "d") },
		"change to self": func() error { return s.ChangeID(ctx, "b", "b") },
		"delete expired": func() error { _, err := s.DeleteExpired(ctx, 0); return err },
		"create owned":   func() error { return s.CreateOwned(ctx, "c", "u", []byte("C"), time.Hour, 0) },
		"create capped":  func() error { return s.CreateOwned(ctx, "c", "u", []byte("C"), time.Hour, 2) },
		"cycle":          func() error { return s.Cycle(ctx, "b", "d", "", []byte("D"), time.Hour, 0) },
		"cycle capped":   func() error { return s.Cycle(ctx, "b", "d", "u", []byte("D"), time.Hour, 2) },
		"list":           func() error { _, err := s.List(ctx, "u"); return err },
		"revoke":         func() error { return s.Revoke(ctx, "u", store.HandleOf("b")) },
		"revoke all":     func() error { _, err := s.RevokeAll(ctx, "u"); return err },
		"touch":          func() error { _, err := s.Touch(ctx, "b", time.Hour, 0); return err },
		"update if":      func() error { _, err := s.UpdateIf(ctx, "b", 1, []byte("X"), time.Hour); return err },
		"change id if":   func() error { _, err := s.ChangeIDIf(ctx, "b", "d", 1, []byte("X")); return err },
		"change if self": func() error { _, err := s.ChangeIDIf(ctx, "b", "b", 1, []byte("X")); return err },
		"scan":           func() error { _, err := s.Scan(ctx, "", 10); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, ErrTableShape) || store.IsAmbiguous(err) {
			t.Errorf("%s: %v, want a definite ErrTableShape", name, err)
		}
	}
	var got string
	if err := pool.QueryRow(ctx, "SELECT string_agg(id || state || expires::text, ',' ORDER BY id) FROM "+table).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "aA2001-01-01 00:00:00,bB2999-01-01 00:00:00"; got != want {
		t.Errorf("table after the failed operations: %s, want %s", got, want)
	}
}

// The shape check of each prepared statement covers the version column:
// on a table whose version is an integer (4 bytes, where the codec reads
// 8), every statement that returns a version fails with ErrTableShape
// before running, and changes nothing.
func TestVersionOfTheWrongTypeIsNeverRead(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := testPool(t)
	table := "int4_versions"
	if _, err := pool.Exec(ctx, `CREATE TABLE `+table+` (id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL,
		expires timestamptz NOT NULL, owner text COLLATE "C", version integer NOT NULL DEFAULT 1);
		INSERT INTO `+table+` (id, state, expires) VALUES ('a', 'A', '2999-01-01'), ('b', 'B', '2999-01-01')`); err != nil {
		t.Fatal(err)
	}
	s, err := New(pool, Options{Clock: clock.NewSim(t0), Table: table})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"load":           func() error { _, err := s.Load(ctx, "a"); return err },
		"touch":          func() error { _, err := s.Touch(ctx, "a", time.Hour, 0); return err },
		"touch read":     func() error { _, err := s.Touch(ctx, "a", time.Hour, time.Hour); return err },
		"update if":      func() error { _, err := s.UpdateIf(ctx, "a", 1, nil, time.Hour); return err },
		"change id":      func() error { return s.ChangeID(ctx, "a", "c") },
		"change to self": func() error { return s.ChangeID(ctx, "a", "a") },
		"change id if":   func() error { _, err := s.ChangeIDIf(ctx, "a", "c", 1, nil); return err },
		"cycle":          func() error { return s.Cycle(ctx, "a", "c", "", nil, time.Hour, 0) },
		"cycle capped":   func() error { return s.Cycle(ctx, "a", "c", "u", nil, time.Hour, 2) },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, ErrTableShape) || store.IsAmbiguous(err) || !strings.Contains(err.Error(), "int4, want int8") {
			t.Errorf("%s: %v, want a definite ErrTableShape about the version", name, err)
		}
	}
	var got string
	if err := pool.QueryRow(ctx, "SELECT string_agg(id || version, ',' ORDER BY id) FROM "+table).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "a1,b1" {
		t.Errorf("table after the failed operations: %s, want a1,b1", got)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrTableShape) || !strings.Contains(err.Error(), "column version is integer, want bigint") {
		t.Errorf("Ping: %v", err)
	}
}

// traceRecorder is a pgx.QueryTracer that keeps what it is given.
type traceRecorder struct {
	mu     sync.Mutex
	starts []pgx.TraceQueryStartData
	ends   []pgx.TraceQueryEndData
}

func (r *traceRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, d)
	return ctx
}

func (r *traceRecorder) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ends = append(r.ends, d)
}

// A tracer configured on the pool sees every statement and its outcome,
// but never the arguments: session IDs are credentials.
func TestTracerSeesStatementsNotArguments(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rec := &traceRecorder{}
	pool := siblingPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = rec })
	clk := clock.NewSim(t0)
	s := newStoreOn(t, pool, Options{Clock: clk})
	rec.mu.Lock()
	rec.starts, rec.ends = nil, nil // forget Migrate's statements
	rec.mu.Unlock()

	if err := s.Create(ctx, "secret-id", []byte("secret-state"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "secret-id"); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "secret-id", []byte("x"), time.Hour); !errors.Is(err, store.ErrDuplicateID) {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	// The second Create runs the same upsert, which leaves the live record
	// alone: no error at all, so nothing for the server to log either.
	want := []string{s.sql.create.sql, s.sql.load.sql, s.sql.create.sql}
	if len(rec.starts) != len(want) || len(rec.ends) != len(want) {
		t.Fatalf("%d starts and %d ends traced, want %d each", len(rec.starts), len(rec.ends), len(want))
	}
	for i, w := range want {
		if rec.starts[i].SQL != w || rec.starts[i].Args != nil {
			t.Errorf("trace %d: %q with %v, want %q without arguments", i, rec.starts[i].SQL, rec.starts[i].Args, w)
		}
		if err := rec.ends[i].Err; err != nil {
			t.Errorf("trace %d ended with %v", i, err)
		}
	}
	if rec.ends[0].CommandTag.RowsAffected() != 1 || rec.ends[2].CommandTag.RowsAffected() != 0 {
		t.Errorf("command tags %q, %q", rec.ends[0].CommandTag, rec.ends[2].CommandTag)
	}
	for _, d := range rec.starts {
		if strings.Contains(d.SQL, "secret") {
			t.Errorf("a traced statement carries session data: %q", d.SQL)
		}
	}
}

package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// Options configure a Store.
type Options struct {
	// Clock is the only source of time; nil means clock.Real().
	Clock clock.Clock
	// Schema qualifies the table; empty means the connection's search_path
	// decides. It must exist: Migrate creates only the table and its index.
	Schema string
	// Table is the session table; empty means DefaultTable.
	Table string
	// Limits bound what the store accepts; the zero value is the defaults.
	// Limits.MaxPerOwner is the cap of CreateOwned and Cycle when a call
	// gives none (0: no cap); a negative one makes New fail.
	Limits store.Limits
	// FenceTimeout bounds how long an ambiguous write waits for its
	// outcome to become final (see the package documentation), opening
	// its connection included; when it is spent the error also wraps
	// ErrNotFinal. Zero means DefaultFenceTimeout. A negative value means
	// no wait at all: every ambiguous write is returned at once, wrapping
	// ErrNotFinal.
	//
	// The wait does not stop at the caller's context deadline: that
	// deadline passing is often what made the write ambiguous, and
	// returning before the outcome is final would make reading the session
	// back useless. An ambiguous write can therefore return up to
	// FenceTimeout after the caller's deadline. A caller with tight
	// deadlines sets a small FenceTimeout and accepts ErrNotFinal when the
	// wait is cut short.
	FenceTimeout time.Duration
}

// Store is a store.Store on a PostgreSQL table. It is safe for concurrent
// use, by any number of goroutines and processes sharing the table.
type Store struct {
	pool *pgxpool.Pool
	// readClock is the injected clock's reading function; each operation
	// calls it exactly once.
	readClock func() time.Time
	limits    store.Limits
	sql       statements
	lockKey   int64
	// tracer is the pool's pgx.QueryTracer, if it has one: pgstore runs
	// its statements below pgx.Conn, so it calls the tracer itself.
	tracer pgx.QueryTracer
	// fenceTimeout is Options.FenceTimeout with the default applied.
	fenceTimeout time.Duration
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Pinger    = (*Store)(nil)
	_ store.Owners    = (*Store)(nil)
	_ store.Toucher   = (*Store)(nil)
	_ store.Versioner = (*Store)(nil)
	_ store.Scanner   = (*Store)(nil)
)

// New returns a Store on pool. It validates the names and the limits
// (a negative Limits.MaxPerOwner is store.ErrInvalidCap) and prepares the
// SQL but does not touch the database: call Migrate (or run MigrationSQL)
// to create or upgrade the table, and Ping to check it.
func New(pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: New: nil pool")
	}
	if opts.Limits.MaxPerOwner < 0 {
		return nil, fmt.Errorf("pgstore: New: %w: Limits.MaxPerOwner is %d (want at least 1, or 0 for no cap)", store.ErrInvalidCap, opts.Limits.MaxPerOwner)
	}
	st, err := buildStatements(opts.Schema, opts.Table)
	if err != nil {
		return nil, err
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real()
	}
	fenceTimeout := opts.FenceTimeout
	if fenceTimeout == 0 {
		fenceTimeout = DefaultFenceTimeout
	}
	// Config copies the configuration: read it once, not per statement.
	tracer, _ := pool.Config().ConnConfig.Tracer.(pgx.QueryTracer)
	return &Store{
		tracer:       tracer,
		pool:         pool,
		readClock:    clk.Now,
		limits:       opts.Limits.WithDefaults(),
		sql:          st,
		lockKey:      migrationLockKey(st.table),
		fenceTimeout: fenceTimeout,
	}, nil
}

// Table returns the table's name as used in SQL: quoted, and qualified when
// Options.Schema was given.
func (s *Store) Table() string { return s.sql.table }

// instant is the operation's one reading of the clock.
func (s *Store) instant() time.Time { return store.Instant(s.readClock()) }

// acquire takes a connection explicitly, rather than letting the pool do it
// inside Exec, so that a failure to get one is known to be definite.
func (s *Store) acquire(ctx context.Context, op string) (*pgxpool.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, notStarted(op, err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, notStarted(op, err)
	}
	return conn, nil
}

// write runs a data-modifying statement built from the operation's clock
// reading, calling row for each row it returns. A deadlock or
// serialization failure (two moves in opposite directions wait on each
// other and PostgreSQL aborts one; or the pool runs at a stricter
// isolation level) rolls the statement back, and it runs again on the same
// connection with the same parameters (and so the same clock reading), up
// to maxAttempts times: it then sees the winner's effect and gives the
// contract's answer instead of a generic error. No statement of pgstore
// raises unique_violation, on any path: there is nothing to retry for it.
func (s *Store) write(ctx context.Context, op string, st *statement, encode func(a *args, now time.Time), row func([][]byte) error) (pgconn.CommandTag, error) {
	return s.writeAt(ctx, op, st, s.instant(), encode, row)
}

// writeAt is write at a clock reading already taken: for an operation that
// may run its statement again and must not read the clock again.
func (s *Store) writeAt(ctx context.Context, op string, st *statement, now time.Time, encode func(a *args, now time.Time), row func([][]byte) error) (pgconn.CommandTag, error) {
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer conn.Release()
	var a args
	encode(&a, now)
	for attempt := 1; ; attempt++ {
		tag, rerr := s.run(ctx, conn, st, a.list(), row)
		switch {
		case rerr == nil:
			return tag, nil
		case attempt < maxAttempts && ctx.Err() == nil && isConflict(rerr.err):
			continue
		case !rerr.executed:
			// Preparing and checking the statement changes nothing.
			return tag, readFailed(op, rerr.err)
		}
		return tag, s.failedWrite(op, conn.Conn().PgConn().PID(), rerr.err)
	}
}

// read runs a statement that changes nothing: its failures are definite.
func (s *Store) read(ctx context.Context, op string, st *statement, a *args, row func([][]byte) error) (pgconn.CommandTag, error) {
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer conn.Release()
	tag, rerr := s.run(ctx, conn, st, a.list(), row)
	if rerr != nil {
		return tag, readFailed(op, rerr.err)
	}
	return tag, nil
}

// maxAttempts bounds how often a statement that lost a conflict is run.
const maxAttempts = 5

// maxReruns bounds how often an operation runs its statement again
// because what it read changed under it (a row moved or rewritten after
// the statement's snapshot, see moveSQL, Touch, UpdateIf and the owner
// statements): each rerun needs yet another concurrent write to the rows
// it is about.
const maxReruns = 20

// isConflict reports a deadlock or serialization failure.
func isConflict(err error) bool {
	code := sqlState(err)
	return code == "40P01" || code == "40001"
}

// sqlState is the SQLSTATE of a server error, or "". It is a function of
// its own so that the error target it declares escapes to the heap only on
// failure, not on every successful statement.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if err != nil && errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// Create stores a new session at its first version (store.FirstVersion),
// replacing an expired record under id, or fails with
// store.ErrDuplicateID if a live session has id.
func (s *Store) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := s.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	// The first version is numbered from the fields the outermost layer
	// was given (a layer over this store may have hashed the ID or sealed
	// the state), and the state is hashed before the clock is read, so
	// that the reading is as close to the statement as it can be.
	seed := store.VersionSeedOf(ctx, id, "", state)
	tag, err := s.write(ctx, "create", &s.sql.create, func(a *args, now time.Time) {
		expires := store.Expiry(now, ttl)
		a.text(string(id)).bytes(nonNil(state)).instant(expires).instant(now).int8(versionParam(seed.At(expires)))
	}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrDuplicateID
	}
	return nil
}

// Load returns the live session under id, or store.ErrNotFound.
func (s *Store) Load(ctx context.Context, id store.ID) (store.Record, error) {
	if err := id.Validate(); err != nil {
		return store.Record{}, err
	}
	var a args
	a.text(string(id)).instant(s.instant())
	return s.load(ctx, "load", &a)
}

// load runs the load statement with a ($1 id, $2 now).
func (s *Store) load(ctx context.Context, op string, a *args) (store.Record, error) {
	var rec store.Record
	tag, err := s.read(ctx, op, &s.sql.load, a, func(v [][]byte) error {
		return decodeRecord(&rec, v)
	})
	switch {
	case err != nil:
		return store.Record{}, err
	case tag.RowsAffected() == 0:
		return store.Record{}, store.ErrNotFound
	}
	return rec, nil
}

// decodeRecord reads a row of state, expires, owner and version. The values
// live in pgconn's read buffer until the next row: the state is copied.
func decodeRecord(rec *store.Record, v [][]byte) (err error) {
	rec.State = append(make([]byte, 0, len(v[0])), v[0]...)
	rec.Owner = decodeOwner(v[2])
	if rec.Expires, err = decodeInstant(v[1]); err != nil {
		return err
	}
	rec.Version, err = decodeVersion(v[3])
	return err
}

// Update replaces the state and expiry of a live session, or fails with
// store.ErrNotFound.
func (s *Store) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := s.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	tag, err := s.write(ctx, "update", &s.sql.update, func(a *args, now time.Time) {
		a.text(string(id)).bytes(nonNil(state)).instant(store.Expiry(now, ttl)).instant(now)
	}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// UpdateTTL moves the expiry of a live session to now+ttl, or fails with
// store.ErrNotFound.
func (s *Store) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if err := s.limits.CheckTTL(ttl); err != nil {
		return err
	}
	tag, err := s.write(ctx, "update ttl", &s.sql.updateTTL, func(a *args, now time.Time) {
		a.text(string(id)).instant(store.Expiry(now, ttl)).instant(now)
	}, nil)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Delete removes the record under id, live or expired, and reports
// store.ErrNotFound unless it was live.
func (s *Store) Delete(ctx context.Context, id store.ID) error {
	if err := id.Validate(); err != nil {
		return err
	}
	var now int64
	live := false
	tag, err := s.write(ctx, "delete", &s.sql.delete, func(a *args, t time.Time) {
		now = micros(t)
		a.text(string(id))
	}, func(v [][]byte) error {
		// Compared on the wire's scale, where ±infinity orders correctly.
		expires, err := decodeMicros(v[0])
		live = err == nil && expires > now
		return err
	})
	switch {
	case err != nil:
		return err
	case tag.RowsAffected() == 0 || !live:
		return store.ErrNotFound
	}
	return nil
}

// ChangeID moves a live session from old to new atomically, keeping its
// state, expiry and owner and replacing an expired record at new. It fails
// with store.ErrNotFound if old is not live and store.ErrDuplicateID if new
// is.
func (s *Store) ChangeID(ctx context.Context, old, new store.ID) error {
	if err := old.Validate(); err != nil {
		return err
	}
	if err := new.Validate(); err != nil {
		return err
	}
	if old == new {
		_, err := s.changeToSelf(ctx, "change id", old)
		return err
	}
	now := s.instant() // once, however often the statement runs
	_, err := s.move(ctx, "change id", 0, func() (move, error) {
		var m move
		_, err := s.writeAt(ctx, "change id", &s.sql.changeID, now, func(a *args, now time.Time) {
			a.text(string(old)).text(string(new)).instant(now)
		}, m.read)
		return m, err
	})
	return err
}

// changeToSelf answers a move of a record onto itself (ChangeID(id, id),
// Cycle, ChangeIDIf) with a read: it changes nothing, and the contract's
// answer depends only on whether the record is live (ErrDuplicateID, and
// its version is returned) or not (ErrNotFound).
func (s *Store) changeToSelf(ctx context.Context, op string, id store.ID) (uint64, error) {
	var a args
	a.text(string(id)).instant(s.instant())
	var version uint64
	tag, err := s.read(ctx, op, &s.sql.liveVersion, &a, func(v [][]byte) (err error) {
		version, err = decodeVersion(v[0])
		return err
	})
	switch {
	case err != nil:
		return 0, err
	case tag.RowsAffected() == 1:
		return version, store.ErrDuplicateID
	}
	return 0, store.ErrNotFound
}

// DeleteExpired removes up to limit expired records (0: all of them),
// earliest expiry first and ties in byte order of ID, and returns how many
// it removed: the earliest expired records of the table as it is when the
// batch commits. It runs in a transaction of its own, and runs again if a
// check on a fresh snapshot finds an expired record it should have taken
// (one committed, or renamed, while it waited for a row). A row
// another transaction holds is waited for, not skipped (its holder may be
// about to make it live, or roll back and leave it expired), so several
// DeleteExpired at once take turns on the rows they share. To clear a
// backlog, use Sweep.
func (s *Store) DeleteExpired(ctx context.Context, limit int) (int, error) {
	if err := store.CheckLimit(limit); err != nil {
		return 0, err
	}
	now := s.instant()
	var end batchEnd
	_, err := s.writeSnapshot(ctx, "delete expired", &s.sql.deleteExpired, now, func(a *args, now time.Time) {
		a.instant(now)
		if limit > 0 {
			a.int8(int64(limit))
		} else {
			a.null() // LIMIT NULL is LIMIT ALL
		}
	}, end.read, func(a *args) {
		end.check(a, now, math.MinInt64, limit > 0 && end.n == int64(limit))
	})
	if err != nil {
		return 0, err
	}
	return int(end.n), nil
}

// nonNil turns a nil state into an empty one: pgx sends a nil slice as
// NULL, which the NOT NULL column would reject.
func nonNil(state []byte) []byte {
	if state == nil {
		return []byte{}
	}
	return state
}

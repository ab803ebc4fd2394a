package pgstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hourglass-go/hourglass/store"
)

// Errors about the store's configuration and table, as opposed to the
// contract's outcomes (package store). Test with errors.Is.
var (
	// ErrInvalidName: Options.Table or Options.Schema cannot be used; the
	// error is a *NameError saying why.
	ErrInvalidName = errors.New("pgstore: invalid table or schema name")
	// ErrTableMissing: the session table does not exist (run Migrate).
	ErrTableMissing = errors.New("pgstore: session table does not exist")
	// ErrTableShape: the session table exists but its columns or keys are
	// not what this package needs.
	ErrTableShape = errors.New("pgstore: session table has the wrong shape")
)

// NameError reports a rejected table or schema name.
type NameError struct {
	Field  string // "table" or "schema"
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	name := e.Name
	if len(name) > 80 {
		name = name[:80] + "..."
	}
	return fmt.Sprintf("pgstore: invalid %s name %q: %s", e.Field, name, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidName) hold.
func (e *NameError) Unwrap() error { return ErrInvalidName }

// notStarted wraps an error that happened before the statement could reach
// the server: the operation had no effect.
func notStarted(op string, err error) error {
	return fmt.Errorf("pgstore: %s: %w", op, scrub(err))
}

// readFailed wraps the failure of a statement that changes nothing: a read
// is definite whatever happened to it.
func readFailed(op string, err error) error {
	return fmt.Errorf("pgstore: %s: %w", op, explain(scrub(err)))
}

// writeFailed wraps the failure of a statement that may have been sent. Only
// an ordinary error answer from the server proves it was rolled back;
// anything else may hide a commit whose acknowledgement was lost.
func writeFailed(op string, err error) error {
	err = explain(scrub(err))
	if !rolledBack(err) {
		err = store.Ambiguous(err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// rolledBack reports whether err is the server's answer that the statement
// failed and was rolled back. FATAL and PANIC errors end the session (admin
// shutdown, crash) and class 08 is about the connection: with those, the
// server may have committed before it or the link went.
func rolledBack(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	severity := pgErr.SeverityUnlocalized
	if severity == "" {
		severity = pgErr.Severity
	}
	switch strings.ToUpper(severity) {
	case "FATAL", "PANIC":
		return false
	}
	return !strings.HasPrefix(pgErr.Code, "08")
}

// explain adds ErrTableMissing or ErrTableShape to server errors that mean
// the table is absent or not what MigrationSQL creates, so that callers
// (and logs) see the cause rather than only a SQLSTATE.
func explain(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "42P01": // undefined_table
		return fmt.Errorf("%w (run Migrate or MigrationSQL first): %w", ErrTableMissing, err)
	case "42703", // undefined_column
		"42804", // datatype_mismatch
		"42883", // undefined_function: an operator for the wrong column type
		"42P10", // invalid_column_reference: no unique index for ON CONFLICT (id)
		"23502": // not_null_violation: a NOT NULL column this package does not fill
		return fmt.Errorf("%w (Ping describes the differences): %w", ErrTableShape, err)
	}
	return err
}

package pgstore

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Session IDs are credentials and states are private, so neither may
// reach an error, a log line or a trace. pgstore never sends them anywhere
// but as bound parameters, and its statements raise no error that quotes
// a row (no unique violation on any path: see the package documentation).
// A server error can still quote one when the table is not only
// pgstore's: a CHECK constraint or a NOT NULL column someone added puts
// "Failing row contains (id, state, ...)" in its detail, a trigger may
// raise a message built from the row. So every server error is scrubbed
// where it enters pgstore, before the tracer is told of it and before it
// is returned: the fields that can quote a value are withheld, and what
// is kept still says what happened (SQLSTATE, condition, constraint,
// table and column names).

// withheld replaces a field that may quote session data.
const withheld = "(withheld by pgstore: it may quote session data)"

// scrub withholds what every *pgconn.PgError in err's tree may quote of a
// row, and returns the error to use instead of err. The PgErrors are
// changed in place, so that what wraps them (pgconn's errors, which
// format themselves when asked) says nothing more; when a wrapper fixed
// its text before (fmt.Errorf does), err itself is replaced, by an error
// with that text redacted that unwraps to err. Scrubbing is for where a
// server error enters pgstore, once: a wrapper that fixed its text before
// an earlier scrub of the same PgError keeps it. It is idempotent.
func scrub(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	var quoted []string
	scrubTree(err, &quoted)
	if len(quoted) == 0 {
		return err
	}
	text := err.Error()
	redacted := text
	for _, q := range quoted {
		redacted = strings.ReplaceAll(redacted, q, withheld)
	}
	if redacted == text {
		return err
	}
	return &redactedError{text: redacted, err: err}
}

// redactedError is an error whose text was fixed before its PgError was
// scrubbed, with what the scrubbing withheld taken out of the text.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// scrubTree scrubs every *pgconn.PgError in err's tree, adding what it
// withheld to quoted.
func scrubTree(err error, quoted *[]string) {
	if pgErr, ok := err.(*pgconn.PgError); ok {
		scrubPgError(pgErr, quoted)
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if next := u.Unwrap(); next != nil {
			scrubTree(next, quoted)
		}
	case interface{ Unwrap() []error }:
		for _, next := range u.Unwrap() {
			if next != nil {
				scrubTree(next, quoted)
			}
		}
	}
}

// scrubPgError withholds Detail (a unique violation's "Key (id)=(...)", a
// check or not-null violation's "Failing row contains (...)"), Hint and
// Where (a trigger's RAISE sets them as it likes; Where is also the
// context of a function, which may quote its arguments) and
// InternalQuery; and the message of the errors whose message may quote a
// value: integrity violations (class 23), data exceptions (class 22, e.g.
// "invalid input syntax for type integer: "...""), and errors raised by
// PL/pgSQL code (class P0), which is anyone's. (A trigger raising another
// class with a value in its message is beyond what can be told apart.)
func scrubPgError(e *pgconn.PgError, quoted *[]string) {
	withhold := func(field *string) {
		if *field != "" && *field != withheld {
			*quoted = append(*quoted, *field)
			*field = withheld
		}
	}
	withhold(&e.Detail)
	withhold(&e.Hint)
	withhold(&e.Where)
	if e.InternalQuery != "" {
		*quoted = append(*quoted, e.InternalQuery)
		e.InternalQuery, e.InternalPosition = "", 0
	}
	if quotesValues(e.Code) {
		message := conditionName(e.Code) + " " + withheld
		if e.ConstraintName != "" {
			message = conditionName(e.Code) + " on constraint \"" + e.ConstraintName + "\" " + withheld
		}
		if e.Message != message {
			*quoted = append(*quoted, e.Message)
			e.Message = message
		}
	}
}

// quotesValues reports the SQLSTATE classes whose messages may quote a
// value.
func quotesValues(code string) bool {
	if len(code) < 2 {
		return false
	}
	switch code[:2] {
	case "22", "23", "P0":
		return true
	}
	return false
}

// conditionNames are PostgreSQL's names of the conditions of the classes
// quotesValues withholds messages of, for the most likely ones.
var conditionNames = map[string]string{
	"22001": "string_data_right_truncation",
	"22003": "numeric_value_out_of_range",
	"22007": "invalid_datetime_format",
	"22008": "datetime_field_overflow",
	"22012": "division_by_zero",
	"22021": "character_not_in_repertoire",
	"22P02": "invalid_text_representation",
	"22P05": "untranslatable_character",
	"23000": "integrity_constraint_violation",
	"23001": "restrict_violation",
	"23502": "not_null_violation",
	"23503": "foreign_key_violation",
	"23505": "unique_violation",
	"23514": "check_violation",
	"23P01": "exclusion_violation",
	"P0001": "raise_exception",
	"P0002": "no_data_found",
	"P0003": "too_many_rows",
	"P0004": "assert_failure",
}

// conditionName names a SQLSTATE, or its class when it has no name here.
func conditionName(code string) string {
	if name, ok := conditionNames[code]; ok {
		return name
	}
	switch code[:2] {
	case "22":
		return "data_exception"
	case "23":
		return "integrity_constraint_violation"
	}
	return "plpgsql_error"
}

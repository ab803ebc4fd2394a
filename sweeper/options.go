package sweeper

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// DefaultBatch is the batch size used when Options.Batch is zero: big enough
// that a step's fixed cost is amortised, small enough that no step holds the
// store's locks (memstore) or rows (pgstore) for long.
const DefaultBatch = 1000

// Options configure a Sweeper. Interval is required; every other field has a
// default.
type Options struct {
	// Interval is the time from the end of one run to the start of the next,
	// measured on Clock; the first run starts one Interval after Start. A run
	// ends when its last step returns and it has been logged, counted and
	// reported to OnRun; the wait for the next run starts then. Measuring
	// from the end, not from the start, means runs never overlap or queue up
	// however long a backlog takes to clear. It must be positive.
	Interval time.Duration

	// Batch is the most records one step removes. Zero means DefaultBatch;
	// negative is an error (the store's own "0 means no limit" is never
	// passed on, since an unbounded step is what batching exists to avoid).
	Batch int

	// Pause is the wait, on Clock, between two steps of a run, taken only
	// after a step that removed a full batch (one that removed fewer ends the
	// run). Zero means no pause: a run is one store.Sweep, which uses the
	// backend's own store.Sweeper if it has one. A positive Pause makes a run
	// a series of steps with a wait of Pause after each full one: the
	// batches of one sweep of the backend's if it is a store.Stepper
	// (pgstore is: each batch resumes where the last ended), else
	// DeleteExpired(ctx, Batch) calls. Negative is an error.
	Pause time.Duration

	// Clock is what the sweeper waits on, for Interval and Pause. Nil means
	// clock.Real(). It need not be the store's clock: the store judges expiry
	// by its own.
	Clock clock.Waiter

	// Logger receives a Warn record for every failed run (with the records
	// the run removed before failing, the error, whether it was ambiguous)
	// and a Debug record for every other run, including one cut short by
	// the sweeper stopping. Nil means slog.Default().
	Logger *slog.Logger

	// OnRun, if not nil, is called after every run that was not cut short by
	// the sweeper stopping, from the sweeper's goroutine and before the wait
	// for the next run starts, so it must not block for long. It suits
	// metrics and tests.
	OnRun func(Run)
}

// ErrInvalidOptions matches (errors.Is) every error Start returns for
// options it rejects; errors.As with *OptionError says which field and why.
var ErrInvalidOptions = errors.New("sweeper: invalid options")

// ErrNilStore is returned by Start when given no store.
var ErrNilStore = errors.New("sweeper: nil store")

// OptionError is an invalid field of Options. It matches ErrInvalidOptions
// under errors.Is; an invalid Batch also matches store.ErrInvalidLimit.
type OptionError struct {
	Field  string // name of the Options field
	Reason string // what is wrong with its value
	err    error  // an underlying sentinel, or nil
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("%v: %s %s", ErrInvalidOptions, e.Field, e.Reason)
}

// Is makes every OptionError match ErrInvalidOptions.
func (e *OptionError) Is(target error) bool { return target == ErrInvalidOptions }

// Unwrap returns the store sentinel the error also stands for, if any.
func (e *OptionError) Unwrap() error { return e.err }

// resolve checks o and returns it with defaults filled in.
func (o Options) resolve() (Options, error) {
	if o.Interval <= 0 {
		return o, &OptionError{Field: "Interval", Reason: fmt.Sprintf("is %v, want > 0", o.Interval)}
	}
	if o.Batch < 0 {
		return o, &OptionError{
			Field:  "Batch",
			Reason: fmt.Sprintf("is %d, want > 0 (or 0 for %d)", o.Batch, DefaultBatch),
			err:    store.ErrInvalidLimit,
		}
	}
	if o.Pause < 0 {
		return o, &OptionError{Field: "Pause", Reason: fmt.Sprintf("is %v, want >= 0", o.Pause)}
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

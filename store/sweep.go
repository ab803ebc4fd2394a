package store

import (
	"context"
	"fmt"
)

// Sweeper is implemented by a backend with its own way of removing a
// backlog of expired records in batches, cheaper than calling DeleteExpired
// until it runs dry (pgstore's resumes each batch where the last one
// ended). Call it through the Sweep function, which falls back on
// DeleteExpired for backends without one.
//
// Sweep removes every record that had expired when it started, at most
// batch records per step, earliest expiry first (ties by ID, byte order),
// and returns how many it removed. The steps are separate atomic
// operations, so other operations run between them, and a record written
// while a sweep runs with an expiry before the point the sweep has reached
// (by a writer whose clock is behind) may be left for the next one. A
// batch smaller than 1
// is ErrInvalidLimit. When a step fails, Sweep returns the records the
// completed steps removed together with that step's error, which says
// whether the step itself may have been applied: definite, it removed
// nothing; ambiguous, it may have removed up to batch more.
type Sweeper interface {
	Sweep(ctx context.Context, batch int) (int, error)
}

// CheckBatch returns ErrInvalidLimit unless batch is at least 1.
func CheckBatch(batch int) error {
	if batch < 1 {
		return fmt.Errorf("%w: batch %d, want at least 1", ErrInvalidLimit, batch)
	}
	return nil
}

// Sweep removes s's backlog of expired records batch at a time: through
// s's own Sweep if it is a Sweeper, else by calling DeleteExpired(ctx,
// batch) until it removes fewer than batch. See Sweeper for what it
// promises.
func Sweep(ctx context.Context, s Store, batch int) (int, error) {
	if sw, ok := s.(Sweeper); ok {
		return sw.Sweep(ctx, batch)
	}
	if err := CheckBatch(batch); err != nil {
		return 0, err
	}
	total := 0
	for {
		n, err := s.DeleteExpired(ctx, batch)
		if err != nil {
			return total, err
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// Stepper is implemented by a backend whose sweep can be taken a batch at
// a time, for a cleaner that pauses between batches (package sweeper):
// each batch resumes where the last one ended, as Sweeper's do, instead of
// starting over as a loop of DeleteExpired calls does.
type Stepper interface {
	NewSweep() SweepSteps
}

// SweepSteps is a sweep in progress, taken with Next: it removes what
// Sweep would have, at most batch records per call, of the records
// expired when the sweep began. Next reports how many it removed and
// whether the sweep is done (the batch came back short); a failed batch
// leaves the sweep where it was, and its error says, as Sweep's does,
// whether it may have removed up to batch records. Not safe for
// concurrent use.
type SweepSteps interface {
	Next(ctx context.Context, batch int) (removed int, done bool, err error)
}

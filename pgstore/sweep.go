package pgstore

import (
	"context"
	"math"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Sweep implements store.Sweeper: it removes every record that had expired
// when it was called, at most batch records per statement, earliest expiry
// first (ties in byte order of ID), and returns how many it removed. It is
// the way to work through a backlog of expired sessions while the store
// serves requests.
//
// Each batch is a statement and a transaction of its own, so live traffic
// runs between batches and no row stays locked for longer than one batch;
// rows that another transaction holds are waited for, as in DeleteExpired. Calling DeleteExpired(ctx, batch) until it returns less
// than batch removes the same records, but each of those calls walks the
// cleanup index from its low end, over the entries of every row the calls
// before it removed (they stay in the index until VACUUM), so the calls get
// dearer as the backlog shrinks. Sweep starts each batch where the previous
// one ended, and its batches cost the same from the first to the last.
//
// Sweep reads the clock once, when it starts: records that expire while it
// runs are left for the next sweep. So are records written while it runs
// with an expiry before the point it has reached (only a writer whose clock
// reads earlier than the sweep's by more than the TTL can write one: on
// another machine, or after an NTP step back), and rows another
// transaction was holding when a batch reached them, if that transaction
// did not remove them itself. When nothing else writes to the table while
// it runs, Sweep(ctx, b) removes exactly what DeleteExpired(ctx, 0) would,
// for every b.
//
// Sweep runs its batches back to back; StartSweep gives the same sweep one
// batch at a time, for a caller that pauses in between.
//
// A batch smaller than 1 is store.ErrInvalidLimit. When a batch fails,
// Sweep returns the records removed by the batches before it together with
// the error; if that error is ambiguous (store.IsAmbiguous), the failed
// batch may have removed up to batch records more.
func (s *Store) Sweep(ctx context.Context, batch int) (int, error) {
	if err := store.CheckBatch(batch); err != nil {
		return 0, err
	}
	sw := s.StartSweep()
	total := 0
	for {
		n, done, err := sw.Next(ctx, batch)
		total += n
		if err != nil || done {
			return total, err
		}
	}
}

// Sweeping is a sweep taken one batch at a time, for a caller that paces
// it: pausing between batches bounds the share of the database the cleanup
// takes, where Sweep runs its batches back to back. It removes what Sweep
// would, batch by batch, and is not safe for concurrent use (start one per
// goroutine; concurrent sweeps share the backlog, batch by batch).
type Sweeping struct {
	s    *Store
	now  time.Time
	from int64 // where the next batch starts, on the wire's scale
	done bool
}

// StartSweep reads the clock and returns a sweep of the records expired
// at that reading, to be taken with Next.
func (s *Store) StartSweep() *Sweeping {
	// -infinity on the wire: the first batch starts at the index's low end.
	return &Sweeping{s: s, now: s.instant(), from: math.MinInt64}
}

// NewSweep is StartSweep as a store.Stepper, for package sweeper's paced
// runs.
func (s *Store) NewSweep() store.SweepSteps { return s.StartSweep() }

var _ store.Stepper = (*Store)(nil)

// Next removes the next batch of at most batch records and reports how
// many it removed and whether the sweep is done (the batch came back short:
// nothing expired is left past it that nobody else was holding). After
// that, Next returns 0 and true. A batch smaller than 1 is
// store.ErrInvalidLimit. A failed batch leaves the sweep where it was, so
// Next may be called again; if the error is ambiguous, the failed batch may
// have removed up to batch records.
func (w *Sweeping) Next(ctx context.Context, batch int) (removed int, done bool, err error) {
	if err := store.CheckBatch(batch); err != nil {
		return 0, w.done, err
	}
	if w.done {
		return 0, true, nil
	}
	var end batchEnd
	_, err = w.s.writeSnapshot(ctx, "sweep", &w.s.sql.sweep, w.now, func(a *args, now time.Time) {
		a.instant(now).int8(int64(batch)).int8(w.from)
	}, end.read, func(a *args) {
		end.check(a, w.now, w.from, end.n == int64(batch))
	})
	if err != nil {
		return 0, false, err
	}
	n, last := end.n, end.expires
	if n < int64(batch) {
		w.done = true
	} else {
		w.from = last
	}
	return int(n), w.done, nil
}

// batchEnd is what a cleanup batch reports: how many records it removed,
// and where it ended (the latest expiry, on the wire's scale, and the
// greatest ID with it), for cleanCheck.
type batchEnd struct {
	n       int64
	expires int64
	id      []byte // nil when the batch removed nothing
}

// read decodes the batch's one row.
func (e *batchEnd) read(v [][]byte) (err error) {
	*e = batchEnd{}
	if e.n, err = decodeMicros(v[0]); err != nil || v[1] == nil {
		return err
	}
	if e.expires, err = decodeMicros(v[1]); err != nil {
		return err
	}
	e.id = append([]byte{}, v[2]...)
	return nil
}

// check encodes cleanCheck's arguments: the batch's reading, where it
// started (on the wire's scale), where it ended, and whether it was full.
func (e *batchEnd) check(a *args, now time.Time, from int64, full bool) {
	a.instant(now).int8(from)
	if e.id == nil {
		a.null().null()
	} else {
		a.int8(e.expires).bytes(e.id)
	}
	if full {
		a.int8(1)
	} else {
		a.int8(0)
	}
}

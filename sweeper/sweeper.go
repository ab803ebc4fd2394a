package sweeper

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Sweeper is a running background sweep, started by Start. Its methods are
// safe for concurrent use.
type Sweeper struct {
	s      store.Store
	opts   Options
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned

	mu    sync.Mutex
	stats Stats
}

// Run is the outcome of one run.
type Run struct {
	Start, End time.Time // Clock readings when the run began and ended
	// Steps is the number of calls the run made to the store: in a paced run
	// (Pause > 0) its DeleteExpired calls, including a failed one; an
	// unpaced run is one store.Sweep, counted as one step.
	Steps int
	// Removed is how many records the run removed. If Err is ambiguous
	// (store.IsAmbiguous), the failed step may have removed up to Batch
	// more.
	Removed int
	Err     error // what ended the run early, or nil
}

// Stats are a Sweeper's totals since Start. Runs cut short because the
// sweeper stopped count their Steps and Removed but not as a run.
type Stats struct {
	Runs    int   // runs finished, successful or not
	Errors  int   // runs that ended on an error
	Steps   int   // store calls made (see Run.Steps)
	Removed int   // records removed
	LastErr error // the error of the most recent failed run, or nil if none failed
	Last    Run   // the most recent run; zero before the first
}

// Start validates opts and starts a goroutine that sweeps s once per
// Interval until ctx ends or Stop is called. Invalid options return an error
// wrapping ErrInvalidOptions (an *OptionError) and start nothing.
func Start(ctx context.Context, s store.Store, opts Options) (*Sweeper, error) {
	if s == nil {
		return nil, ErrNilStore
	}
	opts, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Sweeper{s: s, opts: opts, cancel: cancel, done: make(chan struct{})}
	go w.loop(ctx)
	return w, nil
}

// Stop stops the sweeper, cancelling a run in progress (the store call under
// way sees its context cancelled), and returns once its goroutine has
// returned. Calling it again does nothing.
func (w *Sweeper) Stop() {
	w.cancel()
	<-w.done
}

// Wait returns once the sweeper has stopped, through Stop or because the
// context given to Start ended.
func (w *Sweeper) Wait() { <-w.done }

// Stats returns the sweeper's totals so far.
func (w *Sweeper) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// loop is the sweeper's goroutine.
func (w *Sweeper) loop(ctx context.Context) {
	defer close(w.done)
	defer w.cancel() // release the context's resources when ctx ends on its own
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.opts.Clock.After(w.opts.Interval):
		}
		if ctx.Err() != nil { // both were ready and select chose the clock
			return
		}
		r := w.run(ctx)
		if r.Err != nil && ctx.Err() != nil {
			w.interrupted(r)
			return
		}
		w.finished(r)
	}
}

// finished accounts for, logs and reports a run that was not cut short.
func (w *Sweeper) finished(r Run) {
	w.mu.Lock()
	w.stats.Runs++
	w.stats.Steps += r.Steps
	w.stats.Removed += r.Removed
	w.stats.Last = r
	if r.Err != nil {
		w.stats.Errors++
		w.stats.LastErr = r.Err
	}
	w.mu.Unlock()
	if r.Err != nil {
		w.opts.Logger.Warn("hourglass sweeper: run failed",
			slog.Int("removed", r.Removed),
			slog.Int("steps", r.Steps),
			slog.Any("error", r.Err),
			slog.Bool("ambiguous", store.IsAmbiguous(r.Err)),
			slog.Duration("retry_in", w.opts.Interval))
	} else {
		w.opts.Logger.Debug("hourglass sweeper: run",
			slog.Int("removed", r.Removed),
			slog.Int("steps", r.Steps),
			slog.Duration("took", r.End.Sub(r.Start)))
	}
	if w.opts.OnRun != nil {
		w.opts.OnRun(r)
	}
}

// interrupted accounts for a run the sweeper's stopping cut short: what it
// removed is counted, but its error is the stop, not a failure.
func (w *Sweeper) interrupted(r Run) {
	w.mu.Lock()
	w.stats.Steps += r.Steps
	w.stats.Removed += r.Removed
	w.mu.Unlock()
	w.opts.Logger.Debug("hourglass sweeper: run stopped",
		slog.Int("removed", r.Removed),
		slog.Int("steps", r.Steps))
}

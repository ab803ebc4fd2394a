package sweeper

import (
	"context"

	"github.com/hourglass-go/hourglass/store"
)

// run makes one run: the whole backlog in one store.Sweep, or paced steps.
func (w *Sweeper) run(ctx context.Context) Run {
	r := Run{Start: w.opts.Clock.Now()}
	if w.opts.Pause == 0 {
		r.Steps = 1
		r.Removed, r.Err = store.Sweep(ctx, w.s, w.opts.Batch)
	} else {
		w.paced(ctx, &r)
	}
	r.End = w.opts.Clock.Now()
	return r
}

// paced removes the backlog Batch records at a time with a Pause after each
// full step, until a step comes back short or fails. A backend that can
// take its sweep a batch at a time (store.Stepper) resumes each batch where
// the last ended; otherwise each step is a DeleteExpired.
func (w *Sweeper) paced(ctx context.Context, r *Run) {
	step := func() (int, bool, error) {
		n, err := w.s.DeleteExpired(ctx, w.opts.Batch)
		return n, n < w.opts.Batch, err
	}
	if st, ok := w.s.(store.Stepper); ok {
		sweep := st.NewSweep()
		step = func() (int, bool, error) { return sweep.Next(ctx, w.opts.Batch) }
	}
	for {
		n, done, err := step()
		r.Steps++
		r.Removed += n
		if err != nil {
			r.Err = err
			return
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			r.Err = ctx.Err()
			return
		case <-w.opts.Clock.After(w.opts.Pause):
		}
	}
}

package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// Failure is a seed that made a backend diverge from the model, with the
// trace shrunk to what still shows it.
type Failure struct {
	Seed      uint64
	Generated int     // operations in the trace as generated
	Trace     *Trace  // the shrunk trace (the original if Flaky)
	Result    *Result // that trace's run, whose Divergence is set
	// Flaky is set when a second run of the same trace did not diverge: the
	// failure depends on timing, so it could not be shrunk.
	Flaky bool
}

// Explain shrinks a trace whose run res diverged and returns the Failure to
// report. If the divergence does not reproduce, the Failure is the original
// trace and run, marked Flaky.
func Explain(ctx context.Context, t *Trace, res *Result, newStore Factory) (*Failure, error) {
	st, sres, err := Shrink(ctx, t, newStore)
	if err != nil {
		return nil, err
	}
	f := &Failure{Seed: t.Seed, Generated: len(t.Ops), Trace: st, Result: sres}
	if sres.Divergence == nil {
		f.Trace, f.Result, f.Flaky = t, res, true
	}
	return f, nil
}

// CheckSeed generates the trace for seed, runs it, and on a divergence
// shrinks it. It returns nil when the backend agreed with the model
// throughout, and the number of operations executed either way.
func CheckSeed(ctx context.Context, seed uint64, cfg GenConfig, newStore Factory) (*Failure, int, error) {
	t := Generate(seed, cfg)
	res, err := Run(ctx, t, newStore)
	if err != nil {
		return nil, 0, err
	}
	if res.Divergence == nil {
		return nil, len(res.Outcomes), nil
	}
	f, err := Explain(ctx, t, res, newStore)
	return f, len(res.Outcomes), err
}

// WriteHistory writes the trace with each executed operation's outcome as a
// comment and the diverging operation marked. The output parses back as a
// trace (outcomes are comments), so it doubles as a replay file.
func (t *Trace) WriteHistory(w io.Writer, res *Result) error {
	mark := -1
	if res.Divergence != nil {
		mark = res.Divergence.Step
	}
	_, err := t.write(w, traceMagic, nil, func(i int) string {
		c := ""
		if i < len(res.Outcomes) && storeOp(t.Ops[i]) {
			c = res.Outcomes[i].format(t.Ops[i], t.Start)
		}
		if i == mark {
			c += "  <-- diverged here"
		}
		return c
	})
	return err
}

// String is the report a person reads: the seed, what diverged, and the
// shrunk trace.
func (f *Failure) String() string {
	var b bytes.Buffer
	d := f.Result.Divergence
	if f.Flaky {
		fmt.Fprintf(&b, "seed %d diverged, but a second run of the same trace did not: the failure depends on timing, so it was not shrunk\n", f.Seed)
		b.WriteString(d.Error())
		b.WriteString("trace:\n")
	} else {
		fmt.Fprintf(&b, "seed %d diverged; shrunk from %d to %d operations\n", f.Seed, f.Generated, len(f.Trace.Ops))
		b.WriteString(d.Error())
		b.WriteString("shrunk trace:\n")
	}
	_ = f.Trace.WriteHistory(&b, f.Result)
	return b.String()
}

package sim

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// maxShrinkRuns bounds the replays one Shrink may spend, so that shrinking a
// long trace against a slow backend still ends in reasonable time.
const maxShrinkRuns = 20000

// Shrink reduces a trace that fails to a shorter one that still fails, in the
// manner of delta debugging: it cuts everything after the divergence, removes
// ever smaller runs of operations while the run still diverges, then folds
// adjacent clock advances into one. Any divergence counts as still failing.
// It returns the shrunk trace and its result; if t does not fail, it returns
// t and a result with no divergence.
func Shrink(ctx context.Context, t *Trace, newStore Factory) (*Trace, *Result, error) {
	runs := 0
	var harnessErr error
	fails := func(c *Trace) *Result {
		if runs >= maxShrinkRuns || harnessErr != nil || ctx.Err() != nil {
			return nil
		}
		runs++
		res, err := Run(ctx, c, newStore)
		if err != nil {
			harnessErr = err
			return nil
		}
		if res.Divergence == nil {
			return nil
		}
		return res
	}

	best := fails(t)
	if best == nil {
		res, err := Run(ctx, t, newStore)
		return t, res, err
	}
	cur := t.with(t.Ops[:best.Divergence.Step+1])

	for progress := true; progress; {
		progress = false
		for chunk := len(cur.Ops) / 2; chunk >= 1; chunk /= 2 {
			for i := 0; i+chunk <= len(cur.Ops); {
				cand := cur.with(cut(cur.Ops, i, i+chunk))
				if r := fails(cand); r != nil {
					cur, best, progress = cand.with(cand.Ops[:r.Divergence.Step+1]), r, true
					continue // the same i now holds the next run
				}
				i += chunk
			}
		}
		// Removing one record can shift which expired records a later
		// limited DeleteExpired reaches; lowering that limit with it keeps
		// the shape of the failure while dropping the record.
		for i := 0; i < len(cur.Ops); {
			cand := cur.with(compensate(cut(cur.Ops, i, i+1), i))
			if cand == nil || cand.Ops == nil {
				i++
				continue
			}
			if r := fails(cand); r != nil {
				cur, best, progress = cand.with(cand.Ops[:r.Divergence.Step+1]), r, true
				continue
			}
			i++
		}
		for i, op := range cur.Ops {
			de, ok := op.(DeleteExpired)
			if !ok || de.Limit <= 1 {
				continue
			}
			for _, l := range []int{1, de.Limit / 2, de.Limit - 1} {
				ops := append([]Op(nil), cur.Ops...)
				ops[i] = DeleteExpired{Limit: l}
				if r := fails(cur.with(ops)); r != nil {
					cur, best, progress = cur.with(ops[:r.Divergence.Step+1]), r, true
					break
				}
			}
		}
		// Fewer distinct IDs let later passes remove more (a create
		// followed by a move becomes a create and a no-op).
		ids := idsOf(cur.Ops)
	rename:
		for _, from := range ids {
			for _, to := range ids {
				if from == to {
					continue
				}
				ops := renameID(cur.Ops, from, to)
				if r := fails(cur.with(ops)); r != nil {
					cur, best, progress = cur.with(ops[:r.Divergence.Step+1]), r, true
					break rename
				}
			}
		}
		if cand := cur.with(foldAdvances(cur.Ops)); len(cand.Ops) < len(cur.Ops) {
			if r := fails(cand); r != nil {
				cur, best, progress = cand.with(cand.Ops[:r.Divergence.Step+1]), r, true
			}
		}
	}
	return cur, best, harnessErr
}

// with returns a copy of t with other operations.
func (t *Trace) with(ops []Op) *Trace {
	c := *t
	c.Ops = ops
	return &c
}

// cut returns ops without ops[i:j], in a new slice.
func cut(ops []Op, i, j int) []Op {
	out := make([]Op, 0, len(ops)-(j-i))
	out = append(out, ops[:i]...)
	return append(out, ops[j:]...)
}

// idsOf lists the IDs the ops mention, in order of first mention.
func idsOf(ops []Op) []store.ID {
	var ids []store.ID
	seen := map[store.ID]bool{}
	for _, op := range ops {
		renameOne(op, func(id store.ID) store.ID {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
			return id
		})
	}
	return ids
}

// opIDs lists the IDs one operation names, in order.
func opIDs(op Op) []store.ID {
	var ids []store.ID
	renameOne(op, func(id store.ID) store.ID {
		ids = append(ids, id)
		return id
	})
	return ids
}

// renameID returns ops with every mention of from replaced by to.
func renameID(ops []Op, from, to store.ID) []Op {
	out := make([]Op, len(ops))
	for i, op := range ops {
		out[i] = renameOne(op, func(id store.ID) store.ID {
			if id == from {
				return to
			}
			return id
		})
	}
	return out
}

func renameOne(op Op, f func(store.ID) store.ID) Op {
	switch o := op.(type) {
	case Create:
		o.ID = f(o.ID)
		return o
	case Load:
		o.ID = f(o.ID)
		return o
	case Update:
		o.ID = f(o.ID)
		return o
	case UpdateTTL:
		o.ID = f(o.ID)
		return o
	case Delete:
		o.ID = f(o.ID)
		return o
	case ChangeID:
		o.Old, o.New = f(o.Old), f(o.New)
		return o
	case CreateOwned:
		o.ID = f(o.ID)
		return o
	case Cycle:
		o.Old, o.New = f(o.Old), f(o.New)
		return o
	case Revoke:
		if o.Handle == "" {
			o.ID = f(o.ID)
		}
		return o
	case RevokeAll:
		except := make([]store.ID, len(o.Except))
		for i, id := range o.Except {
			except[i] = f(id)
		}
		o.Except = except
		return o
	case Touch:
		o.ID = f(o.ID)
		return o
	case UpdateIf:
		o.ID = f(o.ID)
		return o
	case ChangeIDIf:
		o.Old, o.New = f(o.Old), f(o.New)
		return o
	case Scan:
		if o.After != "" {
			o.After = f(o.After)
		}
		return o
	case Second:
		o.Op = renameOne(o.Op, f)
		return o
	case Client:
		o.Op = renameOne(o.Op, f)
		return o
	}
	return op
}

// compensate lowers by one the limit of the first DeleteExpired at or after
// index from whose limit is above one. It returns nil if there is none.
func compensate(ops []Op, from int) []Op {
	for j := from; j < len(ops); j++ {
		if de, ok := ops[j].(DeleteExpired); ok && de.Limit > 1 {
			ops[j] = DeleteExpired{Limit: de.Limit - 1}
			return ops
		}
	}
	return nil
}

// foldAdvances merges consecutive advances and drops zero ones. The clock
// reads the same at every store operation, so the run is unchanged.
func foldAdvances(ops []Op) []Op {
	out := make([]Op, 0, len(ops))
	var pending time.Duration
	for _, op := range ops {
		if a, ok := op.(Advance); ok {
			pending += a.D
			continue
		}
		if pending != 0 {
			out = append(out, Advance{D: pending})
			pending = 0
		}
		out = append(out, op)
	}
	return out
}

package sim

import (
	"context"
	"math"
	"slices"

	"github.com/anishathalye/porcupine"
)

// Part is a piece of a history that is not linearizable by itself: the
// smallest Check found that still shows the violation, for a person to
// read. It is made in three sound steps, each of which can only make a
// history easier to linearize, so whatever violation remains was in the
// history as recorded:
//
//   - The history is cut at the earliest point by which it already has no
//     linearization. Operations still running there count as applied or
//     not, with any answer.
//   - It starts at the last clock operation before that point whose
//     possible states Check could list exactly: every client was quiet
//     there, so the operations before it are summed up by those states.
//   - Operations whose answers show they changed nothing (reads, refusals,
//     definite failures) are left out wherever the rest still fails.
type Part struct {
	// Events are the operations in the part, as indices into the trace,
	// in the order they were called.
	Events []int
	// Weak are those of Events still running where the part was cut: what
	// they returned does not count.
	Weak []int
	// After is the index in the trace of the clock operation the part
	// starts after, or -1 if it starts with the trace.
	After int
	// States is how many states the store may have been in where the part
	// starts.
	States int
	// Stuck is the operation no order could place: in the longest order of
	// the part's operations that explains what they returned, the first
	// operation left out to return. -1 if the search gave no order.
	Stuck int

	init   *worlds
	reason string
	info   porcupine.LinearizationInfo
	ops    []porcupine.Operation
	c      *checker
}

// maxStates bounds how many states Check lists at a clock operation before
// it stops starting parts there.
const maxStates = 16

// minimize finds the Part of a failing group of events.
func (c *checker) minimize(group []int) *Part {
	sorted := c.byCall(group)
	// 1. The earliest cut by which there is no linearization. Cutting at
	// a return is enough: only a return adds an answer to explain.
	returns := make([]int64, len(sorted))
	for k, i := range sorted {
		returns[k] = c.h.Events[i].Return
	}
	slices.Sort(returns)
	cutAt := func(k int) int64 {
		if k >= len(returns)-1 {
			return math.MaxInt64 // the whole group: nothing is cut
		}
		return returns[k]
	}
	init := initialWorlds(c.h)
	fails := func(start *worlds, events []int, cut int64) bool {
		res, _ := c.run(start, c.operations(events, c.weakAt(cut)), false)
		return res == porcupine.Illegal
	}
	lo, hi := 0, len(returns)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(init, c.calledBy(sorted, cutAt(mid)), cutAt(mid)) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	cut := cutAt(lo)
	p := &Part{After: -1, init: init, c: c}
	events := c.calledBy(sorted, cut)

	// 2. Start at the latest clock operation whose states are known.
	if after, states, rest := c.lastKnownStates(group, cut); after >= 0 && fails(states, rest, cut) {
		p.After, p.init, events = after, states, rest
	}

	// 3. Leave out what changed nothing, where the rest still fails.
	var drop []int
	for _, i := range events {
		if c.changedNothing(i, cut) {
			drop = append(drop, i)
		}
	}
	for chunk := len(drop); chunk >= 1; chunk /= 2 {
		for k := 0; k+chunk <= len(drop); {
			cand := slices.DeleteFunc(slices.Clone(events), func(i int) bool { return slices.Contains(drop[k:k+chunk], i) })
			if fails(p.init, cand, cut) {
				events = cand
				drop = slices.Delete(drop, k, k+chunk)
				continue
			}
			k += chunk
		}
	}
	p.Events = events
	weak := c.weakAt(cut)
	for _, i := range events {
		if weak(i) {
			p.Weak = append(p.Weak, i)
		}
	}
	p.States = len(p.init.ws)
	p.ops = c.operations(events, weak)
	_, p.info = c.run(p.init, p.ops, true)
	p.Stuck = p.stuck()
	p.reason = c.partReason(p)
	return p
}

// weakAt marks the events still running at cut.
func (c *checker) weakAt(cut int64) func(i int) bool {
	return func(i int) bool { return c.h.Events[i].Return > cut }
}

// calledBy keeps the events called by cut.
func (c *checker) calledBy(sorted []int, cut int64) []int {
	var out []int
	for _, i := range sorted {
		if c.h.Events[i].Call <= cut {
			out = append(out, i)
		}
	}
	return out
}

// changedNothing reports whether event i's answer shows it had no effect,
// so that leaving it out of a history only removes a constraint.
func (c *checker) changedNothing(i int, cut int64) bool {
	ev := &c.h.Events[i]
	if ev.Return > cut {
		return false
	}
	o := ev.Outcome
	switch o.Kind {
	case Failed, InvalidID, InvalidTTL, TooLarge, InvalidLimit, DuplicateID, InvalidOwner, InvalidCap, InvalidHandle, Conflict, InvalidVersion:
		return o.Kind != Failed || c.excused[i]
	case Ambiguous:
		return false
	}
	switch base(c.h.Trace.Ops[i]).(type) {
	case Load, List, Scan:
		return true
	case Update, UpdateTTL, ChangeID, Cycle, Touch, UpdateIf, ChangeIDIf:
		// A touch that found the session may have written it.
		return o.Kind == NotFound
	case DeleteExpired, Sweep:
		return o.Kind == OK && o.N == 0 && !c.h.NativeExpiry
	}
	return false // Create ok, Delete, Revoke and RevokeAll (they remove expired records too)
}

// lastKnownStates lists, clock operation by clock operation up to cut, the
// states the store may be in there, and returns the latest one it could
// list exactly, with those states and the group's events after it that
// were called by cut. It returns -1 if it knows none.
func (c *checker) lastKnownStates(group []int, cut int64) (int, *worlds, []int) {
	states := initialWorlds(c.h)
	known := -1 // the clock operation states belongs to
	var pending []int
	gi := 0
	for b, op := range c.h.Trace.Ops {
		switch op.(type) {
		case Advance, Skew:
		default:
			continue
		}
		for gi < len(group) && group[gi] < b {
			pending = append(pending, group[gi])
			gi++
		}
		if slices.ContainsFunc(pending, func(i int) bool { return c.h.Events[i].Return > cut }) {
			break // past the cut
		}
		if next, ok := c.enumerate(states, pending); ok {
			states, known, pending = next, b, nil
		}
	}
	if known < 0 {
		return -1, nil, nil
	}
	var rest []int
	for _, i := range c.byCall(group) {
		if i > known && c.h.Events[i].Call <= cut {
			rest = append(rest, i)
		}
	}
	return known, states, rest
}

// enumerate lists every state the store may be in after the events, all of
// them complete, from the states start: it asks for an order that ends in
// a state not yet listed, adds the states that order ends in, and stops
// when there is none. It gives up past maxStates or if a search does.
func (c *checker) enumerate(start *worlds, events []int) (*worlds, bool) {
	if len(events) == 0 {
		return start, true
	}
	ops := c.operations(events, nil)
	var end int64
	for _, op := range ops {
		end = max(end, op.Return)
	}
	var found []*world
	for {
		known := newWorlds(found)
		sentinel := &input{i: -1, role: exclusion, known: known}
		all := append(slices.Clone(ops), porcupine.Operation{Input: sentinel, Call: end + 1, Return: end + 2})
		res, info := c.run(start, all, true)
		switch res {
		case porcupine.Illegal:
			return known, len(found) > 0
		case porcupine.Unknown:
			return nil, false
		}
		final, ok := c.replay(start, all, longest(info))
		if !ok {
			return nil, false
		}
		found = append(found, final.ws...)
		if len(found) > maxStates {
			return nil, false
		}
	}
}

// replay steps the model through an order of ops and returns where it
// ends.
func (c *checker) replay(start *worlds, ops []porcupine.Operation, order []int) (*worlds, bool) {
	s := &search{c: c, max: math.MaxInt64, judge: c.judge(), late: c.opts.Late}
	var state any = start
	for _, id := range order {
		ok, next := s.step(context.Background(), state, ops[id].Input, nil)
		if !ok {
			return nil, false
		}
		state = next
	}
	return state.(*worlds), true
}

// longest returns the longest order porcupine found (ties: the smallest in
// lexicographic order, so that the choice does not depend on map order).
func longest(info porcupine.LinearizationInfo) []int {
	var best []int
	for _, part := range info.PartialLinearizations() {
		for _, seq := range part {
			if len(seq) > len(best) || len(seq) == len(best) && slices.Compare(seq, best) < 0 {
				best = seq
			}
		}
	}
	return best
}

// stuck finds the operation no order could place: of those left out of
// the longest explainable order, the first to return.
func (p *Part) stuck() int {
	order := longest(p.info)
	in := make([]bool, len(p.ops))
	for _, id := range order {
		in[id] = true
	}
	best, at := -1, int64(math.MaxInt64)
	for id, op := range p.ops {
		i := op.Input.(*input).i
		if in[id] || i < 0 {
			continue
		}
		if r := p.c.h.Events[i].Return; r < at {
			best, at = i, r
		}
	}
	return best
}

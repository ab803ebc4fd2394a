package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/hourglass-go/hourglass/store"
)

// Verdict is what Check concluded about a history.
type Verdict uint8

// The verdicts. Unknown is a check that gave up (its step budget or time
// ran out, or the possible states outgrew what it tracks): it is never
// reported as Linearizable.
const (
	Linearizable Verdict = iota
	NotLinearizable
	Unknown
)

var verdictNames = [...]string{"linearizable", "not linearizable", "unknown"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// maxClosure bounds the worlds one world's running sweeps can reach by
// their steps before an operation. It is larger than maxWorlds: most of
// those worlds differ only in how the removals so far are shared between
// the sweeps, and the operation (a sweep's end, above all) keeps few.
const maxClosure = 16 * maxWorlds

// DefaultMaxSteps is how many model steps one search may take unless
// CheckOptions says otherwise. A model step is one operation applied to one
// possible state. A linearizable history of 10,000 operations by 8 clients
// of the core operations usually takes one to two times its length; one of
// 4,000 whose owners' operations race cleanups on skewed clocks takes 2.8
// million (6 to 9 s and 1.2 GB here: /usr/bin/time -v go run ./cmd/simrun
// -check sim/testdata/owners-skew-budget.history). The bound also bounds
// the memory the search's cache takes: under half a kilobyte a step in the
// histories measured.
const DefaultMaxSteps = 4_000_000

// CheckOptions tune Check. The zero value is the defaults.
type CheckOptions struct {
	// MaxSteps bounds the model steps each search may take (default
	// DefaultMaxSteps). A search that needs more makes the verdict Unknown.
	// Steps, unlike seconds, are the same on every machine, so a saved
	// history gets the same verdict wherever it is checked.
	MaxSteps int
	// Timeout bounds the wall time of each search (default: none). A search
	// that runs out of it makes the verdict Unknown.
	Timeout time.Duration
	// Late treats an ambiguous failure as porcupine and Knossos do: it may
	// take effect at any time after its call, even after it returned. By
	// default it takes effect before it returns or never, as the contract
	// requires (an ambiguous failure is final when reported; without that,
	// reading a session back after one would tell a caller nothing).
	Late bool
}

func (o CheckOptions) withDefaults() CheckOptions {
	if o.MaxSteps <= 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	return o
}

// role says which part of an operation a porcupine operation stands for: a
// sweep is two, its start and its end, with its steps taken in between.
type role uint8

const (
	whole role = iota
	sweepStart
	sweepEnd
	cleanStart // DeleteExpired takes effect
	cleanEnd   // DeleteExpired returns: its ghosts go
	exclusion  // not an operation: keeps only worlds outside a known set
)

// input is what the checker gives porcupine for one operation.
type input struct {
	i    int // index in the trace
	ev   *Event
	op   Op // the store operation, without its client and instance
	role role
	// weak: the operation was still running where the history was cut,
	// so what it returned is not known yet: applied or not, any answer.
	weak bool
	// known: for an exclusion, the worlds to exclude.
	known *worlds
}

// search is one porcupine run: its budget and what made it give up.
type search struct {
	c         *checker
	max       int64
	steps     atomic.Int64
	exhausted atomic.Bool
	overflow  atomic.Bool
	judge     judge
	late      bool
}

// model is the contract for porcupine: the state is a set of worlds, so
// that an operation that may or may not have taken effect keeps both.
func (s *search) model(init *worlds) porcupine.Model {
	return porcupine.Model{
		Init:        func() any { return init },
		StepContext: s.step,
		Equal:       func(a, b any) bool { return a.(*worlds).equal(b.(*worlds)) },
		Hash:        func(st any) uint64 { return st.(*worlds).hash },
		DescribeOperation: func(in, _ any) string {
			return s.c.describeInput(in.(*input))
		},
		DescribeState: func(st any) string { return s.c.describeWorlds(st.(*worlds)) },
	}
}

func (s *search) step(ctx context.Context, state, in, _ any) (bool, any) {
	if s.steps.Add(1) > s.max {
		s.exhausted.Store(true)
		return false, nil
	}
	if ctx.Err() != nil {
		return false, nil
	}
	cur := state.(*worlds)
	p := in.(*input)
	ws := cur.ws
	if cur.inflight() && p.role != sweepStart && p.role != exclusion {
		// Sweeps take their steps lazily: only before an operation whose
		// order with them matters (see world.conflicts).
		var expanded []*world
		for _, w := range ws {
			if p.role == sweepEnd || w.conflicts(p) {
				c, ok := w.reachable(maxClosure, s.c.haunt)
				if !ok {
					s.overflow.Store(true)
					return false, nil
				}
				expanded = append(expanded, c...)
			} else {
				expanded = append(expanded, w)
			}
		}
		ws = expanded
	}
	// A step costs one unit a world it is applied to: a budget in steps
	// bounds time (and the memory the search keeps) however large the
	// sets of possible states grow.
	if s.steps.Add(int64(len(ws))-1) > s.max {
		s.exhausted.Store(true)
		return false, nil
	}
	var next []*world
	for _, w := range ws {
		next = s.apply(w, p, next)
	}
	if len(next) == 0 {
		return false, nil
	}
	out := newWorlds(next)
	if len(out.ws) > maxWorlds {
		s.overflow.Store(true)
		return false, nil
	}
	return true, out
}

// apply appends the worlds w can become by p.
func (s *search) apply(w *world, p *input, out []*world) []*world {
	switch p.role {
	case exclusion:
		if !p.known.contains(w) {
			out = append(out, w)
		}
		return out
	case sweepStart:
		runs := append(slices.Clone(w.sweeps), sweepRun{op: p.i, now: p.ev.Now, batch: p.op.(Sweep).Batch})
		return append(out, w.derive(w.m, runs))
	case sweepEnd:
		return s.endSweep(w, p, out)
	case cleanStart:
		return s.startClean(w, p, out)
	case cleanEnd:
		k := slices.Index(w.open, p.i)
		if k < 0 {
			return out // its start has not been placed yet
		}
		open := slices.Delete(slices.Clone(w.open), k, k+1)
		return append(out, w.with(w.m, w.sweeps, laid(w.ghosts, w.sweeps, open), open))
	}
	got := p.ev.Outcome
	if ws, ok := s.unanswered(p, func() *world { return w }, func() *world { return applied(w, p) }); ok {
		return append(out, ws...)
	}
	if o, ok := p.op.(Load); ok {
		// A load changes nothing: the world stays as it is, shared. It
		// may also have read a record a running cleanup removed.
		if !s.judge.matches(p.op, p.op.expect(w.m, p.ev.Now), got) &&
			!(got.Kind == OK && w.seen(o.ID, got.Record, p.ev.Now)) {
			return out
		}
		return append(out, w)
	}
	if o, ok := p.op.(List); ok {
		// Read-only too, and may list what a running cleanup removed.
		if !s.judge.matches(p.op, p.op.expect(w.m, p.ev.Now), got) &&
			!(got.Kind == OK && w.listedGhosts(o.Owner, got.List, p.ev.Now)) {
			return out
		}
		return append(out, w)
	}
	if o, ok := p.op.(Scan); ok {
		// Read-only too, and may return what a running cleanup removed.
		if !s.judge.matches(p.op, p.op.expect(w.m, p.ev.Now), got) &&
			!(got.Kind == OK && w.scannedGhosts(o.After, o.Limit, got.IDs, p.ev.Now)) {
			return out
		}
		return append(out, w)
	}
	m, runs := w.clone()
	want := p.op.expect(m, p.ev.Now)
	if !s.judge.matches(p.op, want, got) {
		if o, ok := p.op.(Touch); ok && got.Kind == OK && w.seen(o.ID, got.Record, p.ev.Now) {
			// A touch whose write found the record gone reads what
			// its snapshot held, as a load does, and writes nothing.
			return append(out, w)
		}
		return out
	}
	return append(out, w.derive(m, runs))
}

// unanswered gives the worlds an operation leaves when what it returned
// does not say what it did: still running where the history was cut
// (weak), or failed. A failure no fault explains leaves none; a definite
// one has no effect; an ambiguous one took effect or not (under Late, not
// taking effect is taking it after everything else). It reports false for
// an operation that answered, which the caller checks against the model.
func (s *search) unanswered(p *input, unchanged, effect func() *world) ([]*world, bool) {
	switch k := p.ev.Outcome.Kind; {
	case p.weak:
		return []*world{unchanged(), effect()}, true
	case k != Failed && k != Ambiguous:
		return nil, false
	case !s.c.excused[p.i]:
		return nil, true // no fault explains it: no world does
	case k == Failed:
		return []*world{unchanged()}, true
	case s.late:
		return []*world{effect()}, true
	}
	return []*world{unchanged(), effect()}, true
}

// applied is w after p took effect, whatever it returned.
func applied(w *world, p *input) *world {
	m, runs := w.clone()
	p.op.expect(m, p.ev.Now)
	return w.derive(m, runs)
}

// startClean places DeleteExpired's effect: the records it removes become
// ghosts until it returns. Its answer is checked here, as for any
// operation; a failure is applied or not as usual.
func (s *search) startClean(w *world, p *input, out []*world) []*world {
	open := append(slices.Clone(w.open), p.i)
	slices.Sort(open)
	limit := p.op.(DeleteExpired).Limit
	effect := func() *world {
		m := w.m.Clone()
		gone := m.Expired(p.ev.Now)
		if limit > 0 && len(gone) > limit {
			gone = gone[:limit]
		}
		m.DeleteExpired(p.ev.Now, limit)
		return w.with(m, slices.Clone(w.sweeps), haunted(s.c.haunt, w.blind, w.ghosts, gone), open)
	}
	unchanged := func() *world { return w.with(w.m, w.sweeps, w.ghosts, open) }
	if ws, ok := s.unanswered(p, unchanged, effect); ok {
		return append(out, ws...)
	}
	want := p.op.expect(w.m.Clone(), p.ev.Now)
	if !s.judge.matches(p.op, want, p.ev.Outcome) {
		return out
	}
	return append(out, effect())
}

// endSweep finishes the sweep p ends, in w. A sweep that succeeded takes
// its remaining steps and must have removed what it reports. One that
// failed reported what its completed steps removed, each a full batch; the
// step that failed removed nothing if the failure is definite, and nothing
// or one more batch if it is ambiguous.
func (s *search) endSweep(w *world, p *input, out []*world) []*world {
	k := slices.IndexFunc(w.sweeps, func(r sweepRun) bool { return r.op == p.i })
	if k < 0 {
		return out // its start has not been placed yet
	}
	runs := slices.Delete(slices.Clone(w.sweeps), k, k+1)
	r := w.sweeps[k]
	m := w.m
	if takes(m.Expired(r.now), fromOf(r)) {
		m = m.Clone() // the steps below change it; else it is shared
	}
	ghosts := laid(w.ghosts, runs, w.open) // the sweep has returned
	got := p.ev.Outcome
	if p.weak || !s.judge.countExpired {
		// Any progress will do: a weak end's count is unknown, and a
		// backend with native expiry reports counts the contract leaves
		// free. Where the sweep has got to is one world; finished, another.
		out = append(out, w.with(m, runs, ghosts, w.open))
		if m != w.m {
			m = m.Clone() // the world just added keeps its model
		}
		for !r.done {
			r = r.step(m, fromOf(r))
		}
		return append(out, w.with(m, runs, ghosts, w.open))
	}
	switch got.Kind {
	case OK:
		for !r.done {
			r = r.step(m, fromOf(r))
		}
		if r.removed != got.N {
			return out
		}
		return append(out, w.with(m, runs, ghosts, w.open))
	case Failed, Ambiguous:
		for r.removed < got.N && !r.done {
			r = r.step(m, fromOf(r))
		}
		if r.removed != got.N || r.done && got.Kind == Failed && r.removed%r.batch != 0 {
			return out
		}
		out = append(out, w.with(m, runs, ghosts, w.open))
		if got.Kind == Ambiguous && !r.done {
			m2 := m.Clone()
			r.step(m2, fromOf(r))
			out = append(out, w.with(m2, slices.Clone(runs), ghosts, w.open))
		}
		return out
	}
	return out
}

func fromOf(r sweepRun) *time.Time {
	if r.started {
		return &r.from
	}
	return nil
}

// initialWorlds is the state a history starts from: an empty store, whose
// ties and handles follow the stored IDs the history records.
func initialWorlds(h *History) *worlds {
	var key func(store.ID) store.ID
	if len(h.StoredIDs) > 0 {
		key = func(id store.ID) store.ID {
			if k, ok := h.StoredIDs[id]; ok {
				return k
			}
			return id
		}
	}
	return newWorlds([]*world{newWorld(newModel(h.Trace.Limits, key), nil, !h.Trace.versioned())})
}

// operations turns events into porcupine's operations. weak marks those
// whose answers are not known (nil: none).
func (c *checker) operations(events []int, weak func(i int) bool) []porcupine.Operation {
	ops := make([]porcupine.Operation, 0, len(events)+4)
	for _, i := range events {
		ev := &c.h.Events[i]
		p := &input{i: i, ev: ev, op: base(c.h.Trace.Ops[i])}
		if weak != nil {
			p.weak = weak(i)
		}
		ret := ev.Return
		if c.opts.Late && ev.Outcome.Kind == Ambiguous && !p.weak {
			ret = math.MaxInt64
		}
		if de, ok := p.op.(DeleteExpired); ok && de.Limit >= 0 && c.haunt {
			// Its effect at one point of its run; its return, when the
			// records it removed stop being visible to other instances'
			// reads (see ghost). Without a second instance no read can
			// see them, and it is one operation like any other.
			start, end := *p, *p
			start.role, end.role = cleanStart, cleanEnd
			ops = append(ops,
				porcupine.Operation{ClientId: ev.Client, Input: &start, Call: ev.Call, Return: ret},
				porcupine.Operation{ClientId: ev.Client, Input: &end, Call: ev.Call, Return: ret})
			continue
		}
		if sw, ok := p.op.(Sweep); ok && sw.Batch >= 1 {
			// The start has no effect but to let the steps begin, so it
			// is placed at the call, where the real start cannot precede:
			// steps allowed from the call on include every real order.
			// Left free to fall anywhere in the sweep's interval, the
			// starts of sweeps that overlap other operations multiply
			// the orders the search must tell apart.
			start, end := *p, *p
			start.role, end.role = sweepStart, sweepEnd
			ops = append(ops,
				porcupine.Operation{ClientId: ev.Client, Input: &start, Call: ev.Call, Return: ev.Call},
				porcupine.Operation{ClientId: ev.Client, Input: &end, Call: ev.Call, Return: ret})
			continue
		}
		ops = append(ops, porcupine.Operation{ClientId: ev.Client, Input: p, Call: ev.Call, Return: ret})
	}
	return ops
}

// run searches for a linearization of ops from init. Its result is
// Unknown if the search gave up.
func (c *checker) run(init *worlds, ops []porcupine.Operation, verbose bool) (porcupine.CheckResult, porcupine.LinearizationInfo) {
	s := &search{c: c, max: int64(c.opts.MaxSteps), judge: c.judge(), late: c.opts.Late}
	m := s.model(init)
	var res porcupine.CheckResult
	var info porcupine.LinearizationInfo
	if verbose {
		res, info = porcupine.CheckOperationsVerbose(m, ops, c.opts.Timeout)
	} else {
		res = porcupine.CheckOperationsTimeout(m, ops, c.opts.Timeout)
	}
	c.steps += s.steps.Load()
	if res == porcupine.Illegal && (s.exhausted.Load() || s.overflow.Load()) {
		res = porcupine.Unknown
		if s.overflow.Load() {
			c.why = fmt.Sprintf("more than %d possible states along one order of the operations: too many to track", maxWorlds)
		} else {
			c.why = fmt.Sprintf("the search took more than %d model steps (CheckOptions.MaxSteps)", c.opts.MaxSteps)
		}
	}
	if res == porcupine.Unknown && c.why == "" {
		c.why = fmt.Sprintf("the search ran out of time (CheckOptions.Timeout %v)", c.opts.Timeout)
	}
	return res, info
}

// checker holds one Check's history, options and counters.
type checker struct {
	h       *History
	opts    CheckOptions
	excused map[int]bool // failures a fault explains
	haunt   bool         // keep ghosts: the history has a second instance
	steps   int64        // model steps taken, all searches together
	why     string       // why a search gave up
}

// judge is how the history's outcomes are compared.
func (c *checker) judge() judge {
	return judge{countExpired: !c.h.NativeExpiry, versions: c.h.Trace.versioned()}
}

// Checked is the result of Check.
type Checked struct {
	Verdict Verdict
	// Reason says what is wrong, or why the check gave up.
	Reason string
	// Part is, for a history that is not linearizable, the smallest part of
	// it found that still is not: see Part.
	Part *Part
	// Steps is how many model steps the check took, all searches together.
	Steps int64

	history *History
}

// Check decides whether a history is linearizable with respect to the
// model: whether there is one order of its operations, consistent with
// real time (an operation that returned before another was called comes
// first) and with each client's own order, in which every operation's
// answer is the one the contract gives at its clock reading. It uses
// porcupine's search (Wing and Gong's, with Lowe's memoisation) over sets
// of possible states, so that ambiguous failures are applied or not,
// sweeps take their steps between other operations, and operations across
// IDs (ChangeID, DeleteExpired, Sweep) are checked exactly.
//
// Before searching, Check holds every failure to the fault that excuses
// it: the operation's own fault, or a server fault (crash, termination,
// statement timeout) that another client's operation was under while this
// one ran. Any other failure makes the history not linearizable: else a
// backend that failed everything would pass.
//
// The history is split into parts that share no ID only when no operation
// spans IDs (DeleteExpired and Sweep span all), which is when that is
// sound. For a history that is not linearizable, Check then finds a small
// part that still is not (see Part). The same history gives the same
// verdict and report every time: the search is deterministic and its
// budget counts steps, not seconds (unless a Timeout is set).
func Check(h *History, opts CheckOptions) *Checked {
	c := &checker{h: h, opts: opts.withDefaults()}
	out := &Checked{history: h}
	defer func() { out.Steps = c.steps }()
	c.excuse()
	c.haunt = h.SecondInstance && h.Faults["second-instance"] > 0
	groups := c.partitions()
	if i, ok := c.unexcused(); ok {
		// No order can explain it, so there is no need to search for
		// one; the search only finds the part to show.
		out.Verdict = NotLinearizable
		out.Reason = fmt.Sprintf("%s failed with no fault in effect: %v", c.describeOp(i), h.Events[i].Outcome.Err)
		for _, events := range groups {
			if slices.Contains(events, i) {
				out.Part = c.minimize(events)
			}
		}
		return out
	}
	unknown := ""
	for _, events := range groups {
		res, _ := c.run(initialWorlds(h), c.operations(events, nil), false)
		switch res {
		case porcupine.Illegal:
			out.Verdict = NotLinearizable
			out.Part = c.minimize(events)
			out.Reason = out.Part.reason
			return out
		case porcupine.Unknown:
			unknown = c.why
		}
	}
	if unknown != "" {
		out.Verdict, out.Reason = Unknown, unknown
	}
	return out
}

// excuse finds the failures a fault explains: the operation's own, or a
// server fault another operation was under while this one ran (a crash
// ends every connection, not only the armed operation's).
func (c *checker) excuse() {
	type window struct{ from, to int64 }
	var server []window
	for i := range c.h.Events {
		ev := &c.h.Events[i]
		if ev.ran() && ev.Fired.IsServer() {
			server = append(server, window{ev.Call, ev.Return})
		}
	}
	c.excused = map[int]bool{}
	for i := range c.h.Events {
		ev := &c.h.Events[i]
		if !ev.ran() || (ev.Outcome.Kind != Failed && ev.Outcome.Kind != Ambiguous) {
			continue
		}
		if ev.Fired != 0 || slices.ContainsFunc(server, func(w window) bool { return ev.Call <= w.to && w.from <= ev.Return }) {
			c.excused[i] = true
		}
	}
}

// unexcused finds the first failure that no fault explains.
func (c *checker) unexcused() (int, bool) {
	for i := range c.h.Events {
		ev := &c.h.Events[i]
		if ev.ran() && (ev.Outcome.Kind == Failed || ev.Outcome.Kind == Ambiguous) && !c.excused[i] {
			return i, true
		}
	}
	return 0, false
}

// partitions splits the history's events into independent groups: by the
// IDs they touch, merged across ChangeID, ChangeIDIf and Cycle, unless an
// operation spans every ID (DeleteExpired, Sweep, Scan, an owner's), in
// which case there is one group. Events with invalid IDs
// form groups of their own. Groups come in the order of their first event.
func (c *checker) partitions() [][]int {
	var events []int
	for i := range c.h.Events {
		if c.h.Events[i].ran() {
			events = append(events, i)
		}
	}
	parent := map[store.ID]store.ID{}
	var find func(store.ID) store.ID
	find = func(id store.ID) store.ID {
		p, ok := parent[id]
		if !ok || p == id {
			parent[id] = id
			return id
		}
		r := find(p)
		parent[id] = r
		return r
	}
	for _, i := range events {
		op := base(c.h.Trace.Ops[i])
		if ownerOp(op) {
			return [][]int{events} // an owner's sessions span IDs
		}
		switch o := op.(type) {
		case DeleteExpired, Sweep, Scan:
			return [][]int{events}
		case ChangeIDIf:
			a, b := find(o.Old), find(o.New)
			if a != b {
				parent[a] = b
			}
		case Cycle:
			a, b := find(o.Old), find(o.New)
			if a != b {
				parent[a] = b
			}
		case ChangeID:
			a, b := find(o.Old), find(o.New)
			if a != b {
				parent[a] = b
			}
		}
	}
	groups := map[store.ID]int{}
	var out [][]int
	for _, i := range events {
		id := opIDs(base(c.h.Trace.Ops[i]))[0] // ChangeID's two share a root
		root := find(id)
		g, ok := groups[root]
		if !ok {
			g = len(out)
			groups[root] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], i)
	}
	return out
}

// byCall sorts event indices by call.
func (c *checker) byCall(events []int) []int {
	out := slices.Clone(events)
	sort.Slice(out, func(a, b int) bool { return c.h.Events[out[a]].Call < c.h.Events[out[b]].Call })
	return out
}

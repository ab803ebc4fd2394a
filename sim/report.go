package sim

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// String is the report a person reads: the verdict, and for a history that
// is not linearizable the part that shows it, the state before it, each
// client's operations in it, and the one no order explains.
func (r *Checked) String() string {
	var b bytes.Buffer
	_ = r.WriteReport(&b)
	return b.String()
}

// WriteReport writes the report String returns.
func (r *Checked) WriteReport(w io.Writer) error {
	var b bytes.Buffer
	switch r.Verdict {
	case Linearizable:
		fmt.Fprintf(&b, "linearizable (%d operations, %d model steps)\n", r.history.Operations(), r.Steps)
	case Unknown:
		fmt.Fprintf(&b, "unknown: the check gave up: %s\n", r.Reason)
	case NotLinearizable:
		fmt.Fprintf(&b, "not linearizable: %s\n", r.Reason)
		if r.Part != nil {
			r.Part.write(&b)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Operations is how many store operations the history holds.
func (h *History) Operations() int {
	n := 0
	for i := range h.Events {
		if h.Events[i].ran() {
			n++
		}
	}
	return n
}

func (p *Part) write(b *bytes.Buffer) {
	c := p.c
	h := c.h
	clients := map[int]bool{}
	for _, i := range p.Events {
		clients[h.Events[i].Client] = true
	}
	where := "from the start of the trace"
	if p.After >= 0 {
		where = fmt.Sprintf("after step %d (%s)", p.After, h.Trace.Ops[p.After])
	}
	fmt.Fprintf(b, "smallest failing part: %s of %s, %s", plural(len(p.Events), "operation"), plural(len(clients), "client"), where)
	if len(p.Weak) > 0 {
		fmt.Fprintf(b, "; %d still running where it ends", len(p.Weak))
	}
	b.WriteString("\n")
	if p.States == 1 {
		fmt.Fprintf(b, "the store held before it: %s\n", c.describeWorld(p.init.ws[0]))
	} else {
		fmt.Fprintf(b, "the store held before it one of %d states:\n", p.States)
		for _, w := range p.init.ws {
			fmt.Fprintf(b, "  %s\n", c.describeWorld(w))
		}
	}
	if len(p.Events) > 0 {
		fmt.Fprintf(b, "the clock read %s (offsets are from the trace's start, %s)\n",
			offset(h.Events[p.Events[0]].Now, h.Trace.Start), h.Trace.Start.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(b, "%6s  %-6s  %-13s  %s\n", "step", "client", "call-return", "operation → what it returned")
	for _, i := range p.Events {
		ev := &h.Events[i]
		res := ev.Outcome.format(h.Trace.Ops[i], h.Trace.Start)
		if slices.Contains(p.Weak, i) {
			res = "(still running where the part ends: " + res + ")"
		}
		line := fmt.Sprintf("%6d  c%-5d  %-13s  %s → %s", i, ev.Client, fmt.Sprintf("%d-%d", ev.Call, ev.Return), opText(h.Trace.Ops[i]), res)
		if ev.Fired != 0 {
			line += "  [fault " + ev.Fired.String() + "]"
		}
		if i == p.Stuck {
			line += "  <-- no order explains this"
		}
		b.WriteString(line + "\n")
	}
	if order := longest(p.info); len(order) > 0 && p.Stuck >= 0 {
		var names []string
		for _, id := range order {
			in := p.ops[id].Input.(*input)
			if in.role == sweepStart || in.role == cleanEnd {
				continue
			}
			names = append(names, fmt.Sprintf("c%d %s", in.ev.Client, opText(h.Trace.Ops[in.i])))
		}
		fmt.Fprintf(b, "longest order that explains the answers: %s; then nothing explains step %d\n", strings.Join(names, ", "), p.Stuck)
	}
}

// opText is an operation's trace line without its client prefix.
func opText(op Op) string {
	_, op = clientOf(op)
	return op.String()
}

func offset(t, start time.Time) string {
	d := t.Sub(start)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

// describeOp names event i for a reason: its client, step and operation.
func (c *checker) describeOp(i int) string {
	return fmt.Sprintf("step %d, c%d %s", i, c.h.Events[i].Client, opText(c.h.Trace.Ops[i]))
}

// partReason says what the part shows.
func (c *checker) partReason(p *Part) string {
	if p.Stuck < 0 {
		return "no order of the operations explains what they returned"
	}
	ev := &c.h.Events[p.Stuck]
	if (ev.Outcome.Kind == Failed || ev.Outcome.Kind == Ambiguous) && !c.excused[p.Stuck] {
		return fmt.Sprintf("%s failed with no fault in effect: %v", c.describeOp(p.Stuck), ev.Outcome.Err)
	}
	return fmt.Sprintf("no order of the operations explains %s → %s", c.describeOp(p.Stuck), ev.Outcome.format(c.h.Trace.Ops[p.Stuck], c.h.Trace.Start))
}

// describeInput is an operation as porcupine's view shows it.
func (c *checker) describeInput(p *input) string {
	if p.role == exclusion {
		return "(states already listed)"
	}
	s := fmt.Sprintf("[%d] %s", p.i, opText(c.h.Trace.Ops[p.i]))
	switch p.role {
	case sweepStart:
		return s + " (starts)"
	case cleanEnd:
		return s + " (returns)"
	case sweepEnd:
		s += " (ends)"
	}
	if p.weak {
		return s + " → (still running)"
	}
	s += " → " + p.ev.Outcome.format(c.h.Trace.Ops[p.i], c.h.Trace.Start)
	if p.ev.Fired != 0 {
		s += " [fault " + p.ev.Fired.String() + "]"
	}
	return s
}

// describeWorlds is a state as porcupine's view shows it.
func (c *checker) describeWorlds(s *worlds) string {
	if len(s.ws) == 1 {
		return c.describeWorld(s.ws[0])
	}
	parts := make([]string, len(s.ws))
	for k, w := range s.ws {
		parts[k] = c.describeWorld(w)
	}
	return "one of: " + strings.Join(parts, " | ")
}

// describeWorld lists a world's records in ID order with their expiries as
// offsets from the trace's start, and its running sweeps.
func (c *checker) describeWorld(w *world) string {
	start := c.h.Trace.Start
	var parts []string
	for _, e := range w.m.Entries() {
		p := fmt.Sprintf("%s: %s until %s", formatID(e.ID), strconv.Quote(string(e.State)), offset(e.Expires, start))
		if !w.blind {
			p += " at version " + strconv.FormatUint(e.Version, 10)
		}
		parts = append(parts, p)
	}
	for _, g := range w.ghosts {
		parts = append(parts, fmt.Sprintf("%s: %s removed by a running cleanup, still visible to reads", formatID(g.id), strconv.Quote(string(g.rec.State))))
	}
	for _, r := range w.sweeps {
		state := "running"
		if r.done {
			state = "finished"
		}
		parts = append(parts, fmt.Sprintf("sweep of step %d: %s, %d removed", r.op, state, r.removed))
	}
	if len(parts) == 0 {
		return "{} (empty)"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// WriteHTML writes porcupine's interactive view of the failing part: each
// client's operations on a time line, the longest orders that explain
// them, and the states along those orders. Clock operations inside the
// part are marked. It is an error to call it on a history that is
// linearizable or could not be checked.
func (r *Checked) WriteHTML(w io.Writer) error {
	p := r.Part
	if p == nil {
		return fmt.Errorf("sim: no failing part to show (the verdict is %s)", r.Verdict)
	}
	s := &search{c: p.c, max: 1 << 62, judge: p.c.judge(), late: p.c.opts.Late}
	info := p.info
	info.AddAnnotations(p.annotations())
	var b bytes.Buffer
	if err := porcupine.Visualize(s.model(p.init), info, &b); err != nil {
		return fmt.Errorf("sim: rendering the history: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// annotations marks the clock operations between the part's operations,
// and the state it starts from.
func (p *Part) annotations() []porcupine.Annotation {
	h := p.c.h
	if len(p.Events) == 0 {
		return nil
	}
	first := h.Events[p.Events[0]].Call
	out := []porcupine.Annotation{{
		Tag: "start", Start: first,
		Description: fmt.Sprintf("%d possible state(s)", p.States),
		Details:     p.c.describeWorlds(p.init),
	}}
	lastEvent := slices.Max(p.Events)
	var latest int64 // the last return before the clock operation at hand
	for i := p.After + 1; i <= lastEvent && i < len(h.Trace.Ops); i++ {
		switch h.Trace.Ops[i].(type) {
		case Advance, Skew:
			if latest > 0 {
				out = append(out, porcupine.Annotation{Tag: "clock", Start: latest, Description: h.Trace.Ops[i].String()})
			}
			continue
		}
		if h.Events[i].ran() && slices.Contains(p.Events, i) {
			latest = max(latest, h.Events[i].Return)
		}
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

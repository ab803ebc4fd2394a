package sim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/store"
)

// History is what a concurrent run did: the trace, and for each of its
// store operations who ran it, at what clock reading, what it returned,
// and where its call and return fall in the run's order of events. It is
// the input of Check, and its text form (WriteTo, ParseHistory) lets a run
// be checked again offline, with the same verdict and report every time.
type History struct {
	Trace *Trace
	// Events is aligned with Trace.Ops: Events[i] is what operation i did.
	// Clock operations and faults have a zero Event (Call == 0).
	Events []Event
	// NativeExpiry is the backend's store.Capabilities.NativeExpiry: its
	// counts of expired records removed are not checked.
	NativeExpiry bool
	// SecondInstance says that operations marked @2 ran on a second
	// instance reading the skewed clock. Without one (the backend is
	// neither an Instancer nor a Clienter), they ran on the first instance
	// at its clock.
	SecondInstance bool
	// Faults counts the faults that fired, as Result.Faults does.
	Faults map[string]int
	// StoredIDs maps each of the trace's IDs that a keyed backend
	// (store.Keyer) stores under another ID to that stored ID: the
	// checker's model breaks ties and makes handles with them
	// (model.WithKey). It is empty for a plain backend. Record fills it
	// in, and the text form keeps it, so that a history of a keyed backend
	// is checked offline as it was when recorded.
	StoredIDs map[store.ID]store.ID

	lines []int // for a parsed history, each operation's line in the file
}

// Event is one operation of a history.
type Event struct {
	Client int
	// Now is the operation's clock reading (truncated by store.Instant).
	Now time.Time
	// Call and Return place the operation in the run's order of events:
	// every call and return took the next number of one counter, so an
	// operation that returned before another was called has smaller
	// numbers. Call is 0 for an operation that did not run (clock
	// operations, faults).
	Call, Return int64
	Outcome      Outcome
	// Fired is the fault that fired during the operation, if any.
	Fired faults.Kind
}

// ran reports whether the event is a store operation that ran.
func (e *Event) ran() bool { return e.Call > 0 }

// historyMagic starts a history file; flags follow it on the same line.
const historyMagic = "# hourglass history v1"

// WriteTo writes the history: the trace in its text format, so that the
// file replays as a trace, with each operation's record as a comment:
//
//	c3 load a  # ok "w5" expires=2026-01-01T00:00:00.001Z @17-24
//	c1 update a "w6" 1ms  # ambiguous "connection reset" @18-30 fired=net-drop
//
// A record is the outcome (as in a sequential history, but with errors
// quoted and expiries absolute), the operation's call and return numbers,
// and the fault that fired during it. The first line names the format and
// the backend's capabilities that the check depends on.
func (h *History) WriteTo(w io.Writer) (int64, error) {
	magic := historyMagic
	if h.NativeExpiry {
		magic += " native-expiry"
	}
	if h.SecondInstance {
		magic += " second-instance"
	}
	var stored []string
	for _, id := range slices.Sorted(maps.Keys(h.StoredIDs)) {
		stored = append(stored, "stored-id "+formatID(id)+" "+formatID(h.StoredIDs[id]))
	}
	return h.Trace.write(w, magic, stored, func(i int) string {
		if i >= len(h.Events) || !h.Events[i].ran() {
			return ""
		}
		return h.Events[i].record(h.Trace.Ops[i])
	})
}

// String renders the history in its text format.
func (h *History) String() string {
	var b bytes.Buffer
	_, _ = h.WriteTo(&b)
	return b.String()
}

// record renders an event as the comment of its operation's line.
func (e *Event) record(op Op) string {
	var b strings.Builder
	o := e.Outcome
	op = base(op)
	b.WriteString(o.Kind.String())
	switch {
	case o.Kind == OK:
		switch op.(type) {
		case Load, Touch:
			b.WriteString(" " + quoteState(o.Record.State) + " expires=" + o.Record.Expires.UTC().Format(time.RFC3339Nano))
			if o.Record.Owner != "" {
				b.WriteString(" owner " + strconv.Quote(string(o.Record.Owner)))
			}
			b.WriteString(formatVersionOf(o.Record))
		case UpdateIf, ChangeIDIf:
			b.WriteString(" version=" + strconv.FormatUint(o.Version, 10))
		case Scan:
			// The count, then each ID quoted: a backend's wrong answer,
			// an invalid ID included, must read back as it was given.
			b.WriteString(" " + strconv.Itoa(len(o.IDs)))
			for _, id := range o.IDs {
				b.WriteString(" " + strconv.Quote(string(id)))
			}
		case DeleteExpired, Sweep, RevokeAll:
			b.WriteString(" " + strconv.Itoa(o.N))
		case List:
			// The count, then each entry's quoted handle and expiry: a
			// backend's wrong answer must read back as it was given.
			b.WriteString(" " + strconv.Itoa(len(o.List)))
			for _, e := range o.List {
				b.WriteString(" " + strconv.Quote(string(e.Handle)) + " " + e.Expires.UTC().Format(time.RFC3339Nano))
			}
		}
	case o.Kind == Failed || o.Kind == Ambiguous:
		if _, ok := op.(Sweep); ok {
			b.WriteString(" removed=" + strconv.Itoa(o.N))
		}
		msg := ""
		if o.Err != nil {
			msg = o.Err.Error()
		}
		b.WriteString(" " + strconv.Quote(msg))
	}
	fmt.Fprintf(&b, " @%d-%d", e.Call, e.Return)
	if e.Fired != 0 {
		b.WriteString(" fired=" + e.Fired.String())
	}
	return b.String()
}

// ParseHistory reads a history written by History.WriteTo. Anything wrong
// with it, from a malformed line to events that cannot have happened (a
// client running two operations at once, an operation that returned before
// it was called, a clock operation while a client was busy), is a
// *ParseError; nothing in the input can make it panic.
func ParseHistory(r io.Reader) (*History, error) {
	h := &History{}
	// The first line says what the file is: check it before anything else,
	// so that a trace given for a history is named as such.
	br := bufio.NewReaderSize(r, 4096)
	head, err := br.Peek(len(historyMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	if string(head) != historyMagic {
		return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("not a history: the first line must be %q", historyMagic)}
	}
	var events []Event
	stored := func(id, key store.ID) error {
		if _, dup := h.StoredIDs[id]; dup {
			return errLine(fmt.Sprintf("a second stored-id line for %s", formatID(id)))
		}
		if h.StoredIDs == nil {
			h.StoredIDs = map[store.ID]store.ID{}
		}
		h.StoredIDs[id] = key
		return nil
	}
	t, first, err := parseTrace(br, func(line int, op Op, comment string) error {
		h.lines = append(h.lines, line)
		if !storeOp(op) {
			events = append(events, Event{})
			return nil
		}
		e, err := parseRecord(op, comment)
		if err != nil {
			return err
		}
		e.Client, _ = clientOf(op)
		events = append(events, e)
		return nil
	}, stored)
	if err != nil {
		return nil, err
	}
	flags, ok := strings.CutPrefix(first, historyMagic)
	if !ok || (flags != "" && flags[0] != ' ') {
		return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("not a history: the first line must be %q", historyMagic)}
	}
	for _, f := range strings.Fields(flags) {
		switch f {
		case "native-expiry":
			h.NativeExpiry = true
		case "second-instance":
			h.SecondInstance = true
		default:
			return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("unknown history flag %q", clip(f))}
		}
	}
	h.Trace, h.Events = t, events
	if err := h.settle(); err != nil {
		return nil, err
	}
	h.Faults = h.countFaults()
	return h, nil
}

// parseRecord reads an operation's record from its line's comment.
func parseRecord(op Op, comment string) (Event, error) {
	var e Event
	toks, hash, err := tokenize(comment)
	switch {
	case err != nil:
		return e, errLine("record: " + err.Error())
	case hash >= 0:
		return e, errLine("record: a second '#'")
	case len(toks) == 0:
		return e, errLine("no record after the operation (want a comment such as  # ok @1-2)")
	}
	if toks[0].quoted {
		return e, errLine("record: the outcome cannot be quoted")
	}
	kind, ok := parseKind(toks[0].text)
	if !ok {
		return e, errLine(fmt.Sprintf("record: unknown outcome %q", clip(toks[0].text)))
	}
	e.Outcome.Kind = kind
	rest := toks[1:]
	take := func() (token, bool) {
		if len(rest) == 0 {
			return token{}, false
		}
		t := rest[0]
		rest = rest[1:]
		return t, true
	}
	op = base(op)
	_, isSweep := op.(Sweep)
	switch {
	case kind == OK:
		switch op.(type) {
		case Load, Touch:
			st, ok := take()
			if !ok || !st.quoted {
				return e, errLine("record: a load that succeeded needs its state, quoted")
			}
			ex, ok := take()
			v, found := strings.CutPrefix(ex.text, "expires=")
			if !ok || ex.quoted || !found {
				return e, errLine("record: a load that succeeded needs expires=TIME")
			}
			ts, err := parseInstant(v)
			if err != nil {
				return e, err
			}
			e.Outcome.Record = store.Record{State: []byte(st.text), Expires: ts}
			if len(rest) > 0 && rest[0].text == "owner" && !rest[0].quoted {
				if len(rest) < 2 || !rest[1].quoted {
					return e, errLine("record: owner needs a quoted owner after it")
				}
				e.Outcome.Record.Owner = store.Owner(rest[1].text)
				rest = rest[2:]
			}
			if len(rest) > 0 && strings.HasPrefix(rest[0].text, "version=") && !rest[0].quoted {
				v, err := parseRecordVersion(rest[0])
				if err != nil || v == 0 {
					// 0 is written as no version at all.
					return e, errLine(fmt.Sprintf("record: bad version %q (want version=N, N from 1)", clip(rest[0].text)))
				}
				e.Outcome.Record.Version = v
				rest = rest[1:]
			}
		case UpdateIf, ChangeIDIf:
			vt, ok := take()
			v, err := parseRecordVersion(vt)
			if !ok || err != nil {
				return e, errLine("record: a conditional write that succeeded needs version=N")
			}
			e.Outcome.Version = v
		case Scan:
			n, ok := take()
			c, err := parseInt(n)
			if !ok || err != nil || c < 0 || c >= len(rest) { // the interval follows the IDs
				return e, errLine("record: a scan that succeeded needs its length, then each ID quoted")
			}
			for range c {
				id, _ := take()
				if !id.quoted {
					return e, errLine("record: a scanned ID is quoted")
				}
				e.Outcome.IDs = append(e.Outcome.IDs, store.ID(id.text))
			}
		case DeleteExpired, Sweep, RevokeAll:
			n, ok := take()
			if !ok {
				return e, errLine("record: a count must follow ok")
			}
			c, err := parseInt(n)
			if err != nil || c < 0 {
				return e, errLine(fmt.Sprintf("record: bad count %q", clip(n.text)))
			}
			e.Outcome.N = c
		case List:
			n, ok := take()
			c, err := parseInt(n)
			if !ok || err != nil || c < 0 || 2*c > len(rest) {
				return e, errLine("record: a list that succeeded needs its length, then a quoted handle and an expiry per entry")
			}
			for range c {
				h, _ := take()
				ex, _ := take()
				if !h.quoted || ex.quoted {
					return e, errLine("record: a list entry is a quoted handle and an expiry")
				}
				ts, err := parseInstant(ex.text)
				if err != nil {
					return e, err
				}
				e.Outcome.List = append(e.Outcome.List, store.OwnedSession{Handle: store.Handle(h.text), Expires: ts})
			}
		}
	case kind == Failed || kind == Ambiguous:
		if isSweep {
			n, ok := take()
			v, found := strings.CutPrefix(n.text, "removed=")
			c, err := strconv.Atoi(v)
			if !ok || n.quoted || !found || err != nil || c < 0 {
				return e, errLine("record: a failed sweep needs removed=N")
			}
			e.Outcome.N = c
		}
		msg, ok := take()
		if !ok || !msg.quoted {
			return e, errLine("record: a failure needs its error, quoted")
		}
		e.Outcome.Err = errors.New(msg.text)
	}
	at, ok := take()
	if !ok || at.quoted || !strings.HasPrefix(at.text, "@") {
		return e, errLine("record: want @CALL-RETURN after the outcome")
	}
	a, b, found := strings.Cut(at.text[1:], "-")
	call, err1 := strconv.ParseInt(a, 10, 64)
	ret, err2 := strconv.ParseInt(b, 10, 64)
	if !found || err1 != nil || err2 != nil || call < 1 || ret <= call {
		return e, errLine(fmt.Sprintf("record: bad interval %q (want @CALL-RETURN, 0 < CALL < RETURN)", clip(at.text)))
	}
	e.Call, e.Return = call, ret
	if f, ok := take(); ok {
		v, found := strings.CutPrefix(f.text, "fired=")
		k, err := faults.ParseKind(v)
		if f.quoted || !found || err != nil {
			return e, errLine(fmt.Sprintf("record: bad fault %q (want fired=KIND)", clip(f.text)))
		}
		e.Fired = k
	}
	if len(rest) > 0 {
		return e, errLine(fmt.Sprintf("record: unexpected %q at the end", clip(rest[0].text)))
	}
	return e, nil
}

// parseRecordVersion reads version=N.
func parseRecordVersion(t token) (uint64, error) {
	v, found := strings.CutPrefix(t.text, "version=")
	if t.quoted || !found {
		return 0, errLine("want version=N")
	}
	return parseVersion(token{text: v})
}

func parseKind(s string) (Kind, bool) {
	for k, name := range kindNames {
		if name == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// settle derives each event's clock reading from the trace's clock
// operations and holds the events to what a run can produce: distinct
// event numbers, each client running one operation at a time in trace
// order, and no operation running across a clock operation.
func (h *History) settle() error {
	t := h.Trace
	// The clocks as Record keeps them, so that readings agree to the
	// nanosecond whatever the advances add up to.
	clk := [2]*clock.Sim{clock.NewSim(t.Start), clock.NewSim(t.Start)}
	seen := make(map[int64]int, 2*len(h.Events))
	n := max(t.Clients, 1)
	last := make([]int64, n)        // per client, its last return
	armed := make([]faults.Kind, n) // per client, the fault its next operation runs under
	var barrier, latest int64       // the last return before the last clock operation; the last one so far
	for i, op := range t.Ops {
		switch o := op.(type) {
		case Advance:
			clk[0].Add(o.D)
			clk[1].Add(o.D)
			barrier = latest
			continue
		case Skew:
			clk[1].Set(clk[0].Now().Add(o.D))
			barrier = latest
			continue
		}
		c, inner := clientOf(op)
		if f, ok := inner.(Fault); ok {
			armed[c] = f.Kind
			continue
		}
		e := &h.Events[i]
		line := func(msg string, args ...any) error {
			l := 0
			if i < len(h.lines) {
				l = h.lines[i]
			}
			return &ParseError{Line: l, Msg: fmt.Sprintf(msg, args...)}
		}
		if e.Fired != 0 && e.Fired != armed[c] {
			return line("fired=%s, but no such fault was armed for it", e.Fired)
		}
		armed[c] = 0
		for _, n := range []int64{e.Call, e.Return} {
			if j, dup := seen[n]; dup {
				return line("event number %d also belongs to operation %d", n, j+1)
			}
			seen[n] = i
		}
		if e.Call <= last[e.Client] {
			return line("client c%d called it at %d, before its previous operation returned (at %d)", e.Client, e.Call, last[e.Client])
		}
		if e.Call <= barrier {
			return line("called at %d, before an operation that precedes a clock operation returned (at %d)", e.Call, barrier)
		}
		last[e.Client] = e.Return
		latest = max(latest, e.Return)
		inst := 0
		if _, ok := inner.(Second); ok && h.SecondInstance {
			inst = 1
		}
		e.Now = store.Instant(clk[inst].Now())
	}
	return nil
}

// countFaults counts the faults that fired, and the clock faults, as
// Result.Faults does.
func (h *History) countFaults() map[string]int {
	out := map[string]int{}
	for i, op := range h.Trace.Ops {
		if i < len(h.Events) && h.Events[i].Fired != 0 {
			out[h.Events[i].Fired.String()]++
		}
		switch o := op.(type) {
		case Advance:
			if o.D < 0 {
				out["clock-back"]++
			}
		case Skew:
			out["skew"]++
		}
		if _, inner := clientOf(op); h.SecondInstance && is[Second](inner) {
			out["second-instance"]++
		}
	}
	return out
}

// parseInstant reads an RFC 3339 instant of a record.
func parseInstant(v string) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || ts.Year() < 1 || ts.Year() > 9999 {
		return time.Time{}, errLine(fmt.Sprintf("record: bad expiry %q (want RFC 3339)", clip(v)))
	}
	return ts.UTC(), nil
}

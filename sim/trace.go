package sim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Trace is a complete, replayable run: where the clock starts, the limits the
// store is built with, and the operations in order. Seed records where the
// trace came from; it does not affect a replay.
type Trace struct {
	Seed uint64
	// Clients is the number of concurrent clients: 0 or 1 for a
	// sequential trace, whose operations carry no Client wrapper. In a
	// trace of several clients every store operation and fault is a
	// Client, and every Advance and Skew is a barrier (see Record).
	Clients int
	Start   time.Time
	Limits  store.Limits
	// Versions says that the trace checks versions: the version of each
	// record Load and Touch return is held to the model's. It needs a
	// backend with store.Versioner. A trace with a conditional write
	// (UpdateIf, ChangeIDIf) checks them whatever it says.
	Versions bool
	Ops      []Op
}

// MaxClients bounds the clients of a trace.
const MaxClients = 64

// concurrent reports whether the trace runs on several clients.
func (t *Trace) concurrent() bool { return t.Clients > 1 }

// MaxTraceLine bounds one line of a trace file, so that a corrupt file cannot
// make the parser hold an unbounded line in memory.
const MaxTraceLine = 1 << 20

// ParseError says where a trace file is wrong.
type ParseError struct {
	Line int    // 1-based
	Msg  string // what is wrong with it
}

func (e *ParseError) Error() string { return "trace line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// The header lines of a trace file, before the first operation:
//
//	seed N
//	clients N                    (2 to MaxClients; absent for one client)
//	start 2026-01-01T00:00:00Z   (RFC 3339, nanoseconds allowed)
//	limits state=BYTES ttl=DURATION [owner-cap=N]
//	versions                     (the trace checks versions: Trace.Versions)
//
// start is required; the others are optional (limits default to the
// store's defaults). A history adds a stored-id line for each ID a keyed
// backend stored under another (History.StoredIDs); a trace ignores them.

// WriteTo writes the trace in the text format.
func (t *Trace) WriteTo(w io.Writer) (int64, error) {
	return t.write(w, traceMagic, nil, nil)
}

// String renders the trace in the text format.
func (t *Trace) String() string {
	var b bytes.Buffer
	_, _ = t.WriteTo(&b)
	return b.String()
}

// traceMagic is the first line of a trace file.
const traceMagic = "# hourglass trace v1"

// write writes the trace under the first line magic, with the lines extra
// after its header lines, and note(i), if it is not empty, as a comment
// after operation i.
func (t *Trace) write(w io.Writer, magic string, extra []string, note func(i int) string) (int64, error) {
	var b bytes.Buffer
	b.WriteString(magic)
	b.WriteByte('\n')
	fmt.Fprintf(&b, "seed %d\n", t.Seed)
	if t.concurrent() {
		fmt.Fprintf(&b, "clients %d\n", t.Clients)
	}
	fmt.Fprintf(&b, "start %s\n", t.Start.UTC().Format(time.RFC3339Nano))
	l := t.Limits.WithDefaults()
	fmt.Fprintf(&b, "limits state=%d ttl=%v", l.MaxStateSize, l.MaxTTL)
	if l.MaxPerOwner != 0 {
		fmt.Fprintf(&b, " owner-cap=%d", l.MaxPerOwner)
	}
	b.WriteByte('\n')
	if t.Versions {
		b.WriteString("versions\n")
	}
	for _, line := range extra {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	for i, op := range t.Ops {
		b.WriteString(op.String())
		if note != nil {
			if c := note(i); c != "" {
				b.WriteString("  # ")
				b.WriteString(c)
			}
		}
		b.WriteByte('\n')
	}
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

// ParseTrace reads a trace in the text format. Any problem is a *ParseError
// naming the line; nothing in the input can make it panic.
func ParseTrace(r io.Reader) (*Trace, error) {
	t, _, err := parseTrace(r, nil, nil)
	return t, err
}

// parseTrace reads a trace, calling record (if not nil) with the comment
// of every operation's line, and stored (if not nil) with every stored-id
// line's IDs, as ParseHistory needs. It returns the first line too, where
// a history says what it is.
func parseTrace(r io.Reader, record func(line int, op Op, comment string) error, stored func(id, key store.ID) error) (*Trace, string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), MaxTraceLine)
	t := &Trace{}
	var sawStart bool
	var first string
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			first = text
		}
		toks, hash, err := tokenize(text)
		if err != nil {
			return nil, "", &ParseError{Line: line, Msg: err.Error()}
		}
		if len(toks) == 0 {
			continue
		}
		if !toks[0].quoted {
			handled, err := t.parseHeader(toks, len(t.Ops) > 0)
			if err != nil {
				return nil, "", &ParseError{Line: line, Msg: err.Error()}
			}
			if handled {
				sawStart = sawStart || toks[0].text == "start"
				continue
			}
			if toks[0].text == "stored-id" {
				if err := parseStoredID(toks, len(t.Ops) > 0, stored); err != nil {
					return nil, "", &ParseError{Line: line, Msg: err.Error()}
				}
				continue
			}
		}
		op, err := parseOp(toks)
		if err != nil {
			return nil, "", &ParseError{Line: line, Msg: err.Error()}
		}
		if !sawStart {
			return nil, "", &ParseError{Line: line, Msg: "operation before the start line"}
		}
		if err := t.checkClient(op); err != nil {
			return nil, "", &ParseError{Line: line, Msg: err.Error()}
		}
		if record != nil {
			comment := ""
			if hash >= 0 {
				comment = text[hash+1:]
			}
			if err := record(line, op, comment); err != nil {
				return nil, "", &ParseError{Line: line, Msg: err.Error()}
			}
		}
		t.Ops = append(t.Ops, op)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, "", &ParseError{Line: line + 1, Msg: fmt.Sprintf("line longer than %d bytes", MaxTraceLine)}
		}
		return nil, "", fmt.Errorf("reading trace: %w", err)
	}
	if !sawStart {
		return nil, "", &ParseError{Line: line, Msg: "no start line: not a trace file"}
	}
	t.Limits = t.Limits.WithDefaults()
	return t, first, nil
}

func (t *Trace) parseHeader(toks []token, afterOps bool) (bool, error) {
	name := toks[0].text
	if name != "seed" && name != "start" && name != "limits" && name != "clients" && name != "versions" {
		return false, nil
	}
	if afterOps {
		return true, errLine(name + " line after the first operation")
	}
	switch name {
	case "versions":
		if len(toks) != 1 {
			return true, errLine("versions takes no argument")
		}
		t.Versions = true
	case "seed":
		if len(toks) != 2 {
			return true, errLine("seed takes one number")
		}
		n, err := strconv.ParseUint(toks[1].text, 10, 64)
		if err != nil {
			return true, errLine(fmt.Sprintf("bad seed %q", clip(toks[1].text)))
		}
		t.Seed = n
	case "clients":
		if len(toks) != 2 {
			return true, errLine("clients takes one number")
		}
		n, err := strconv.Atoi(toks[1].text)
		if err != nil || n < 2 || n > MaxClients {
			return true, errLine(fmt.Sprintf("clients %q: want a number from 2 to %d (a trace without the line has one client)", clip(toks[1].text), MaxClients))
		}
		t.Clients = n
	case "start":
		if len(toks) != 2 {
			return true, errLine("start takes one RFC 3339 time")
		}
		ts, err := time.Parse(time.RFC3339Nano, toks[1].text)
		if err != nil {
			return true, errLine(fmt.Sprintf("bad start time %q (want RFC 3339, e.g. 2026-01-01T00:00:00Z)", clip(toks[1].text)))
		}
		// The simulated clock counts Unix nanoseconds.
		if ts.Year() < 1678 || ts.Year() > 2261 {
			return true, errLine("start time outside the years 1678 to 2261")
		}
		t.Start = ts.UTC()
	case "limits":
		for _, kv := range toks[1:] {
			k, v, ok := strings.Cut(kv.text, "=")
			switch {
			case !ok:
				return true, errLine(fmt.Sprintf("limits: want key=value, got %q", clip(kv.text)))
			case k == "state":
				n, err := strconv.Atoi(v)
				if err != nil || n <= 0 {
					return true, errLine(fmt.Sprintf("limits: bad state size %q", clip(v)))
				}
				t.Limits.MaxStateSize = n
			case k == "ttl":
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return true, errLine(fmt.Sprintf("limits: bad ttl %q", clip(v)))
				}
				t.Limits.MaxTTL = d
			case k == "owner-cap":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return true, errLine(fmt.Sprintf("limits: bad owner-cap %q (want 0 for none, or more)", clip(v)))
				}
				t.Limits.MaxPerOwner = n
			default:
				return true, errLine(fmt.Sprintf("limits: unknown key %q", clip(k)))
			}
		}
	}
	return true, nil
}

// parseStoredID reads a stored-id line, ID then the ID a keyed backend
// stored it under, and passes them to stored (nil: checked and ignored).
func parseStoredID(toks []token, afterOps bool, stored func(id, key store.ID) error) error {
	if afterOps {
		return errLine("stored-id line after the first operation")
	}
	if len(toks) != 3 {
		return errLine("stored-id takes 2 arguments: stored-id ID STORED-ID")
	}
	if stored == nil {
		return nil
	}
	return stored(store.ID(toks[1].text), store.ID(toks[2].text))
}

// checkClient holds an operation to the trace's client count: in a trace of
// several clients, every store operation and fault names one that exists,
// and in a trace of one, none does.
func (t *Trace) checkClient(op Op) error {
	c, ok := op.(Client)
	switch {
	case !t.concurrent() && ok:
		return errLine(fmt.Sprintf("c%d: the trace has one client (a clients line before the first operation gives more)", c.N))
	case !t.concurrent():
		return nil
	case ok && c.N >= t.Clients:
		return errLine(fmt.Sprintf("c%d: the trace has clients c0 to c%d", c.N, t.Clients-1))
	case ok:
		return nil
	}
	switch op.(type) {
	case Advance, Skew:
		return nil
	}
	return errLine("in a trace of several clients, every store operation and fault names its client (c0 OPERATION)")
}

// storeOp reports whether op runs against a store (and so has an outcome).
func storeOp(op Op) bool {
	_, op = clientOf(op)
	switch op.(type) {
	case Advance, Fault, Skew:
		return false
	}
	return true
}

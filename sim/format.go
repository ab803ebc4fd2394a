package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/store"
)

// The trace format, one operation a line:
//
//	create ID STATE TTL
//	load ID
//	update ID STATE TTL
//	update-ttl ID TTL
//	delete ID
//	change-id OLD NEW
//	delete-expired LIMIT
//	sweep BATCH
//	advance DURATION
//	fault KIND           (arms a fault for the next store operation)
//	skew DURATION        (the second instance's clock: the first's plus DURATION)
//	@2 OPERATION         (runs OPERATION on the second instance)
//	cN OPERATION         (client N runs OPERATION: a store operation, a fault or @2)
//
// and those of the optional capabilities (store.Owners, store.Toucher):
//
//	create-owned ID OWNER STATE TTL CAP
//	cycle OLD NEW OWNER STATE TTL CAP   (OWNER "" leaves the session with none)
//	list OWNER
//	revoke OWNER ID                     (by the handle of ID)
//	revoke-handle OWNER HANDLE          (by HANDLE as written, a quoted string)
//	revoke-all OWNER [EXCEPT-ID ...]
//	touch ID TTL RESOLUTION
//
// and those of store.Versioner and store.Scanner:
//
//	update-if ID VERSION STATE TTL      (TTL "keep" is store.KeepTTL)
//	change-id-if OLD NEW VERSION STATE
//	scan AFTER LIMIT                    (AFTER "" starts at the beginning)
//
// OWNER is always a Go-quoted string, like STATE.
// IDs are written bare when valid and as Go-quoted strings otherwise (so an
// invalid ID in a trace survives a round trip). STATE is always a Go-quoted
// string, durations use Go's syntax ("1.5s", "-1µs", "90ns"). '#' starts a
// comment outside a quoted string; the simulator writes each outcome as one.

func (o Create) String() string {
	return "create " + formatID(o.ID) + " " + quoteState(o.State) + " " + o.TTL.String()
}
func (o Load) String() string { return "load " + formatID(o.ID) }
func (o Update) String() string {
	return "update " + formatID(o.ID) + " " + quoteState(o.State) + " " + o.TTL.String()
}
func (o UpdateTTL) String() string     { return "update-ttl " + formatID(o.ID) + " " + o.TTL.String() }
func (o Delete) String() string        { return "delete " + formatID(o.ID) }
func (o ChangeID) String() string      { return "change-id " + formatID(o.Old) + " " + formatID(o.New) }
func (o DeleteExpired) String() string { return "delete-expired " + strconv.Itoa(o.Limit) }
func (o Sweep) String() string         { return "sweep " + strconv.Itoa(o.Batch) }
func (o Advance) String() string       { return "advance " + o.D.String() }
func (o Fault) String() string {
	if o.At > 1 {
		return "fault " + o.Kind.String() + " " + strconv.Itoa(o.At)
	}
	return "fault " + o.Kind.String()
}
func (o CreateOwned) String() string {
	return "create-owned " + formatID(o.ID) + " " + quoteOwner(o.Owner) + " " + quoteState(o.State) + " " + o.TTL.String() + " " + strconv.Itoa(o.Cap)
}
func (o Cycle) String() string {
	return "cycle " + formatID(o.Old) + " " + formatID(o.New) + " " + quoteOwner(o.Owner) + " " + quoteState(o.State) + " " + o.TTL.String() + " " + strconv.Itoa(o.Cap)
}
func (o List) String() string { return "list " + quoteOwner(o.Owner) }
func (o Revoke) String() string {
	if o.Handle != "" {
		return "revoke-handle " + quoteOwner(o.Owner) + " " + strconv.Quote(string(o.Handle))
	}
	return "revoke " + quoteOwner(o.Owner) + " " + formatID(o.ID)
}
func (o RevokeAll) String() string {
	var b strings.Builder
	b.WriteString("revoke-all " + quoteOwner(o.Owner))
	for _, id := range o.Except {
		b.WriteString(" " + formatID(id))
	}
	return b.String()
}
func (o Touch) String() string {
	return "touch " + formatID(o.ID) + " " + o.TTL.String() + " " + o.Resolution.String()
}
func (o Skew) String() string   { return "skew " + o.D.String() }
func (o Second) String() string { return "@2 " + o.Op.String() }
func (o Client) String() string { return "c" + strconv.Itoa(o.N) + " " + o.Op.String() }

// clientPrefix reports whether a word names a client ("c0", "c7") and which.
func clientPrefix(t token) (int, bool) {
	s := t.text
	if t.quoted || len(s) < 2 || len(s) > 4 || s[0] != 'c' {
		return 0, false
	}
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = 10*n + int(s[i]-'0')
	}
	if len(s) > 2 && s[1] == '0' {
		return 0, false // one spelling per client: "c01" is not "c1"
	}
	return n, true
}

func formatID(id store.ID) string {
	if id.Validate() == nil {
		return string(id)
	}
	return strconv.Quote(string(id))
}

func quoteState(b []byte) string { return strconv.Quote(string(b)) }

func quoteOwner(o store.Owner) string { return strconv.Quote(string(o)) }

// token is one word of a line; quoted records whether it was written as a
// Go string literal (a quoted "5" is a state, never a number).
type token struct {
	text   string
	quoted bool
}

// errLine is a problem within one line; ParseTrace adds the line number.
type errLine string

func (e errLine) Error() string { return string(e) }

// tokenize splits a line into words, honouring Go-quoted strings and
// dropping a trailing comment. It also returns where the comment's '#' is
// (-1 for none): a history keeps each operation's record there.
func tokenize(line string) ([]token, int, error) {
	var toks []token
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			return toks, i, nil
		case c == '"':
			q, err := strconv.QuotedPrefix(line[i:])
			if err != nil {
				return nil, -1, errLine("unterminated or malformed quoted string at column " + strconv.Itoa(i+1))
			}
			s, err := strconv.Unquote(q)
			if err != nil {
				return nil, -1, errLine("malformed quoted string at column " + strconv.Itoa(i+1))
			}
			toks = append(toks, token{text: s, quoted: true})
			i += len(q)
			if i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '#' {
				return nil, -1, errLine("no space after quoted string at column " + strconv.Itoa(i+1))
			}
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' && line[j] != '#' {
				j++
			}
			toks = append(toks, token{text: line[i:j]})
			i = j
		}
	}
	return toks, -1, nil
}

// parseOp turns the words of one line into an operation.
func parseOp(toks []token) (Op, error) {
	name, args := toks[0], toks[1:]
	if name.quoted {
		return nil, errLine("an operation name cannot be quoted")
	}
	if name.text == "@2" {
		if len(args) == 0 {
			return nil, errLine("@2 needs an operation after it")
		}
		op, err := parseOp(args)
		if err != nil {
			return nil, err
		}
		switch op.(type) {
		case Advance, Fault, Skew, Second, Client:
			return nil, errLine("@2 applies to store operations only")
		}
		return Second{Op: op}, nil
	}
	if n, ok := clientPrefix(name); ok {
		if len(args) == 0 {
			return nil, errLine(name.text + " needs an operation after it")
		}
		op, err := parseOp(args)
		if err != nil {
			return nil, err
		}
		switch op.(type) {
		case Advance, Skew:
			return nil, errLine("clock operations belong to no client: every client waits for them")
		case Client:
			return nil, errLine("one client prefix per line")
		}
		return Client{N: n, Op: op}, nil
	}
	want := func(n int, usage string) error {
		if len(args) != n {
			return errLine(fmt.Sprintf("%s takes %d argument(s): %s", name.text, n, usage))
		}
		return nil
	}
	switch name.text {
	case "create", "update":
		if err := want(3, name.text+" ID STATE TTL"); err != nil {
			return nil, err
		}
		if !args[1].quoted {
			return nil, errLine("STATE must be a quoted string")
		}
		ttl, err := parseDuration(args[2])
		if err != nil {
			return nil, err
		}
		if name.text == "create" {
			return Create{ID: store.ID(args[0].text), State: []byte(args[1].text), TTL: ttl}, nil
		}
		return Update{ID: store.ID(args[0].text), State: []byte(args[1].text), TTL: ttl}, nil
	case "load":
		if err := want(1, "load ID"); err != nil {
			return nil, err
		}
		return Load{ID: store.ID(args[0].text)}, nil
	case "update-ttl":
		if err := want(2, "update-ttl ID TTL"); err != nil {
			return nil, err
		}
		ttl, err := parseDuration(args[1])
		if err != nil {
			return nil, err
		}
		return UpdateTTL{ID: store.ID(args[0].text), TTL: ttl}, nil
	case "delete":
		if err := want(1, "delete ID"); err != nil {
			return nil, err
		}
		return Delete{ID: store.ID(args[0].text)}, nil
	case "change-id":
		if err := want(2, "change-id OLD NEW"); err != nil {
			return nil, err
		}
		return ChangeID{Old: store.ID(args[0].text), New: store.ID(args[1].text)}, nil
	case "delete-expired", "sweep":
		arg := " LIMIT"
		if name.text == "sweep" {
			arg = " BATCH"
		}
		if err := want(1, name.text+arg); err != nil {
			return nil, err
		}
		n, err := parseInt(args[0])
		if err != nil {
			return nil, err
		}
		if name.text == "sweep" {
			return Sweep{Batch: n}, nil
		}
		return DeleteExpired{Limit: n}, nil
	case "advance", "skew":
		if err := want(1, name.text+" DURATION"); err != nil {
			return nil, err
		}
		d, err := parseDuration(args[0])
		if err != nil {
			return nil, err
		}
		if name.text == "skew" {
			return Skew{D: d}, nil
		}
		return Advance{D: d}, nil
	case "create-owned", "cycle", "list", "revoke", "revoke-handle", "revoke-all", "touch":
		return parseOwnerOp(name.text, args)
	case "update-if", "change-id-if", "scan":
		return parseVersionOp(name.text, args)
	case "fault":
		if len(args) != 1 && len(args) != 2 {
			return nil, errLine("fault takes 1 or 2 arguments: fault KIND [REQUEST]")
		}
		k, err := faults.ParseKind(args[0].text)
		if err != nil || args[0].quoted {
			return nil, errLine(fmt.Sprintf("bad fault %q", clip(args[0].text)))
		}
		at := 1
		if len(args) == 2 {
			if at, err = parseInt(args[1]); err != nil || at < 1 || at > 1000 {
				return nil, errLine(fmt.Sprintf("fault request number %q out of range [1, 1000]", clip(args[1].text)))
			}
		}
		return Fault{Kind: k, At: at}, nil
	}
	return nil, errLine(fmt.Sprintf("unknown operation %q", clip(name.text)))
}

func parseDuration(t token) (time.Duration, error) {
	if t.quoted {
		return 0, errLine("a duration cannot be quoted")
	}
	d, err := time.ParseDuration(t.text)
	if err != nil {
		return 0, errLine(fmt.Sprintf("bad duration %q (want Go syntax such as 1.5s or 250µs)", clip(t.text)))
	}
	return d, nil
}

func parseInt(t token) (int, error) {
	n, err := strconv.Atoi(t.text)
	if err != nil || t.quoted {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, errLine(fmt.Sprintf("number %q out of range", clip(t.text)))
		}
		return 0, errLine(fmt.Sprintf("bad number %q", clip(t.text)))
	}
	return n, nil
}

// clip keeps error messages short whatever the input.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// parseOwnerOp parses the operations of the optional capabilities.
func parseOwnerOp(name string, args []token) (Op, error) {
	want := func(n int, usage string) error {
		if len(args) != n {
			return errLine(fmt.Sprintf("%s takes %d argument(s): %s", name, n, usage))
		}
		return nil
	}
	owner := func(t token) (store.Owner, error) {
		if !t.quoted {
			return "", errLine("OWNER must be a quoted string")
		}
		return store.Owner(t.text), nil
	}
	state := func(t token) ([]byte, error) {
		if !t.quoted {
			return nil, errLine("STATE must be a quoted string")
		}
		return []byte(t.text), nil
	}
	switch name {
	case "create-owned":
		if err := want(5, "create-owned ID OWNER STATE TTL CAP"); err != nil {
			return nil, err
		}
		o, err := owner(args[1])
		if err != nil {
			return nil, err
		}
		st, err := state(args[2])
		if err != nil {
			return nil, err
		}
		ttl, err := parseDuration(args[3])
		if err != nil {
			return nil, err
		}
		cap, err := parseInt(args[4])
		if err != nil {
			return nil, err
		}
		return CreateOwned{ID: store.ID(args[0].text), Owner: o, State: st, TTL: ttl, Cap: cap}, nil
	case "cycle":
		if err := want(6, "cycle OLD NEW OWNER STATE TTL CAP"); err != nil {
			return nil, err
		}
		o, err := owner(args[2])
		if err != nil {
			return nil, err
		}
		st, err := state(args[3])
		if err != nil {
			return nil, err
		}
		ttl, err := parseDuration(args[4])
		if err != nil {
			return nil, err
		}
		cap, err := parseInt(args[5])
		if err != nil {
			return nil, err
		}
		return Cycle{Old: store.ID(args[0].text), New: store.ID(args[1].text), Owner: o, State: st, TTL: ttl, Cap: cap}, nil
	case "list":
		if err := want(1, "list OWNER"); err != nil {
			return nil, err
		}
		o, err := owner(args[0])
		if err != nil {
			return nil, err
		}
		return List{Owner: o}, nil
	case "revoke", "revoke-handle":
		usage := "revoke OWNER ID"
		if name == "revoke-handle" {
			usage = "revoke-handle OWNER HANDLE"
		}
		if err := want(2, usage); err != nil {
			return nil, err
		}
		o, err := owner(args[0])
		if err != nil {
			return nil, err
		}
		if name == "revoke" {
			return Revoke{Owner: o, ID: store.ID(args[1].text)}, nil
		}
		if !args[1].quoted || args[1].text == "" {
			// An empty handle would read back as revoke-by-ID.
			return nil, errLine("HANDLE must be a non-empty quoted string")
		}
		return Revoke{Owner: o, Handle: store.Handle(args[1].text)}, nil
	case "revoke-all":
		if len(args) < 1 {
			return nil, errLine("revoke-all takes an owner and IDs to keep: revoke-all OWNER [ID ...]")
		}
		o, err := owner(args[0])
		if err != nil {
			return nil, err
		}
		var except []store.ID
		for _, t := range args[1:] {
			except = append(except, store.ID(t.text))
		}
		return RevokeAll{Owner: o, Except: except}, nil
	case "touch":
		if err := want(3, "touch ID TTL RESOLUTION"); err != nil {
			return nil, err
		}
		ttl, err := parseDuration(args[1])
		if err != nil {
			return nil, err
		}
		res, err := parseDuration(args[2])
		if err != nil {
			return nil, err
		}
		return Touch{ID: store.ID(args[0].text), TTL: ttl, Resolution: res}, nil
	}
	return nil, errLine(fmt.Sprintf("unknown operation %q", clip(name)))
}

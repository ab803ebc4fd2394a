package faults

import "fmt"

// Protocol is the wire protocol a Dialer's connections speak. A network
// fault is armed for the Nth request of an operation (Injector.Arm), so the
// Dialer must tell a request that makes the server run something from the
// rest of what a driver writes: a startup message, authentication, the
// connection housekeeping a client does on its own, or the rest of a
// request already begun in an earlier write.
type Protocol uint8

const (
	// PostgreSQL is the frontend protocol, version 3. A write is a request
	// when it holds a simple Query or an Execute; the first write of a
	// connection (the startup message) and every write of a connection
	// opened for a CancelRequest never are. A write counts as one request
	// however many statements it carries.
	PostgreSQL Protocol = iota + 1
	// RESP is the Redis serialization protocol (RESP2 and RESP3): a request
	// is an array of bulk strings whose first is the command's name. Each
	// command in a write counts as a request unless it is connection
	// housekeeping (see respHousekeeping); an inline command, a line not
	// starting with '*', is classified by its first word in the same way.
	RESP
)

func (p Protocol) String() string {
	switch p {
	case PostgreSQL:
		return "postgresql"
	case RESP:
		return "resp"
	}
	return fmt.Sprintf("protocol(%d)", uint8(p))
}

// parser follows what one connection writes. requests returns how many
// requests that run something b carries: 0 for a write that is all
// housekeeping or the continuation of a request counted before. It is
// called with every write, in order, from one goroutine at a time.
type parser interface {
	requests(b []byte) int
}

// newParser returns a fresh parser for p. A Protocol it does not know gets
// one that counts every non-empty write as one request: a fault is then
// never lost, only perhaps spent on housekeeping.
func newParser(p Protocol) parser {
	switch p {
	case PostgreSQL:
		return &pgParser{}
	case RESP:
		return &respParser{}
	}
	return everyWrite{}
}

type everyWrite struct{}

func (everyWrite) requests(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return 1
}

// pgParser exempts the startup message (the first write) and a
// cancel-request connection, and counts a write that runs a statement as
// one request.
type pgParser struct {
	started bool // the first message has been written
	exempt  bool // a cancel-request connection: part of no operation
}

func (p *pgParser) requests(b []byte) int {
	if !p.started {
		// The startup message: not a request. A CancelRequest would take the
		// fault meant for the operation beside it, so its connection is
		// exempt throughout.
		p.started = true
		p.exempt = len(b) >= len(cancelRequest) && string(b[:len(cancelRequest)]) == string(cancelRequest)
		return 0
	}
	if p.exempt || !runsStatement(b) {
		// Not a prepare-only round trip either: nothing runs.
		return 0
	}
	return 1
}

// runsStatement reports whether b, a run of PostgreSQL frontend messages
// (type byte, 4-byte length including itself, body), holds a simple Query
// ('Q') or an Execute ('E'): a request that makes the server run something.
// Anything it cannot parse counts as one, so that a fault is never lost.
func runsStatement(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 5 {
			return true
		}
		if b[0] == 'Q' || b[0] == 'E' {
			return true
		}
		n := int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4])
		if n < 4 || n+1 > len(b) {
			return true
		}
		b = b[n+1:]
	}
	return false
}

// cancelRequest is the first 8 bytes of PostgreSQL's CancelRequest message:
// length 16, code 80877102. A driver sends it on a connection of its own,
// for instance while closing a broken one in the background.
var cancelRequest = []byte{0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e}

package faults

import (
	"fmt"
	"strings"
)

// Kind is one sort of fault.
type Kind uint8

// The faults. Each arms the next store operation.
const (
	// FailBefore fails the operation before the backend sees it: a definite
	// failure, nothing applied.
	FailBefore Kind = iota + 1
	// FailAfter lets the backend apply the operation, then reports an
	// ambiguous failure, as a lost answer would.
	FailAfter
	// FailLost drops the operation on the way and reports an ambiguous
	// failure: the caller cannot tell it from FailAfter.
	FailLost

	// NetRefuse breaks the connection before the request is written: nothing
	// reaches the server.
	NetRefuse
	// NetDrop lets the request reach the server, then closes the connection
	// before the answer is read: the server may well have applied it.
	NetDrop
	// NetStall holds the answer back until the operation's context is done,
	// as a deadline that passes while the server is slow would.
	NetStall

	// Terminate ends the server process behind the backend's pooled
	// connections (pg_terminate_backend) just before the operation.
	Terminate
	// Timeout makes the operation run into the server's statement timeout.
	Timeout
	// Crash kills the database server and restarts it before the operation;
	// committed sessions must survive and the pool must recover.
	Crash

	numKinds
)

var kindNames = [numKinds]string{"", "fail-before", "fail-after", "fail-lost", "net-refuse", "net-drop", "net-stall", "terminate", "timeout", "crash"}

func (k Kind) String() string {
	if k > 0 && k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("fault(%d)", uint8(k))
}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	for k := Kind(1); k < numKinds; k++ {
		if kindNames[k] == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown fault %q (want one of %s)", clip(s), strings.Join(kindNames[1:], ", "))
}

// Kinds lists every fault kind.
func Kinds() []Kind {
	out := make([]Kind, 0, numKinds-1)
	for k := Kind(1); k < numKinds; k++ {
		out = append(out, k)
	}
	return out
}

// IsNet reports whether k acts on a connection's bytes.
func (k Kind) IsNet() bool { return k == NetRefuse || k == NetDrop || k == NetStall }

// IsServer reports whether k acts on the database server.
func (k Kind) IsServer() bool { return k == Terminate || k == Timeout || k == Crash }

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrInjected is the cause of every failure the store wrapper makes up.
var ErrInjected = errors.New("faults: injected failure")

// Server is what a backend's harness offers for server faults. Each method
// returns once the fault is in place; an error means it could not be, and
// the fault does not count as fired. The release function runs after the
// armed operation and confines the fault to it: if that operation never
// reached the server (an invalid argument, say), a dead connection must not
// be left for the next one, which has no fault in effect.
//
// A hook that cannot put its fault in place returns an error, which fails
// the run (Injector.Err); one whose fault has nothing to act on returns
// ErrNothingToFault, and the fault does not fire.
type Server interface {
	// Terminate ends the server processes behind the backend's connections.
	Terminate(ctx context.Context) (release func(), err error)
	// Crash kills the server and starts it again on the same data.
	Crash(ctx context.Context) (release func(), err error)
	// Timeout makes the next statement run into the statement timeout.
	Timeout(ctx context.Context) (release func(), err error)
}

// Injector arms one fault at a time for the next store operation and
// reports whether it fired. The simulator drives it: Arm, then Begin and End
// around the operation. Connection wrappers and the store wrapper consult it
// from whatever goroutine the backend uses.
type Injector struct {
	mu      sync.Mutex
	armed   Kind // for the next operation; 0 for none
	armedAt int  // which request of it a network fault hits (1 = the first)
	active  Kind // for the operation in progress
	at      int  // armedAt of the operation in progress
	writes  int  // requests the operation has written so far (net faults)
	fired   bool // whether active has taken effect
	netUsed bool // a connection hook is installed: net faults act on bytes
	server  Server
	cancel  context.CancelFunc // the active operation's, for NetStall
	unstall func()             // ends the stall of the connection NetStall hit
	counts  [numKinds]int
	release func() // confines a server fault to its operation
	hookErr error  // the first failure of a server hook
}

// New returns an Injector with nothing armed.
func New() *Injector { return &Injector{} }

// SetServer installs the harness's server hooks; without them server faults
// never fire.
func (in *Injector) SetServer(s Server) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.server = s
}

// Arm sets the fault for the next operation. For a network fault, at says
// which of the operation's requests it hits (1, or less, for the first): a
// backend that sends two statements for one operation can be hit between
// them.
func (in *Injector) Arm(k Kind, at int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.armed, in.armedAt = k, max(at, 1)
}

// Begin starts an operation: the armed fault becomes active, server faults
// are put in place, and the returned context is the one the operation must
// run under (NetStall cancels it, as a passing deadline would).
func (in *Injector) Begin(ctx context.Context) context.Context {
	in.mu.Lock()
	k, srv := in.armed, in.server
	in.armed, in.active, in.fired, in.at, in.writes = 0, k, false, in.armedAt, 0
	in.mu.Unlock()
	if k == 0 {
		return ctx
	}
	if k.IsServer() && srv != nil {
		var err error
		var release func()
		switch k {
		case Terminate:
			release, err = srv.Terminate(ctx)
		case Crash:
			release, err = srv.Crash(ctx)
		case Timeout:
			release, err = srv.Timeout(ctx)
		}
		in.mu.Lock()
		if err == nil {
			in.fired, in.release = true, release
		} else if !errors.Is(err, ErrNothingToFault) && in.hookErr == nil {
			in.hookErr = fmt.Errorf("faults: %s: %w", k, err)
		}
		in.mu.Unlock()
	}
	if k == NetStall {
		ctx, cancel := context.WithCancel(ctx)
		in.mu.Lock()
		in.cancel = cancel
		in.mu.Unlock()
		return ctx
	}
	return ctx
}

// End finishes the operation and reports the fault that fired during it
// (0 if none did). A connection a NetStall of the operation hit stops
// stalling: it is closed, and a read of it fails at once, whoever reads it.
func (in *Injector) End() Kind {
	in.mu.Lock()
	k, fired, cancel, release, unstall := in.active, in.fired, in.cancel, in.release, in.unstall
	in.active, in.fired, in.cancel, in.release, in.unstall = 0, false, nil, nil, nil
	if fired {
		in.counts[k]++
	}
	in.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if unstall != nil {
		// A stall is the operation's: the connection it hit must not hold
		// back a read of whatever operation meets it next in the pool.
		unstall()
	}
	if release != nil {
		release()
	}
	if !fired {
		return 0
	}
	return k
}

// ErrNothingToFault is what a server hook returns when the fault has
// nothing to act on (no connection to terminate, say): the fault does not
// fire, and the run goes on.
var ErrNothingToFault = errors.New("faults: nothing for the server fault to act on")

// Err returns the first error of a server hook: the harness could not put
// a server fault in place (a crashed server that did not come back, say).
// What ran after it ran against a server in a state no fault accounts
// for, so a run with one must be discarded, not judged: sim.Run and
// sim.Record return it as their error.
func (in *Injector) Err() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.hookErr
}

// Counts returns how many faults of each kind fired, by kind.
func (in *Injector) Counts() map[Kind]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := map[Kind]int{}
	for k, n := range in.counts {
		if n > 0 {
			out[Kind(k)] = n
		}
	}
	return out
}

// take claims the active fault for the store wrapper if it is one the
// wrapper handles and has not fired yet, and marks it fired. handles runs
// with the lock held.
func (in *Injector) take(handles func(Kind) bool) Kind {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.active == 0 || in.fired || !handles(in.active) {
		return 0
	}
	in.fired = true
	return in.active
}

// takeNet is take for a connection's write that carries n requests (n > 0):
// the active network fault fires if the request it was armed for is among
// them. For NetStall it keeps unstall, to end the stall when the operation
// ends, and returns the operation's cancel function: a stalled connection
// must cancel the operation it stalled, not whichever runs when the driver
// next touches the connection. Both happen under the lock, so that no End
// can come between the fault firing and its stall being known.
func (in *Injector) takeNet(n int, unstall func()) (Kind, context.CancelFunc) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.active == 0 || in.fired || !in.active.IsNet() {
		return 0, nil
	}
	if in.writes += n; in.writes < in.at {
		return 0, nil
	}
	in.fired = true
	if in.active == NetStall {
		in.unstall = unstall
		return NetStall, in.cancel
	}
	return in.active, nil
}

// Package clock is where Hourglass gets time from. A store never reads the
// system clock or its database's clock: it is handed a Clock and reads it once
// per operation. That single seam is what lets the simulator put a store at
// any instant (1970, 2100, one microsecond before an expiry) and replay a run
// exactly.
//
// Clock asks only for Now, so any clock of github.com/benbjohnson/clock's
// interface (its real clock, its Mock) can be injected, and so can Sim, the
// simulator's own clock. Sim exists because benbjohnson/clock's Mock is not
// fit for a simulator: the module is archived, Mock.Add sleeps a millisecond
// of real time on every call (a 500,000-operation run would spend minutes
// asleep), and its timers have known races. Sim never touches real time: it
// is a number that moves only when told to. Code that must wait, not just
// read the time (a background sweeper), takes a Waiter; Sim fires its waiters
// synchronously as it is moved, and lets a test block until the code under
// test is waiting, so schedules are tested exactly, in simulated time.
package clock

import (
	"time"

	bclock "github.com/benbjohnson/clock"
)

// Clock is the one thing a store asks of time.
type Clock interface {
	Now() time.Time
}

// Real returns the system clock. It is benbjohnson/clock's real clock, so it
// also offers timers and tickers to code that wants the full interface, and
// is a Waiter.
func Real() bclock.Clock { return bclock.New() }

// Compile-time checks that benbjohnson/clock's clocks can be injected.
var (
	_ Clock = bclock.New()
	_ Clock = (*bclock.Mock)(nil)
)

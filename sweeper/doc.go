// Package sweeper removes expired sessions in the background.
//
// A store keeps expired records until something deletes them (see
// store.Store.DeleteExpired), so a service runs a sweeper beside it. The
// sweeper wakes an Interval after its last run ended and clears the backlog in
// batches: each batch is one short atomic step, so the store keeps serving
// requests between steps instead of stalling behind one unbounded delete, and
// an optional Pause between steps paces the cleanup, so that the backlog left
// by an outage or a burst of short sessions is worked off at a rate the
// database can absorb rather than at whatever rate it can be pushed. Failures
// are logged and counted, never fatal: the next run comes one Interval later,
// so a store that is down is retried at a steady rate, not in a tight loop.
//
// The sweeper takes its time from an injected clock.Waiter, waiting on it for
// both the Interval and the Pause. With a clock.Sim the whole schedule runs in
// simulated time: a test holds the clock, blocks until the sweeper is waiting
// (clock.Sim.BlockUntil), moves the clock to the next deadline, and can assert
// exactly which records are gone at which instant, with no sleeps and no
// flakiness. In production the clock is clock.Real().
package sweeper

package store

import "time"

// Resolution is the precision of every instant the contract deals in: that of
// PostgreSQL's timestamptz. Backends with finer clocks truncate to it so that
// all of them, and the model, see the same instants.
const Resolution = time.Microsecond

// Instant normalises a clock reading: truncated to Resolution, in UTC, with no
// monotonic reading. Every operation calls it once on the one clock reading it
// takes.
func Instant(t time.Time) time.Time { return t.Truncate(Resolution).UTC() }

// Expiry is the deadline of a record written at now with ttl:
// (now + ttl) truncated to Resolution.
func Expiry(now time.Time, ttl time.Duration) time.Time {
	return now.Add(ttl).Truncate(Resolution).UTC()
}

package store

import "time"

// Record is what a store keeps under an ID: opaque state, the instant the
// session stops being live, and the owner it belongs to, if any (see
// Owners), and, on a backend with versions (Versioner), the version the
// record is at (0 elsewhere). Expires is always a whole number of
// microseconds.
type Record struct {
	State   []byte
	Expires time.Time
	Owner   Owner
	Version uint64
}

// LiveAt reports whether the record is live at now: live while now < Expires,
// expired from Expires on. There is no gap between the two.
func (r Record) LiveAt(now time.Time) bool { return now.Before(r.Expires) }

// Equal reports whether two records hold the same state, expiry, owner and
// version, ignoring the time zone and monotonic reading of the expiry.
func (r Record) Equal(o Record) bool {
	return r.Expires.Equal(o.Expires) && string(r.State) == string(o.State) && r.Owner == o.Owner && r.Version == o.Version
}

// Package store defines what a session store is: the operations, their
// errors, the record they keep and the limits they enforce. It depends on
// nothing but the standard library, so a backend (pgstore, memstore, one of
// your own) and the reference model in package model can both implement it
// without dragging each other's dependencies along.
//
// The contract every backend shares is written out in CONTRACT.md and made
// executable by package model. In short: each operation reads the injected
// clock once and truncates the reading to whole microseconds; a record is live
// while now < expires; an update never brings back a session that has expired;
// ChangeID is one atomic step; DeleteExpired reclaims in a fixed order,
// earliest expiry first, and Sweep clears a backlog in such batches. Every
// operation is linearizable, across goroutines and servers (a sweep is a
// series of such steps). A failed operation either had no effect (definite)
// or may have been applied (ambiguous, see ErrAmbiguous), and is final when
// returned; callers must never retry the second kind blindly.
package store

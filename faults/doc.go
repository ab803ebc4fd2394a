// Package faults injects failures into a session store's world in a way a
// seed reproduces: network faults at the byte level of a backend's
// connections, failures around any store.Store's operations, and server
// faults through a hook the backend's harness provides.
//
// Nothing here is random. The simulator's generator decides, from the run's
// seed, which operation gets which fault and writes that decision into the
// trace as a `fault KIND` line before the operation; the runner arms the
// Injector with it, the operation runs, and the Injector reports whether the
// fault actually fired. A replayed trace arms the same faults at the same
// operations.
//
// The Injector tells the checker the one thing it needs to stay sound: an
// operation failed while a fault was in effect. A failure with no fault in
// effect is a bug in the backend, however plausibly it is worded.
package faults

// Package sim is Hourglass's deterministic simulator, in the style of
// Pebble's metamorphic tests: operations are data (one type per operation,
// plus clock advances), a Trace is a list of them with a text format that
// parses back to the same operations, Generate derives a trace from a seed,
// Run applies a trace to a backend and to the reference model side by side
// and stops at the first divergence, and Shrink reduces a failing trace to a
// short one that still fails.
//
// Everything that decides what a run does comes from the seed: the
// operations, their arguments, the clock. The clock is a clock.Sim that only
// moves on an advance operation, so the same seed gives the same trace,
// byte for byte, and a trace file replays a failure exactly.
//
// The checker keeps a set of possible model states rather than one. An
// operation that fails ambiguously (store.ErrAmbiguous: it may have been
// applied) splits each state in two, applied and not; later observations
// discard the states they contradict. A run diverges when no state is left
// that explains what the backend did. Without faults the set has one member
// and checking is a straight comparison. A sweep (store.Sweep) is several
// steps, so it is not applied-or-not: one that fails keeps, in each state,
// the removals its completed steps report, plus the next step's if the
// failure is ambiguous.
package sim

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
//
// With several clients (GenConfig.Clients), operations belong to clients
// that run at the same time, in rounds between the trace's clock
// operations: Record runs them against one backend and records each
// operation's clock reading, answer, and place in the order of calls and
// returns, as a History with a text form of its own; Check decides whether
// the History is linearizable with respect to the model, using porcupine's
// search over sets of possible model states, and for one that is not finds
// the smallest part that still shows it (Part), for a report and for
// porcupine's interactive view (Checked.WriteHTML).
//
// The operations of the optional capabilities (store.Owners, store.Toucher,
// store.Versioner, store.Scanner) are generated only for a backend that
// has them (Probe), and drawn after everything else, so that a seed gives a
// backend without them the trace it always gave. A trace that checks
// versions (Trace.Versions) holds every record Load and Touch return to
// the model's version; one that does not ignores versions on both sides
// and reads and writes none. The model of a keyed backend (store.Keyer)
// breaks ties and makes handles by its stored IDs, as the backend must.
package sim

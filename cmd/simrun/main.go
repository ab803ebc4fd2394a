// Command simrun runs the Hourglass simulator: seeded, randomized operation
// sequences applied to a session store backend and to the reference model
// side by side, stopping at the first divergence, which it shrinks to a
// short trace and prints with the command that replays it.
//
// Usage:
//
//	simrun [-seed N] [-runs K] [-ops M] [-backend memory|postgres|mutant:BUG]
//	       [-dsn DSN] [-start TIME] [-trace FILE] [-faults PROFILE]
//	       [-clients N [-html FILE]] [-users=false] [-versions=false] [-scan=false]
//	simrun -replay FILE [-backend ...] [-dsn DSN]
//	simrun -check FILE [-html FILE]
//
// The traces hold the operations of every optional capability the backend
// has: the per-user operations (store.Owners, store.Toucher), conditional
// writes with every record's version checked (store.Versioner) and scans
// (store.Scanner). -users=false, -versions=false and -scan=false leave
// them out; with all three off a seed gives the trace it gave before the
// capabilities existed.
//
// With -clients N above 1, each run's N clients run at once and the
// recorded history is checked for linearizability; a history that is not
// linearizable is reported with its smallest failing part, saved (to -trace
// or a temporary file) so that -check can check it again offline, and
// drawn by -html as porcupine's interactive view.
//
// Exit status: 0 when no run diverged, 1 on a divergence or a history that
// is not linearizable, 2 on a usage error, an unreadable or corrupt trace
// or history file, an unwritable output file, or a backend that could not
// be set up, and 3 when the linearizability checker gave up (its verdict
// is unknown, never ok).
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

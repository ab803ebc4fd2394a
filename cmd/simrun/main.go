// Command simrun runs the Hourglass simulator: seeded, randomized operation
// sequences applied to a session store backend and to the reference model
// side by side, stopping at the first divergence, which it shrinks to a
// short trace and prints with the command that replays it.
//
// Usage:
//
//	simrun [-seed N] [-runs K] [-ops M] [-backend memory|postgres|mutant:BUG]
//	       [-dsn DSN] [-start TIME] [-trace FILE]
//	simrun -replay FILE [-backend ...] [-dsn DSN]
//
// Exit status: 0 when no run diverged, 1 on a divergence, 2 on a usage
// error, an unreadable or corrupt trace file, or a backend that could not be
// set up.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

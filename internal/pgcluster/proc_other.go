//go:build !unix

package pgcluster

import (
	"os"
	"syscall"
)

// On systems without credentials and Unix signals the server runs as the
// current user and every way of stopping it is a kill of the postmaster.

type osIdentity struct {
	name     string
	uid, gid uint32
}

func serverIdentity(string) (*osIdentity, error) { return nil, nil }

func chownTree(string, *osIdentity) error { return nil }

func procAttr(*osIdentity) *syscall.SysProcAttr { return nil }

func signalServer(pid int, _ syscall.Signal) error {
	crashServer(pid)
	return nil
}

func crashServer(pid int) []int {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
	return nil
}

var (
	sigImmediate = syscall.SIGKILL
	sigFast      = syscall.SIGKILL
)

// processAlive cannot be answered cheaply here; saying yes keeps stale
// directories rather than risking one in use.
func processAlive(int) bool { return true }

func processGone(int) bool { return true }

//go:build !unix

package rediscluster

import (
	"os"
	"syscall"
)

// Without process groups and Unix signals every way of stopping a node is a
// kill of the server process.

func procAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, _ syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	_ = p.Kill()
	return nil
}

var (
	sigKill     = syscall.SIGKILL
	sigShutdown = syscall.SIGKILL
)

// processAlive cannot be answered cheaply here; saying yes keeps stale
// directories rather than risking one in use.
func processAlive(int) bool { return true }

//go:build unix

package rediscluster

import (
	"errors"
	"syscall"
)

// procAttr puts the server in its own process group, so that a kill reaches
// the children it forks (an append-only file rewrite, a diskless sync)
// together with it.
func procAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(attr)
	return attr
}

// signalGroup sends sig to the process group that pid leads. A group that
// is already gone is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

var (
	sigKill     = syscall.SIGKILL
	sigShutdown = syscall.SIGTERM // redis: save what must be saved and exit
)

// processExists reports whether pid exists, perhaps as a zombie. EPERM
// means it exists but belongs to someone else, which still counts.
func processExists(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

//go:build unix && !linux

package pgcluster

import "syscall"

// setParentDeathSignal does nothing where the kernel has no parent-death
// signal; a server left behind by a crashed owner is reaped by the next Start.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// crashServer kills the postmaster; without a portable way to list its
// children, the backends are left to notice its death and exit, which they
// do within moments.
func crashServer(pid int) []int {
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return nil
}

func processGone(pid int) bool { return !processAlive(pid) }

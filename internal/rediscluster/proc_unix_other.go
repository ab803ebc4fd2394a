//go:build unix && !linux

package rediscluster

import "syscall"

// setParentDeathSignal does nothing where the kernel has no parent-death
// signal; a server left behind by a crashed owner keeps its directory, which
// the next Start leaves alone while the server runs.
func setParentDeathSignal(*syscall.SysProcAttr) {}

func processAlive(pid int) bool { return processExists(pid) }

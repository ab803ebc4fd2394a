package rediscluster

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the server if this process
// dies without calling Stop (a test binary that panics or times out), so that
// no server outlives its owner. The signal is tied to the OS thread that
// started the process; Go retires only threads that a goroutine left
// locked, which this package never does.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// processAlive reports whether pid runs. A zombie does not: an orphaned
// server is reparented to init, and not every init (a container's) reaps
// it.
func processAlive(pid int) bool {
	if !processExists(pid) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // exists, state unknown: in doubt, alive
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parentheses
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

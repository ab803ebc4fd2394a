package pgcluster

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the postmaster if this process
// dies without calling Stop (a test binary that panics or times out), so that
// no server outlives its owner; its backends notice and exit by themselves.
// The signal is tied to the OS thread that started the process; Go retires
// only threads that a goroutine left locked, which this package never does.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// crashServer kills the postmaster and all its backends at the same instant,
// as a machine crash would. Each backend calls setsid, so a process-group
// signal would miss them; instead the postmaster is frozen (it can fork no
// more), its children are listed, and then all of them get SIGKILL. It
// returns the children, for waitGone.
func crashServer(pid int) []int {
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	children := childrenOf(pid)
	for _, c := range children {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return children
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procStat(n); ok && ppid == pid {
			out = append(out, n)
		}
	}
	return out
}

// processGone reports whether pid has exited: absent, or a zombie waiting
// for its new parent to reap it (a zombie holds no shared memory).
func processGone(pid int) bool {
	state, _, ok := procStat(pid)
	return !ok || state == 'Z' || state == 'X'
}

// procStat reads the state and parent of pid from /proc/pid/stat, whose
// second field (the command name) may itself contain spaces and parentheses.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 || len(f[0]) == 0 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], ppid, true
}

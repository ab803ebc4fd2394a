package benchenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// which is 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// ClientCPU returns the CPU time (user + system) this process has used.
func ClientCPU() (cpu time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// ServerCPU returns the CPU time used so far by the throwaway cluster's
// processes: every child of the postmaster (backends, WAL writer,
// checkpointer, ...), not counting those that have exited. ok is false for
// a server given by HOURGLASS_BENCH_DSN, whose processes may be elsewhere.
func (e *Env) ServerCPU() (cpu time.Duration, ok bool) {
	if e.cluster == nil {
		return 0, false
	}
	pm, err := firstLineInt(filepath.Join(e.cluster.DataDir(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var ticks int64
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		ppid, t, ok := procTimes(pid)
		if ok && (ppid == pm || pid == pm) {
			ticks += t
		}
	}
	return time.Duration(ticks) * clockTick, true
}

// procTimes reads the parent and utime+stime of pid from /proc/PID/stat,
// whose second field (the command name) may contain spaces or parentheses.
func procTimes(pid int) (ppid int, ticks int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	// After ")": state ppid pgrp session tty_nr tpgid flags minflt cminflt
	// majflt cmajflt utime stime ...
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return ppid, ut + st, true
}

func firstLineInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

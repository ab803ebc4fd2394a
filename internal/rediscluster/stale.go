package rediscluster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// dirPrefix names the temporary directories, so that Start can recognise
// and reap those left behind by a process that died without Stop.
const dirPrefix = "hourglass-rediscluster-"

// reapStale removes cluster directories whose owner process and servers are
// all gone: leftovers of test binaries that were killed (a timeout, a
// crash) before they could call Stop. A directory in doubt is kept.
func reapStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
	for _, dir := range dirs {
		owner, err := readPID(filepath.Join(dir, "owner.pid"))
		if err != nil {
			// Maybe being created right now: leave young ones alone.
			if fi, err := os.Stat(dir); err != nil || time.Since(fi.ModTime()) < time.Hour {
				continue
			}
		} else if processAlive(owner) {
			continue
		}
		pidFiles, _ := filepath.Glob(filepath.Join(dir, "node-*", "redis.pid"))
		alive := false
		for _, f := range pidFiles {
			if pid, err := readPID(f); err == nil && processAlive(pid) {
				alive = true
			}
		}
		if !alive {
			_ = os.RemoveAll(dir)
		}
	}
}

// readPID reads the number on the first line of a pid file.
func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

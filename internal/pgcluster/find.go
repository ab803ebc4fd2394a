package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvBinDir names the environment variable that, when set, is the only place
// FindBinDir looks. Pointing it at a directory without a server is the way to
// simulate a machine with no PostgreSQL installed.
const EnvBinDir = "HOURGLASS_PG_BINDIR"

// ErrNoBinaries is returned (wrapped) by FindBinDir and Start when no
// directory holds both initdb and postgres.
var ErrNoBinaries = errors.New("pgcluster: no PostgreSQL server binaries found")

// serverBinaries are the programs a cluster needs; they must come from the
// same installation, hence from the same directory.
var serverBinaries = []string{"initdb", "postgres"}

// wellKnownDirs are install locations that are often not on PATH: Debian and
// Ubuntu keep the server binaries in a versioned directory, RPM-based
// distributions likewise, and source builds default to /usr/local/pgsql.
var wellKnownDirs = []string{
	"/usr/lib/postgresql/*/bin",
	"/usr/pgsql-*/bin",
	"/usr/local/pgsql/bin",
	"/opt/homebrew/opt/postgresql*/bin",
	"/usr/local/opt/postgresql*/bin",
}

// FindBinDir returns a directory holding initdb and postgres. See the
// package documentation for the order in which places are tried.
func FindBinDir() (string, error) {
	if dir, ok := os.LookupEnv(EnvBinDir); ok {
		if hasServer(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w in %s=%q (it is set, so nowhere else was tried); point it at a directory with initdb and postgres, or unset it", ErrNoBinaries, EnvBinDir, dir)
	}
	for _, dir := range candidateDirs() {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w (looked on PATH, in pg_config --bindir and in %s); install the PostgreSQL server (e.g. apt-get install postgresql), set %s, or set HOURGLASS_TEST_DSN to use a running server",
		ErrNoBinaries, strings.Join(wellKnownDirs, ", "), EnvBinDir)
}

// candidateDirs lists the places to try, best first. PATH entries are often
// symbolic links into the real installation; resolving them keeps initdb and
// postgres together even when only one of them is linked.
func candidateDirs() []string {
	var dirs []string
	for _, name := range append(serverBinaries, "pg_ctl") {
		if p, err := exec.LookPath(name); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				dirs = append(dirs, filepath.Dir(real))
			}
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	if dir := pgConfigBinDir(); dir != "" {
		dirs = append(dirs, dir)
	}
	for _, pattern := range wellKnownDirs {
		matches, _ := filepath.Glob(pattern)
		sort.Slice(matches, func(i, j int) bool { return versionKey(matches[i]) > versionKey(matches[j]) })
		dirs = append(dirs, matches...)
	}
	return dirs
}

// pgConfigBinDir asks pg_config where the binaries are. pg_config comes with
// the client libraries, so it may name a directory without a server; the
// caller checks.
func pgConfigBinDir() string {
	p, err := exec.LookPath("pg_config")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--bindir").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// versionKey extracts the first number in a path such as
// /usr/lib/postgresql/15/bin, so that newer versions sort first (numerically:
// 9 < 15).
func versionKey(path string) int {
	start := strings.IndexAny(path, "0123456789")
	if start < 0 {
		return -1
	}
	end := start
	for end < len(path) && path[end] >= '0' && path[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(path[start:end])
	return n
}

func hasServer(dir string) bool {
	if dir == "" {
		return false
	}
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

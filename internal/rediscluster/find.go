package rediscluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvBinDir names the environment variable that, when set, is the only place
// FindBinary looks. Pointing it at a directory without redis-server is the
// way to simulate a machine with no Redis installed.
const EnvBinDir = "HOURGLASS_REDIS_BINDIR"

// ErrNoBinary is returned (wrapped) by FindBinary and Start when no
// redis-server can be found.
var ErrNoBinary = errors.New("rediscluster: no redis-server binary found")

// binaryName is the server program.
const binaryName = "redis-server"

// wellKnownDirs are install locations that may be missing from PATH (a
// sanitised environment, a Homebrew prefix).
var wellKnownDirs = []string{
	"/usr/bin",
	"/usr/local/bin",
	"/opt/homebrew/bin",
	"/usr/sbin",
	"/snap/bin",
}

// FindBinary returns the path of a redis-server binary. See the package
// documentation for the order in which places are tried.
func FindBinary() (string, error) {
	if dir, ok := os.LookupEnv(EnvBinDir); ok {
		if p := filepath.Join(dir, binaryName); dir != "" && isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%w in %s=%q (it is set, so nowhere else was tried); point it at a directory with redis-server, or unset it", ErrNoBinary, EnvBinDir, dir)
	}
	if p, err := exec.LookPath(binaryName); err == nil {
		return p, nil
	}
	for _, dir := range wellKnownDirs {
		if p := filepath.Join(dir, binaryName); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked on PATH and in %s); install it (e.g. apt-get install redis-server) or set %s",
		ErrNoBinary, strings.Join(wellKnownDirs, ", "), EnvBinDir)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

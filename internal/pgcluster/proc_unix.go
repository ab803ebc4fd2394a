//go:build unix

package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// osIdentity is who the server runs as: nil means the current user.
type osIdentity struct {
	name     string
	uid, gid uint32
}

// serverIdentity decides who runs initdb and postgres. Both refuse to run as
// root, so a root process hands them to an unprivileged account instead of
// failing.
func serverIdentity(name string) (*osIdentity, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root, and the server cannot be (initdb refuses root); no OS user %q to run it as: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgcluster: OS user %q: %w", name, err)
	}
	if uid == 0 {
		return nil, fmt.Errorf("pgcluster: OS user %q is root; the server needs an unprivileged user", name)
	}
	return &osIdentity{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
}

// chownTree gives the server's user the cluster directory. Only the
// directory we created is walked, never anything outside it.
func chownTree(dir string, id *osIdentity) error {
	if id == nil {
		return nil
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(id.uid), int(id.gid))
	})
}

// procAttr puts the process in its own process group, so that Kill and Stop
// reach every backend and not only the postmaster, and runs it as id.
func procAttr(id *osIdentity) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(attr)
	if id != nil {
		attr.Credential = &syscall.Credential{Uid: id.uid, Gid: id.gid}
	}
	return attr
}

// signalServer sends sig to the postmaster alone: on SIGINT or SIGQUIT it
// relays the shutdown to its backends and waits for them before exiting.
func signalServer(pid int, sig syscall.Signal) error {
	err := syscall.Kill(pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

var (
	sigImmediate = syscall.SIGQUIT // postgres: immediate shutdown
	sigFast      = syscall.SIGINT  // postgres: fast shutdown (clean, rolls back sessions)
)

// processAlive reports whether pid exists. EPERM means it exists but belongs
// to someone else, which still counts.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Options configure Start. The zero value is a fast throwaway server found
// and run as described in the package documentation.
type Options struct {
	// BinDir holds initdb and postgres; empty means FindBinDir.
	BinDir string
	// TempDir is where the cluster's directory is created; empty means
	// os.TempDir(). When running as root it must be traversable by OSUser.
	TempDir string
	// OSUser runs the server when this process is root; empty means
	// "postgres". Ignored otherwise.
	OSUser string
	// Settings are server parameters written to postgresql.conf after the
	// defaults (see DefaultSettings), so they override them.
	Settings map[string]string
	// HBA lines go first in pg_hba.conf, before the line that trusts every
	// user from 127.0.0.1. Use them to make some roles authenticate with a
	// password, e.g. "host all +password_users 127.0.0.1/32 scram-sha-256".
	HBA []string
	// StartTimeout bounds initdb and each server start; 0 means one minute.
	StartTimeout time.Duration
}

// DefaultSettings returns the server parameters every cluster starts with.
// They favour speed over durability: an OS crash may corrupt the cluster, and
// a killed server may lose commits that were already acknowledged (turn
// synchronous_commit on for crash tests). Deadlocks are detected after 50ms
// rather than a second, so tests that provoke them stay fast; the larger
// lock table lets a test drop a schema holding hundreds of tables at once.
//
// The server logs to the file LogPath names. What it logs is PostgreSQL's
// default, stated here so that a test reading the log knows what the log
// may hold and an override shows: errors and warnings, each error with
// the text of the statement that raised it but never its parameters, and
// no statement otherwise (log_statement none, no duration logging).
func DefaultSettings() map[string]string {
	return map[string]string{
		"listen_addresses":                  "127.0.0.1",
		"unix_socket_directories":           "",
		"fsync":                             "off",
		"synchronous_commit":                "off",
		"full_page_writes":                  "off",
		"max_connections":                   "200",
		"max_locks_per_transaction":         "256",
		"deadlock_timeout":                  "50ms",
		"shared_buffers":                    "64MB",
		"log_min_messages":                  "warning",
		"log_min_error_statement":           "error",
		"log_statement":                     "none",
		"log_min_duration_statement":        "-1",
		"log_parameter_max_length_on_error": "0",
		"log_line_prefix":                   "%m [%p] ",
	}
}

// dirPrefix names the temporary directories, so that Start can recognise
// and reap those left behind by a process that died without Stop.
const dirPrefix = "hourglass-pgcluster-"

// Cluster is a running (or killed) throwaway PostgreSQL server. Its methods
// are safe for concurrent use.
type Cluster struct {
	binDir  string
	dir     string // everything the cluster owns; removed by Stop
	dataDir string
	logPath string
	id      *osIdentity
	timeout time.Duration

	mu      sync.Mutex
	port    int
	srv     *server // nil while the server is down
	stopped bool
}

// server is one run of the postmaster.
type server struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when the postmaster has exited
	err  error         // its exit status; read only after done
}

// Start creates a new cluster in a temporary directory and starts its
// server, returning once it accepts connections. On failure nothing is left
// behind, and the error includes initdb's output or the end of the server log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	binDir := opts.BinDir
	if binDir == "" {
		var err error
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	} else if !hasServer(binDir) {
		return nil, fmt.Errorf("%w in Options.BinDir %q", ErrNoBinaries, binDir)
	}
	id, err := serverIdentity(opts.OSUser)
	if err != nil {
		return nil, err
	}
	conf, err := renderSettings(opts.Settings)
	if err != nil {
		return nil, err
	}
	hba, err := renderHBA(opts.HBA)
	if err != nil {
		return nil, err
	}
	parent := opts.TempDir
	if parent == "" {
		parent = os.TempDir()
	}
	reapStale(parent)

	dir, err := os.MkdirTemp(parent, dirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{
		binDir:  binDir,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "server.log"),
		id:      id,
		timeout: opts.StartTimeout,
	}
	if c.timeout <= 0 {
		c.timeout = time.Minute
	}
	ok := false
	defer func() {
		if !ok {
			_ = c.Stop()
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := chownTree(dir, id); err != nil {
		return nil, fmt.Errorf("pgcluster: giving %s to OS user %s: %w", dir, id.name, err)
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if err := appendFile(filepath.Join(c.dataDir, "postgresql.conf"), conf); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(c.dataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	// A free port can be taken by someone else between our probe and the
	// server's bind; a couple of fresh tries make that race harmless.
	for attempt := 1; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
		err = c.launch(ctx)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// DSN returns a connection string for database dbname ("postgres" always
// exists) as the superuser "postgres".
func (c *Cluster) DSN(dbname string) string {
	c.mu.Lock()
	port := c.port
	c.mu.Unlock()
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port the server listens on; it stays the same across
// Kill and Restart.
func (c *Cluster) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.port
}

// DataDir returns the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// LogPath returns the file that receives the server's log: its standard
// output and error, appended to across Restart, readable by this process.
func (c *Cluster) LogPath() string { return c.logPath }

// Stop shuts the server down at once (no checkpoint: the data is about to
// go) and removes the cluster's directory. It is idempotent.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	if c.srv != nil {
		errs = append(errs, c.halt(sigImmediate, false))
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgcluster: removing %s: %w", c.dir, err))
	}
	return errors.Join(errs...)
}

// Kill stops the server the way a crash would: SIGKILL to the postmaster and
// every backend at once, with no shutdown checkpoint. The data directory is
// kept, so Restart brings the server back through crash recovery.
func (c *Cluster) Kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("pgcluster: kill: cluster already stopped")
	}
	if c.srv == nil {
		return errors.New("pgcluster: kill: server is not running")
	}
	return c.halt(0, true)
}

// Restart starts the server again on the same data directory and port,
// after shutting it down cleanly if it is still running. It returns once the
// server accepts connections again.
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("pgcluster: restart: cluster already stopped")
	}
	if c.srv != nil {
		if err := c.halt(sigFast, false); err != nil {
			return err
		}
	}
	return c.launch(ctx)
}

func (c *Cluster) initdb(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"),
		"--pgdata="+c.dataDir,
		"--auth=trust",
		"--username=postgres",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
	)
	cmd.Env = serverEnv()
	cmd.SysProcAttr = procAttr(c.id)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: initdb (%s) failed: %w\n%s", c.binDir, err, tail(string(out), 4000))
	}
	return nil
}

var errPortTaken = errors.New("pgcluster: port already in use")

// launch starts the postmaster and waits until it accepts connections.
// c.mu must be held.
func (c *Cluster) launch(ctx context.Context) error {
	log, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	logStart, _ := log.Seek(0, io.SeekEnd)
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), "-D", c.dataDir, "-p", strconv.Itoa(c.port))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = serverEnv()
	cmd.SysProcAttr = procAttr(c.id)
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("pgcluster: starting postgres: %w", err)
	}
	s := &server{cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	c.srv = s

	if err := c.waitReady(ctx, s); err != nil {
		_ = c.halt(0, true)
		logText := c.logSince(logStart)
		if strings.Contains(logText, "could not bind") || strings.Contains(logText, "already in use") {
			return fmt.Errorf("%w: %d: %v", errPortTaken, c.port, err)
		}
		return fmt.Errorf("%w; server log (%s):\n%s", err, c.logPath, tail(logText, 4000))
	}
	return nil
}

// waitReady polls with real connections: only a completed startup handshake
// proves the server accepts sessions (a listening socket appears earlier).
func (c *Cluster) waitReady(ctx context.Context, s *server) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=5", c.port)
	var lastErr error
	for {
		conn, err := pgconn.Connect(ctx, dsn)
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		lastErr = err
		select {
		case <-s.done:
			return fmt.Errorf("pgcluster: postgres exited during startup (%v)", s.err)
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: postgres not ready on port %d after %v: %w (last attempt: %v)", c.port, c.timeout, ctx.Err(), lastErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// halt stops the server: with a shutdown signal (sigFast, sigImmediate) the
// postmaster stops its backends itself; crash (or a shutdown that hangs for
// ten seconds) kills them all at once. Either way it returns only when
// every process is gone, because a new postmaster on the same data
// directory refuses to start while an old backend holds the shared memory.
// c.mu must be held.
func (c *Cluster) halt(sig syscall.Signal, crash bool) error {
	s := c.srv
	c.srv = nil
	defer s.log.Close()
	pid := s.cmd.Process.Pid
	var children []int
	if crash {
		children = crashServer(pid)
	} else if err := signalServer(pid, sig); err != nil {
		return fmt.Errorf("pgcluster: signalling postgres: %w", err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		children = crashServer(pid)
		<-s.done
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, child := range children {
		for !processGone(child) {
			if time.Now().After(deadline) {
				return fmt.Errorf("pgcluster: postgres backend %d still running 10s after SIGKILL", child)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return nil
}

// logSince returns the server log from byte offset off on.
func (c *Cluster) logSince(off int64) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// freePort asks the kernel for a port that is free right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverEnv drops the PG* variables of the caller's environment: PGDATA,
// PGPORT and friends are meant for clients and would otherwise steer initdb
// and postgres. LC_ALL=C keeps messages in English for the error texts we
// pass on.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

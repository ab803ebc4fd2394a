package rediscluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options configure Start. The zero value is a cluster of three primaries
// without replicas, durable (appendfsync always), in a temporary directory.
type Options struct {
	// Primaries is the number of primaries; 0 means 3. One primary with
	// Cluster false is a plain node, not in cluster mode.
	Primaries int
	// Cluster runs the nodes in cluster mode. It is forced on when
	// Primaries is more than one.
	Cluster bool
	// Replicas is the number of replicas of each primary (0 or 1 in
	// practice; at most 4).
	Replicas int
	// AppendFsync is the appendfsync policy: "always" (the default: a write
	// is on disk before it is acknowledged), "everysec" or "no".
	AppendFsync string
	// Dir holds the nodes' directories. Empty means a new temporary
	// directory, removed by Stop; a directory given here must be empty or
	// absent, and Stop leaves it in place.
	Dir string
	// Binary is the redis-server to run; empty means FindBinary.
	Binary string
	// Settings are redis.conf directives written after the defaults (see
	// DefaultSettings) and AppendFsync, so they override them. Directives
	// the package manages per node (port, dir, cluster-enabled...) are
	// refused.
	Settings map[string]string
	// StartTimeout bounds each wait of Start, Restart and Failover; 0
	// means one minute.
	StartTimeout time.Duration
}

// Limits on Options, to turn a typo into an error rather than hundreds of
// processes.
const (
	maxPrimaries = 64
	maxReplicas  = 4
)

// Node describes one node of the cluster.
type Node struct {
	// Index identifies the node: 0 to Primaries-1 are the primaries as
	// started, then the replicas, those of primary 0 first.
	Index int
	// Addr is "127.0.0.1:port"; the port stays the same across Restart.
	Addr string
	// Primary reports whether the node serves slots (in a cluster) or is
	// the primary (a plain node), as of the last time the cluster settled.
	Primary bool
	// ReplicaOf is the index of the node's primary, or -1.
	ReplicaOf int
	// Up reports whether the node's process is running.
	Up bool
	// ID is the cluster node ID; empty for a plain node.
	ID string
}

// ErrNoReplica is returned (wrapped) by Failover when the primary has no
// running replica to take over.
var ErrNoReplica = errors.New("rediscluster: the primary has no running replica")

// Cluster is a set of running (or killed) throwaway Redis nodes. Its
// methods are safe for concurrent use; they serialise.
type Cluster struct {
	bin       string
	dir       string
	ownDir    bool // dir was created by Start and is removed by Stop
	clustered bool
	conf      string // the directives common to every node
	timeout   time.Duration

	mu      sync.Mutex
	nodes   []*node
	stopped bool
}

// node is one redis-server. The fields after srv are what the cluster
// said about it the last time it settled (in a plain setup, what this
// package made it).
type node struct {
	index         int
	port, busPort int
	dir           string
	confPath      string
	logPath       string
	client        *redis.Client // nil while down
	srv           *server       // nil while down

	id        string
	primary   bool
	replicaOf int
	slots     []slotRange
}

// server is one run of redis-server.
type server struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // its exit status; read only after done
}

func (n *node) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// Start creates the nodes' directories, starts every node and, in cluster
// mode, forms the cluster, returning once it has settled (see the package
// documentation). On failure nothing is left running, nor on disk outside
// Options.Dir, and the error includes the end of the log of the node that
// failed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	primaries := opts.Primaries
	if primaries == 0 {
		primaries = 3
	}
	if primaries < 0 || primaries > maxPrimaries {
		return nil, fmt.Errorf("rediscluster: Options.Primaries %d: want 1 to %d (0 means 3)", opts.Primaries, maxPrimaries)
	}
	if opts.Replicas < 0 || opts.Replicas > maxReplicas {
		return nil, fmt.Errorf("rediscluster: Options.Replicas %d: want 0 to %d", opts.Replicas, maxReplicas)
	}
	conf, err := renderSettings(opts.AppendFsync, opts.Settings)
	if err != nil {
		return nil, err
	}
	bin := opts.Binary
	if bin == "" {
		if bin, err = FindBinary(); err != nil {
			return nil, err
		}
	} else if !isExecutable(bin) {
		return nil, fmt.Errorf("%w at Options.Binary %q", ErrNoBinary, bin)
	}
	c := &Cluster{
		bin:       bin,
		clustered: opts.Cluster || primaries > 1,
		conf:      conf,
		timeout:   opts.StartTimeout,
	}
	if c.timeout <= 0 {
		c.timeout = time.Minute
	}
	if opts.Dir == "" {
		reapStale(os.TempDir())
		if c.dir, err = os.MkdirTemp("", dirPrefix+"*"); err != nil {
			return nil, fmt.Errorf("rediscluster: %w", err)
		}
		c.ownDir = true
	} else {
		if c.dir, err = filepath.Abs(opts.Dir); err != nil {
			return nil, fmt.Errorf("rediscluster: Options.Dir: %w", err)
		}
		if entries, err := os.ReadDir(c.dir); err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("rediscluster: Options.Dir %s is not empty", c.dir)
		}
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("rediscluster: %w", err)
		}
	}
	ok := false
	defer func() {
		if !ok {
			_ = c.Stop()
		}
	}()
	if err := os.WriteFile(filepath.Join(c.dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("rediscluster: %w", err)
	}

	var ranges []slotRange
	if c.clustered {
		ranges = spread(primaries)
	}
	for i := range primaries * (1 + opts.Replicas) {
		n := &node{index: i, replicaOf: -1, primary: i < primaries}
		if !n.primary {
			n.replicaOf = (i - primaries) / opts.Replicas
		} else if ranges != nil {
			n.slots = []slotRange{ranges[i]}
		}
		n.dir = filepath.Join(c.dir, "node-"+strconv.Itoa(i))
		n.confPath = filepath.Join(n.dir, "redis.conf")
		n.logPath = filepath.Join(n.dir, "redis.log")
		if err := os.Mkdir(n.dir, 0o755); err != nil {
			return nil, fmt.Errorf("rediscluster: %w", err)
		}
		c.nodes = append(c.nodes, n)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// Cluster nodes start independently, so all at once; a plain replica's
	// configuration names its primary's port, so plain nodes start in order,
	// primaries first.
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		if c.clustered {
			wg.Go(func() { errs[i] = c.launchFresh(ctx, n) })
		} else if errs[i] = c.launchFresh(ctx, n); errs[i] != nil {
			break
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.clustered {
		if err := c.form(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.settle(ctx, true, nil); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// Addrs returns the addresses of the current primaries, sorted: after a
// Failover the promoted replica's replaces the old primary's.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.nodes {
		if n.primary {
			out = append(out, n.addr())
		}
	}
	sort.Strings(out)
	return out
}

// Nodes describes every node, in Index order.
func (c *Cluster) Nodes() []Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Node, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = Node{Index: i, Addr: n.addr(), Primary: n.primary, ReplicaOf: n.replicaOf, Up: n.srv != nil, ID: n.id}
	}
	return out
}

// IsCluster reports whether the nodes run in cluster mode.
func (c *Cluster) IsCluster() bool { return c.clustered }

// Dir returns the directory holding the nodes' directories.
func (c *Cluster) Dir() string { return c.dir }

// LogPath returns the file that receives node i's log (its standard output
// and error, appended to across Restart), or "" if there is no node i.
func (c *Cluster) LogPath(i int) string {
	if i < 0 || i >= len(c.nodes) {
		return ""
	}
	return c.nodes[i].logPath
}

// PrimaryFor returns the index of the primary serving key's slot, as of the
// last time the cluster settled; for a plain node, the primary. It returns
// -1 if no node serves it.
func (c *Cluster) PrimaryFor(key string) int { return c.SlotOwner(Slot(key)) }

// SlotOwner returns the index of the primary serving slot (see Slot), or -1.
func (c *Cluster) SlotOwner(slot int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if !n.primary {
			continue
		}
		if !c.clustered {
			return n.index
		}
		for _, r := range n.slots {
			if r.lo <= slot && slot <= r.hi {
				return n.index
			}
		}
	}
	return -1
}

// Stop kills every node at once (their data is about to go) and removes the
// directory Start created. It is idempotent.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	for _, n := range c.nodes {
		if n.srv != nil {
			errs = append(errs, c.halt(n, sigKill))
		}
	}
	if c.ownDir {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("rediscluster: removing %s: %w", c.dir, err))
		}
	}
	return errors.Join(errs...)
}

// Kill stops node i the way a crash would: SIGKILL to it and to any child
// it forked. Its files are kept, so Restart brings it back from its
// append-only file and nodes.conf.
func (c *Cluster) Kill(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.node("kill", i)
	if err != nil {
		return err
	}
	if n.srv == nil {
		return fmt.Errorf("rediscluster: kill: node %d is not running", i)
	}
	return c.halt(n, sigKill)
}

// Restart starts node i again on the same port and files, after shutting it
// down cleanly if it is still running. It returns once the node serves and
// the cluster has settled again; while some other primary that serves slots
// is down, full coverage cannot come back, so only the rest (every running
// node known to every other, in agreement, replicas linked) is waited for.
func (c *Cluster) Restart(ctx context.Context, i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.node("restart", i)
	if err != nil {
		return err
	}
	if n.srv != nil {
		if err := c.halt(n, sigShutdown); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.launch(ctx, n); err != nil {
		return err
	}
	return c.settle(ctx, c.coverable(-1), nil)
}

// node returns node i for operation op, or why it cannot be had.
// c.mu must be held.
func (c *Cluster) node(op string, i int) (*node, error) {
	if c.stopped {
		return nil, fmt.Errorf("rediscluster: %s: cluster already stopped", op)
	}
	if i < 0 || i >= len(c.nodes) {
		return nil, fmt.Errorf("rediscluster: %s: no node %d (there are %d)", op, i, len(c.nodes))
	}
	return c.nodes[i], nil
}

// coverable reports whether every slot can be served: every primary that
// serves slots is running, except (when it is not -1) the primary being
// failed over. c.mu must be held.
func (c *Cluster) coverable(except int) bool {
	for _, n := range c.nodes {
		if n.primary && n.srv == nil && n.index != except {
			return false
		}
	}
	return true
}

var errPortTaken = errors.New("rediscluster: port already in use")

// launchFresh starts a new node on ports picked free. A free port can be
// taken by someone else between our probe and the server's bind; a couple
// of fresh tries make that race harmless.
func (c *Cluster) launchFresh(ctx context.Context, n *node) error {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		n.port, n.busPort = ports[0], ports[1]
		err = c.launch(ctx, n)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			return err
		}
	}
}

// launch writes node n's configuration, starts it and waits until it
// answers PING (which a node loading its append-only file does not).
// c.mu must be held, or n be private to the caller.
func (c *Cluster) launch(ctx context.Context, n *node) error {
	conf, err := c.nodeConf(n)
	if err != nil {
		return err
	}
	if err := os.WriteFile(n.confPath, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("rediscluster: %w", err)
	}
	log, err := os.OpenFile(n.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("rediscluster: %w", err)
	}
	logStart, _ := log.Seek(0, io.SeekEnd)
	cmd := exec.Command(c.bin, n.confPath)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("rediscluster: starting %s for node %d: %w", c.bin, n.index, err)
	}
	s := &server{cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	n.srv = s
	n.client = newClient(n.addr())

	if err := waitServing(ctx, n, s); err != nil {
		_ = c.halt(n, sigKill)
		logText := logSince(n.logPath, logStart)
		if strings.Contains(logText, "Address already in use") {
			return fmt.Errorf("%w: %d or %d: %v", errPortTaken, n.port, n.busPort, err)
		}
		return fmt.Errorf("%w; log of node %d (%s):\n%s", err, n.index, n.logPath, tail(logText, 3000))
	}
	return nil
}

// nodeConf renders node n's redis.conf: the common directives, then those
// that are the node's own.
func (c *Cluster) nodeConf(n *node) (string, error) {
	var b strings.Builder
	b.WriteString("# Written by hourglass internal/rediscluster at each start of the node.\n")
	b.WriteString(c.conf)
	own := [][2]string{
		{"port", strconv.Itoa(n.port)},
		{"dir", n.dir},
		{"pidfile", filepath.Join(n.dir, "redis.pid")},
		{"daemonize", "no"},
		{"logfile", ""},
		{"cluster-enabled", "no"},
	}
	if c.clustered {
		own[len(own)-1][1] = "yes"
		own = append(own, [2]string{"cluster-port", strconv.Itoa(n.busPort)}, [2]string{"cluster-config-file", "nodes.conf"})
	} else if !n.primary && n.replicaOf >= 0 {
		own = append(own, [2]string{"replicaof", "127.0.0.1 " + strconv.Itoa(c.nodes[n.replicaOf].port)})
	}
	for _, kv := range own {
		if kv[0] == "replicaof" {
			b.WriteString("replicaof " + kv[1] + "\n") // two arguments, not one quoted
			continue
		}
		line, err := directive(kv[0], kv[1])
		if err != nil {
			return "", err
		}
		b.WriteString(line)
	}
	return b.String(), nil
}

// newClient opens a control connection to one node: no retries and short
// dial timeouts, because the callers poll; RESP2 and no CLIENT SETINFO, so
// that nothing is negotiated with servers older than the client.
func newClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:            addr,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialTimeout:     time.Second,
		ReadTimeout:     5 * time.Second,
		WriteTimeout:    5 * time.Second,
		PoolSize:        2,
	})
}

// waitServing polls node n with PING until it answers, its process exits or
// ctx ends.
func waitServing(ctx context.Context, n *node, s *server) error {
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = n.client.Ping(pctx).Err()
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("rediscluster: node %d (port %d) exited during startup (%v)", n.index, n.port, s.err)
		case <-ctx.Done():
			return fmt.Errorf("rediscluster: node %d not serving on port %d: %w (last attempt: %v)", n.index, n.port, ctx.Err(), last)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// halt stops node n with sig (SIGKILL for a crash, SIGTERM for a clean
// shutdown, which SIGKILL follows if it takes ten seconds) and returns once
// the process is gone, so that its port and files are free for a restart.
// c.mu must be held.
func (c *Cluster) halt(n *node, sig syscall.Signal) error {
	s := n.srv
	n.srv = nil
	if n.client != nil {
		_ = n.client.Close()
		n.client = nil
	}
	defer s.log.Close()
	pid := s.cmd.Process.Pid
	if err := signalGroup(pid, sig); err != nil {
		return fmt.Errorf("rediscluster: signalling node %d (pid %d): %w", n.index, pid, err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = signalGroup(pid, sigKill)
		<-s.done
	}
	return nil
}

// freePorts asks the kernel for n distinct ports that are free right now.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("rediscluster: finding a free port: %w", err)
		}
		defer l.Close() // held open until all are picked, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// logSince returns the log at path from byte offset off on.
func logSince(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

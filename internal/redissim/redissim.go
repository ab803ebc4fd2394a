// Package redissim runs simulator traces against redisstore on a real
// Redis (Cluster or one node), with every fault the simulator knows:
// network faults through a faults.Dialer speaking RESP on the client's
// connections, and server faults that act on the servers themselves:
// terminate (CLIENT KILL of the store's connections), timeout (the
// primaries pause writes past the operation's deadline) and crash (a
// primary is killed and restarted on its append-only file).
//
// A Harness keeps one go-redis client of one connection per node for
// each simulated application server, and gives every run a fresh key
// prefix, which is what makes hundreds of runs a second possible; a
// cluster the harness owns is flushed between runs as well, so memory
// stays flat. After a server fault, every client is replaced, so that a
// connection the fault killed but the armed operation did not use is
// not left for the next operation, which has no fault in effect.
package redissim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/internal/rediscluster"
	"github.com/hourglass-go/hourglass/internal/stack"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// pauseFor is how long a Timeout fault pauses the primaries' writes, and
// opTimeout the armed operation's deadline, well inside it.
const (
	pauseFor  = 400 * time.Millisecond
	opTimeout = 100 * time.Millisecond
)

// Options configure New.
type Options struct {
	// Addrs are seed addresses of the servers; Cluster says whether they
	// run Redis Cluster.
	Addrs   []string
	Cluster bool
	// Ctl, when the harness owns the servers, lets crash faults kill and
	// restart primaries and lets runs flush the data. Its primaries must
	// run with appendfsync always, or a crash may lose acknowledged
	// writes.
	Ctl *rediscluster.Cluster
}

// Harness is a Redis prepared for simulator runs.
type Harness struct {
	opts  Options
	admin redis.UniversalClient // never faulted
	name  string                // client name of the simulated stores' connections
	runs  atomic.Int64

	mu      sync.Mutex
	clients []*client // simulated application servers, made on first use
	// retired are stores replaced by a server fault, closed only between
	// runs, never under an operation in flight: with them closed at once,
	// an 8-client run with server faults once applied a write twice
	// (seed 2). go-redis's cluster client retries a command that meets a
	// closed pool whatever the command says; whether that resent a write
	// sent already is not confirmed, but nothing needs the early close.
	retired []*redisstore.Store
	prefix  string       // the current run's
	limits  store.Limits // the current run's

	timeoutArmed atomic.Bool
	faulting     sync.Mutex // one server fault at a time
	crashes      int
}

// client is one simulated application server: a store on its own
// connections, dialled through its own fault dialer.
type client struct {
	dialer *faults.Dialer
	cur    atomic.Pointer[redisstore.Store]
}

// New connects to the servers at opts.Addrs.
func New(ctx context.Context, opts Options) (*Harness, error) {
	if len(opts.Addrs) == 0 {
		return nil, errors.New("redissim: no address")
	}
	h := &Harness{opts: opts, name: fmt.Sprintf("hourglass-sim-%d", os.Getpid())}
	if opts.Cluster {
		h.admin = redis.NewClusterClient(&redis.ClusterOptions{Addrs: opts.Addrs, DisableIdentity: true})
	} else {
		h.admin = redis.NewClient(&redis.Options{Addr: opts.Addrs[0], DisableIdentity: true})
	}
	if err := h.admin.Ping(ctx).Err(); err != nil {
		h.admin.Close()
		return nil, fmt.Errorf("redissim: %w", err)
	}
	return h, nil
}

// Close releases the clients; it does not stop the servers.
func (h *Harness) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.clients {
		if s := c.cur.Load(); s != nil {
			s.Close()
		}
	}
	for _, s := range h.retired {
		s.Close()
	}
	h.admin.Close()
}

// newStore makes a store on fresh connections through d.
func (h *Harness) newStore(ctx context.Context, d *faults.Dialer) (*redisstore.Store, error) {
	s, err := redisstore.New(ctx, redisstore.Options{
		Addrs: h.opts.Addrs, Cluster: h.opts.Cluster, Dialer: d.DialContext, PoolSize: 1, ClientName: h.name,
		Limits: h.limits,
	})
	if err != nil {
		return nil, fmt.Errorf("redissim: %w", err)
	}
	return s, nil
}

// client returns simulated application server n, made on first use.
func (h *Harness) client(ctx context.Context, n int) (*client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.clients) <= n {
		c := &client{dialer: faults.NewDialerFor(faults.RESP, nil)}
		s, err := h.newStore(ctx, c.dialer)
		if err != nil {
			return nil, err
		}
		c.cur.Store(s)
		h.clients = append(h.clients, c)
	}
	return h.clients[n], nil
}

// renew replaces every client's connections, after a server fault.
func (h *Harness) renew(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.clients {
		s, err := h.newStore(ctx, c.dialer)
		if err != nil {
			return err
		}
		if old := c.cur.Swap(s); old != nil {
			h.retired = append(h.retired, old)
		}
	}
	return nil
}

// Factory is a sim.Factory: a fresh key prefix, a redisstore reading the
// run's clock, and the run's Injector wired to the first client's
// connections and to the server hooks. Runs must not overlap.
func (h *Harness) Factory(env sim.Env) (store.Store, error) {
	ctx := context.Background()
	if h.opts.Ctl != nil {
		if err := h.flush(ctx); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	for _, s := range h.retired {
		s.Close() // no operation of an earlier run is in flight now
	}
	h.retired = nil
	h.prefix = fmt.Sprintf("sim%d:%d", os.Getpid(), h.runs.Add(1))
	changed := h.limits != env.Limits
	h.limits = env.Limits
	h.mu.Unlock()
	if changed {
		// The clients' stores enforce the limits they were made with.
		if err := h.renew(ctx); err != nil {
			return nil, err
		}
	}
	c, err := h.client(ctx, 0)
	if err != nil {
		return nil, err
	}
	if env.Faults != nil {
		c.dialer.Use(env.Faults)
		env.Faults.SetServer(h)
	}
	return h.runStore(c, env.Clock), nil
}

// flush empties every primary of a cluster the harness owns.
func (h *Harness) flush(ctx context.Context) error {
	var err error
	if cc, ok := h.admin.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() })
	} else {
		err = h.admin.FlushAll(ctx).Err()
	}
	if err != nil {
		return fmt.Errorf("redissim: flushing: %w", err)
	}
	return nil
}

// Client implements sim.Clienter: client n is a store on connections of
// its own, carrying that client's faults.
func (r *runStore) Client(n int, clk clock.Clock, in *faults.Injector) (store.Store, error) {
	c, err := r.h.client(context.Background(), n)
	if err != nil {
		return nil, err
	}
	c.dialer.Use(in)
	in.SetServer(r.h)
	return r.h.runStore(c, clk), nil
}

// store is the client's current store, under the run's prefix and
// reading clk.
func (h *Harness) store(c *client, clk clock.Clock) (*redisstore.Store, error) {
	h.mu.Lock()
	prefix := h.prefix
	h.mu.Unlock()
	s, err := c.cur.Load().WithPrefix(prefix)
	if err != nil {
		return nil, err
	}
	return s.WithClock(clk), nil
}

// opContext bounds the armed operation of a Timeout fault.
func (h *Harness) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if h.timeoutArmed.Load() {
		return context.WithTimeout(ctx, opTimeout)
	}
	return ctx, func() {}
}

// Terminate kills the simulated stores' connections on every primary.
func (h *Harness) Terminate(ctx context.Context) (func(), error) {
	h.faulting.Lock()
	killed := 0
	err := h.forEachPrimary(ctx, func(ctx context.Context, c *redis.Client) error {
		list, err := c.ClientList(ctx).Result()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(list, "\n") {
			id := field(line, "id")
			if id == "" || field(line, "name") != h.name {
				continue
			}
			if err := c.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
				killed++
			}
		}
		return nil
	})
	if err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	if killed == 0 {
		h.faulting.Unlock()
		return nil, fmt.Errorf("redissim: no connection to terminate: %w", faults.ErrNothingToFault)
	}
	return h.release, nil
}

// release ends a terminate or crash: every client gets fresh
// connections, and the fault's turn ends.
func (h *Harness) release() {
	defer h.faulting.Unlock()
	// A client that cannot be renewed keeps its old connections: the
	// next operation then fails, and the run reports it.
	for range 3 {
		if h.renew(context.Background()) == nil {
			return
		}
	}
}

func field(line, name string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

func (h *Harness) forEachPrimary(ctx context.Context, fn func(context.Context, *redis.Client) error) error {
	if cc, ok := h.admin.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, fn)
	}
	return fn(ctx, h.admin.(*redis.Client))
}

// Crash kills a primary (the next one in turn) and restarts it on its
// append-only file, then waits until the cluster serves every slot.
func (h *Harness) Crash(ctx context.Context) (func(), error) {
	if h.opts.Ctl == nil {
		return nil, errors.New("redissim: crash needs servers the harness started")
	}
	h.faulting.Lock()
	nodes := h.opts.Ctl.Nodes()
	var primaries []int
	for _, n := range nodes {
		if n.Primary {
			primaries = append(primaries, n.Index)
		}
	}
	i := primaries[h.crashes%len(primaries)]
	h.crashes++
	if err := h.opts.Ctl.Kill(i); err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	var err error
	for range 3 {
		if err = h.opts.Ctl.Restart(context.WithoutCancel(ctx), i); err == nil {
			break
		}
	}
	if err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	if err := h.renew(context.WithoutCancel(ctx)); err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	return h.faulting.Unlock, nil
}

// Timeout pauses writes on every primary for longer than the armed
// operation's deadline: its request waits in the server until the client
// gives up. The pause is lifted when the operation ends.
func (h *Harness) Timeout(ctx context.Context) (func(), error) {
	h.faulting.Lock()
	err := h.forEachPrimary(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.Do(ctx, "CLIENT", "PAUSE", pauseFor.Milliseconds(), "WRITE").Err()
	})
	if err != nil {
		h.faulting.Unlock()
		return nil, err
	}
	h.timeoutArmed.Store(true)
	return func() {
		h.timeoutArmed.Store(false)
		_ = h.forEachPrimary(context.Background(), func(ctx context.Context, c *redis.Client) error {
			return c.Do(ctx, "CLIENT", "UNPAUSE").Err()
		})
		h.release()
	}, nil
}

// Stacked is Factory with the run's stores under the layers of st
// (hashid, seal), each client's store given the limits the layers need to
// offer the run's. The layered store is shared by the run's clients (a
// layer shows its backend's capabilities, not the harness's Clienter), so
// network faults of clients other than the first are emulated around it.
func (h *Harness) Stacked(st stack.Stack) sim.Factory {
	return func(env sim.Env) (store.Store, error) {
		inner := env
		inner.Limits = st.InnerLimits(env.Limits)
		s, err := h.Factory(inner)
		if err != nil {
			return nil, err
		}
		rs := s.(*runStore)
		top, err := st.Wrap(rs, env.Limits)
		if err != nil {
			return nil, err
		}
		return sim.Instances(top, func(c clock.Clock) store.Store {
			w, err := st.Wrap(rs.Instance(c), env.Limits)
			if err != nil {
				panic(err) // the same layers just wrapped the first instance
			}
			return w
		}), nil
	}
}

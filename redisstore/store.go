package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// Store is a session store on Redis (Cluster or one node). It implements
// store.Store, store.Toucher, store.Versioner and store.Pinger; it is safe
// for concurrent use.
type Store struct {
	opts    Options
	clk     clock.Clock
	rdb     redis.UniversalClient
	cluster *redis.ClusterClient // nil on a single node
	single  *redis.Client        // nil on a cluster
	margin  string               // Options.Margin in milliseconds, as a script argument
	owns    bool                 // Close closes rdb

	// splitMove plants a bug for the tests (export_test.go): ChangeID
	// between slots as a copy, then a delete, with no protocol.
	splitMove bool
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Toucher   = (*Store)(nil)
	_ store.Versioner = (*Store)(nil)
	_ store.Pinger    = (*Store)(nil)
)

// New connects to Redis, checks that it is what Options says (cluster
// mode, every slot covered) and loads the scripts on every primary. It
// returns within ctx's deadline; on failure nothing is left open.
func New(ctx context.Context, opts Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{opts: o, clk: o.Clock, margin: strconv.FormatInt(o.Margin.Milliseconds(), 10), owns: true}
	if o.Cluster {
		s.cluster = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:    o.Addrs,
			Dialer:   o.Dialer,
			Username: o.Username, Password: o.Password, TLSConfig: o.TLS,
			PoolSize:    o.PoolSize,
			DialTimeout: o.DialTimeout,
			ClientName:  o.ClientName,
			// Retries are the store's business: a script whose answer was
			// lost may have run, and running it again would turn that
			// into a wrong answer (a Create reporting its own session
			// as a duplicate). Redirects are safe and stay on.
			MaxRetries:            -1,
			MaxRedirects:          8,
			ContextTimeoutEnabled: true,
			DisableIdentity:       true,
		})
		s.rdb = s.cluster
	} else {
		s.single = redis.NewClient(&redis.Options{
			Addr:     o.Addrs[0],
			Dialer:   o.Dialer,
			Username: o.Username, Password: o.Password, TLSConfig: o.TLS,
			PoolSize:              o.PoolSize,
			DialTimeout:           o.DialTimeout,
			ClientName:            o.ClientName,
			MaxRetries:            -1,
			ContextTimeoutEnabled: true,
			DisableIdentity:       true,
		})
		s.rdb = s.single
	}
	if s.cluster != nil {
		if err := s.checkSeeds(ctx); err != nil {
			s.rdb.Close()
			return nil, err
		}
	}
	if err := s.Ping(ctx); err != nil {
		s.rdb.Close()
		return nil, err
	}
	if err := s.loadScripts(ctx); err != nil {
		s.rdb.Close()
		return nil, err
	}
	return s, nil
}

// WithClock returns a store on the same client and keys reading clk: a
// second application server sharing the data (the simulator's skewed
// instance). Closing it does not close the client.
func (s *Store) WithClock(clk clock.Clock) *Store {
	c := *s
	c.clk, c.owns = clk, false
	return &c
}

// WithPrefix returns a store on the same client reading the same clock
// whose keys start with prefix instead: another tenant of the same
// servers. Closing it does not close the client.
func (s *Store) WithPrefix(prefix string) (*Store, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	c := *s
	c.opts.Prefix, c.owns = prefix, false
	return &c, nil
}

// Close closes the client of a store made by New.
func (s *Store) Close() error {
	if !s.owns {
		return nil
	}
	return s.rdb.Close()
}

// Capabilities reports NativeExpiry: Redis drops a key by itself Margin
// after its session expired, and DeleteExpired, which cannot be one
// atomic step over the slots of a cluster, removes what it finds expired
// one record at a time. Its count is what it removed, not what the
// contract's single atomic cleanup would have, so checkers ignore it.
func (s *Store) Capabilities() store.Capabilities { return store.Capabilities{NativeExpiry: true} }

// Ping checks that every primary answers and, for a cluster, that every
// slot is covered. The error wraps ErrNotCluster or ErrSlotsUncovered
// when the server is not what Options says. It talks to the primaries on
// the store's own connections, so a readiness probe costs one round trip
// per primary.
func (s *Store) Ping(ctx context.Context) error {
	if s.cluster == nil {
		info, err := s.single.Do(ctx, "INFO", "cluster").Text()
		if err != nil {
			return fmt.Errorf("redisstore: ping %s: %w", s.opts.Addrs[0], err)
		}
		if strings.Contains(info, "cluster_enabled:1") {
			return fmt.Errorf("%w: %s runs in cluster mode; set Options.Cluster", ErrNotCluster, s.opts.Addrs[0])
		}
		return nil
	}
	return s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return checkClusterInfo(ctx, c)
	})
}

// checkClusterInfo reports what is wrong with one cluster node, if
// anything: not in cluster mode, or some slot uncovered.
func checkClusterInfo(ctx context.Context, c *redis.Client) error {
	addr := c.Options().Addr
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		if strings.Contains(err.Error(), "cluster support disabled") {
			return fmt.Errorf("%w: %s does not run in cluster mode", ErrNotCluster, addr)
		}
		return fmt.Errorf("redisstore: ping %s: %w", addr, err)
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return fmt.Errorf("%w: %s reports %s", ErrSlotsUncovered, addr, clusterSummary(info))
	}
	return nil
}

// checkSeeds asks the seed nodes, one at a time until one answers,
// whether they run a healthy cluster: before the cluster client has a
// slot map, a node without cluster mode would only give it odd errors.
// New calls it once.
func (s *Store) checkSeeds(ctx context.Context) error {
	var first error
	for _, a := range s.opts.Addrs {
		c := redis.NewClient(&redis.Options{Addr: a, Dialer: s.opts.Dialer, Username: s.opts.Username, Password: s.opts.Password,
			TLSConfig: s.opts.TLS, DialTimeout: s.opts.DialTimeout, MaxRetries: -1, ContextTimeoutEnabled: true, DisableIdentity: true, PoolSize: 1})
		err := checkClusterInfo(ctx, c)
		c.Close()
		if err == nil || errors.Is(err, ErrNotCluster) || errors.Is(err, ErrSlotsUncovered) {
			return err
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return first
}

// clusterSummary picks the lines of CLUSTER INFO that say what is wrong.
func clusterSummary(info string) string {
	var out []string
	for _, l := range strings.Split(info, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "cluster_state:") || strings.HasPrefix(l, "cluster_slots_assigned:") || strings.HasPrefix(l, "cluster_slots_fail:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, ", ")
}

// loadScripts loads every script on every primary, so that the first
// operations do not each pay for an EVAL.
func (s *Store) loadScripts(ctx context.Context) error {
	load := func(ctx context.Context, c *redis.Client) error {
		for _, sc := range allScripts {
			if err := c.ScriptLoad(ctx, sc.src).Err(); err != nil {
				return fmt.Errorf("redisstore: loading scripts on %s: %w", c.Options().Addr, err)
			}
		}
		return nil
	}
	if s.cluster != nil {
		return s.cluster.ForEachMaster(ctx, load)
	}
	return load(ctx, s.single)
}

// now reads the clock once, as every operation does.
func (s *Store) now() time.Time { return store.Instant(s.clk.Now()) }

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// key is the session key of id: the ID is the hash tag, so sessions spread
// over every slot and two IDs share a slot only by chance.
func (s *Store) key(id store.ID) string { return s.opts.Prefix + ":{" + string(id) + "}" }

// marker is the key of id's committed-move markers, in id's slot.
func (s *Store) marker(id store.ID) string { return s.opts.Prefix + ":{" + string(id) + "}:m" }

// sameSlot reports whether one script may act on both keys.
func (s *Store) sameSlot(a, b store.ID) bool {
	return s.cluster == nil || slot(string(a)) == slot(string(b))
}

package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// DefaultPrefix is the key prefix unless Options.Prefix says otherwise.
const DefaultPrefix = "hourglass"

// DefaultMargin is how long past a session's expiry Redis keeps its key.
const DefaultMargin = time.Hour

// DefaultFenceTimeout is Options.FenceTimeout's default.
const DefaultFenceTimeout = 5 * time.Second

// MaxPrefixLen is the longest key prefix accepted.
const MaxPrefixLen = 64

// Options configure a Store.
type Options struct {
	// Addrs are the seed nodes, "host:port". At least one is required.
	Addrs []string
	// Cluster requires Redis Cluster: New fails with ErrNotCluster if the
	// node does not run in cluster mode, and with ErrSlotsUncovered if
	// some hash slot has no primary. Without it, Addrs[0] is one plain
	// node (a cluster node without Cluster is refused, too: its keys
	// would be spread over nodes the store does not talk to).
	Cluster bool
	// Prefix starts every key ("hourglass" by default): stores with
	// different prefixes on one server never see each other's sessions.
	// 1 to MaxPrefixLen bytes of [A-Za-z0-9_.:/-]: no braces (a hash tag
	// in the prefix would put every session in one slot) and no glob
	// characters (DeleteExpired scans by pattern).
	Prefix string
	// Clock is the store's only source of time (default: the wall clock).
	Clock clock.Clock
	// Limits are the limits the store enforces.
	Limits store.Limits
	// Margin is how long after a session's expiry, by the server's
	// clock, Redis may drop its key by itself (default DefaultMargin; it
	// must be at least one second). Liveness is always judged by Clock;
	// Redis's expiry only reclaims memory. The margin must exceed how far
	// any application server's clock may lag the one that wrote the
	// session, plus how far the server's clock may run ahead of the
	// application's over one TTL: within that, Redis never drops a
	// session a client still calls live.
	Margin time.Duration
	// WaitReplicas, if positive, makes every write wait (WAIT) until that
	// many replicas of its primary acknowledged it, for at most
	// WaitTimeout (default one second). A write that is applied but not
	// acknowledged in time fails with an ambiguous error wrapping
	// ErrNotReplicated: a failover may still lose it.
	WaitReplicas int
	// WaitTimeout bounds each WAIT.
	WaitTimeout time.Duration
	// Dialer, if set, makes the client's connections (fault injection,
	// proxies).
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// PoolSize is the number of connections per node (default: go-redis's,
	// ten per CPU).
	PoolSize int
	// Username and Password authenticate (ACL or requirepass).
	Username, Password string
	// TLS, if set, is the TLS configuration of every connection.
	TLS *tls.Config
	// FenceTimeout bounds how long a ChangeID that failed part way keeps
	// trying to withdraw its move, so that its failure is final when it
	// is returned (default DefaultFenceTimeout). It runs past the
	// caller's context, whose end is often what failed the move; when it
	// is spent the error wraps ErrNotFinal.
	FenceTimeout time.Duration
	// ClientName, if set, names every connection (CLIENT SETNAME), so
	// that CLIENT LIST tells the store's connections apart.
	ClientName string
	// DialTimeout bounds connecting to a node (default 5 seconds); the
	// operation's context bounds everything else.
	DialTimeout time.Duration
}

// Configuration errors. Test with errors.Is.
var (
	// ErrInvalidOptions: Options cannot be used; the message says why.
	ErrInvalidOptions = errors.New("redisstore: invalid options")
	// ErrNotCluster: Cluster was asked for and the node does not run in
	// cluster mode, or it was not and the node does.
	ErrNotCluster = errors.New("redisstore: cluster mode mismatch")
	// ErrSlotsUncovered: some hash slots have no primary (cluster_state
	// is not ok); operations on their sessions would fail.
	ErrSlotsUncovered = errors.New("redisstore: cluster has uncovered hash slots")
	// ErrNotReplicated: a write was applied on its primary but WAIT did
	// not see WaitReplicas replicas acknowledge it in time.
	ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")
	// ErrNotFinal: an ambiguous ChangeID whose move could not be
	// withdrawn: another client may still finish it later.
	ErrNotFinal = errors.New("redisstore: the outcome may still change")
	// ErrContended: a ChangeID kept losing its move to concurrent writes
	// of the same session and gave up; nothing changed. Retry it.
	ErrContended = errors.New("redisstore: session changed during every attempt to move it")
)

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if len(o.Addrs) == 0 {
		return o, fmt.Errorf("%w: no address (Options.Addrs)", ErrInvalidOptions)
	}
	for _, a := range o.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return o, fmt.Errorf("%w: address %q: %v", ErrInvalidOptions, clip(a), err)
		}
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if err := ValidatePrefix(o.Prefix); err != nil {
		return o, err
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Margin == 0 {
		o.Margin = DefaultMargin
	}
	if o.Margin < time.Second {
		return o, fmt.Errorf("%w: margin %v is under one second", ErrInvalidOptions, o.Margin)
	}
	if o.WaitReplicas < 0 {
		return o, fmt.Errorf("%w: WaitReplicas %d is negative", ErrInvalidOptions, o.WaitReplicas)
	}
	if o.WaitTimeout < 0 {
		return o, fmt.Errorf("%w: WaitTimeout %v is negative", ErrInvalidOptions, o.WaitTimeout)
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = time.Second
	}
	if o.PoolSize < 0 {
		return o, fmt.Errorf("%w: PoolSize %d is negative", ErrInvalidOptions, o.PoolSize)
	}
	if o.FenceTimeout < 0 {
		return o, fmt.Errorf("%w: FenceTimeout %v is negative", ErrInvalidOptions, o.FenceTimeout)
	}
	if o.FenceTimeout == 0 {
		o.FenceTimeout = DefaultFenceTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Limits.MaxPerOwner < 0 {
		return o, fmt.Errorf("%w: Limits.MaxPerOwner %d is negative", ErrInvalidOptions, o.Limits.MaxPerOwner)
	}
	o.Limits = o.Limits.WithDefaults()
	return o, nil
}

// ValidatePrefix reports whether p can be a key prefix: 1 to MaxPrefixLen
// bytes of [A-Za-z0-9_.:/-]. The error wraps ErrInvalidOptions.
func ValidatePrefix(p string) error {
	if p == "" || len(p) > MaxPrefixLen {
		return fmt.Errorf("%w: prefix of %d bytes (want 1 to %d)", ErrInvalidOptions, len(p), MaxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == ':' || c == '/' || c == '-') {
			return fmt.Errorf("%w: prefix byte %#02x at offset %d is not in [A-Za-z0-9_.:/-]", ErrInvalidOptions, c, i)
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

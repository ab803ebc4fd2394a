package faults

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// errDropped is what a connection reads after NetDrop closed it.
var errDropped = errors.New("faults: connection dropped after the request was sent")

// Dialer makes connections that carry network faults. Pooled connections
// outlive one simulated run, so a connection asks the Dialer for the current
// run's Injector at every read and write rather than keeping one.
//
// A connection follows what the driver writes in the Dialer's Protocol and
// offers each write that carries requests (see Protocol) to the armed
// network fault. A write of k requests advances the operation's count by k;
// if the fault's request (Injector.Arm's at) is among them, the fault hits
// the whole write: NetRefuse writes none of it, NetDrop and NetStall all of
// it. For a pipeline that is an approximation: a fault armed for its second
// command also takes the first.
//
// NetStall needs the driver to end a stalled read itself when its context
// ends, by setting a read deadline (any but the zero time) or closing the
// connection: pgx does when the context ends, go-redis before every read
// unless its ReadTimeout is negative. Whatever the driver does, a stall
// ends with the operation that armed it (Injector.End).
type Dialer struct {
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	proto Protocol
	cur   atomic.Pointer[Injector]
}

// NewDialer wraps dial (nil: a plain net.Dialer) for PostgreSQL: it is
// NewDialerFor(PostgreSQL, dial). Its DialContext has the shape of
// pgconn.Config.DialFunc.
func NewDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *Dialer {
	return NewDialerFor(PostgreSQL, dial)
}

// NewDialerFor wraps dial (nil: a plain net.Dialer) for connections that
// speak p. For RESP its DialContext has the shape of go-redis's
// Options.Dialer and ClusterOptions.Dialer. With a Protocol this package
// does not define, every write counts as one request.
func NewDialerFor(p Protocol, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *Dialer {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return &Dialer{dial: dial, proto: p}
}

// Use makes in the source of faults for every connection of d, and tells in
// that network faults act on bytes from now on instead of being emulated by
// Wrap.
func (d *Dialer) Use(in *Injector) {
	in.mu.Lock()
	in.netUsed = true
	in.mu.Unlock()
	d.cur.Store(in)
}

// DialContext dials and wraps the connection.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, d: d, parser: newParser(d.proto), unstall: make(chan struct{})}, nil
}

// conn is a connection that fails on the Injector's say-so.
type conn struct {
	net.Conn
	d *Dialer

	mu       sync.Mutex
	parser   parser             // what the driver has written so far
	dropped  bool               // NetDrop: the request went out; the answer will not come
	stalling bool               // NetStall: reads wait for a deadline or close
	cancel   context.CancelFunc // the stalled operation's; used once
	stallEnd bool               // the stall has run its course
	unstall  chan struct{}
	once     sync.Once
}

func (c *conn) Write(b []byte) (int, error) {
	// Every write goes through the parser, faults or not, so that it knows
	// where the next command begins.
	c.mu.Lock()
	n := c.parser.requests(b)
	c.mu.Unlock()
	in := c.d.cur.Load()
	if in == nil || n == 0 {
		return c.Conn.Write(b)
	}
	k, cancel := in.takeNet(n, c.release)
	switch k {
	case NetRefuse:
		// Nothing is written: the server never sees the request.
		c.Conn.Close()
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: errors.New("faults: connection refused before the request was sent")}
	case NetDrop:
		n, err := c.Conn.Write(b)
		c.mu.Lock()
		c.dropped = true
		c.mu.Unlock()
		return n, err
	case NetStall:
		n, err := c.Conn.Write(b)
		c.mu.Lock()
		c.stalling, c.cancel = true, cancel
		c.mu.Unlock()
		return n, err
	}
	return c.Conn.Write(b)
}

func (c *conn) Read(b []byte) (int, error) {
	c.mu.Lock()
	dropped, stalling, cancel, ended := c.dropped, c.stalling, c.cancel, c.stallEnd
	c.stallEnd = c.stalling
	c.mu.Unlock()
	switch {
	case dropped:
		c.Conn.Close()
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: errDropped}
	case stalling && ended:
		// Later reads of a stalled connection (a driver closing it) fail at
		// once: they must not cancel whatever operation runs now.
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	case stalling:
		// The answer is on its way; hold it back until the stalled
		// operation's deadline passes (cancelled now, deterministically) and
		// the driver gives up on the connection, or at the latest until
		// that operation ends (Injector.End).
		if cancel != nil {
			cancel()
		}
		<-c.unstall
		c.Conn.Close()
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	return c.Conn.Read(b)
}

// SetDeadline, SetReadDeadline: a driver sets a deadline in the past to
// interrupt a read when its context ends (pgx), or a deadline before every
// read (go-redis: now plus ReadTimeout, or the context's deadline). Any
// deadline but the zero time ends a stall at once, not when it passes: the
// stalled read cancels the operation's context, so a deadline taken from
// it has in effect passed, and one from a ReadTimeout is the driver
// giving up, sooner than the wall clock would have it. The zero time, which
// clears a deadline, does not.
func (c *conn) SetDeadline(t time.Time) error {
	c.endStall(t)
	return c.Conn.SetDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.endStall(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) endStall(t time.Time) {
	if t.IsZero() {
		return
	}
	c.mu.Lock()
	stalling := c.stalling
	c.mu.Unlock()
	if stalling {
		c.once.Do(func() { close(c.unstall) })
	}
}

func (c *conn) Close() error {
	c.once.Do(func() { close(c.unstall) })
	return c.Conn.Close()
}

// release ends a stall when the operation that armed it ends, whatever the
// driver did: a stalled connection left in a pool must not block a later
// operation's read, which may have no deadline at all. Its answer is never
// to be read, so the connection is closed.
func (c *conn) release() { c.Close() }

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
type Dialer struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	cur  atomic.Pointer[Injector]
}

// NewDialer wraps dial (nil: a plain net.Dialer). Its DialContext has the
// shape of pgconn.Config.DialFunc.
func NewDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *Dialer {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return &Dialer{dial: dial}
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
	return &conn{Conn: c, d: d, unstall: make(chan struct{})}, nil
}

// conn is a connection that fails on the Injector's say-so.
type conn struct {
	net.Conn
	d *Dialer

	mu       sync.Mutex
	started  bool               // the first message has been written
	exempt   bool               // a cancel-request connection: part of no operation
	dropped  bool               // NetDrop: the request went out; the answer will not come
	stalling bool               // NetStall: reads wait for a deadline or close
	cancel   context.CancelFunc // the stalled operation's; used once
	stallEnd bool               // the stall has run its course
	unstall  chan struct{}
	once     sync.Once
}

func isNet(k Kind) bool { return k.IsNet() }

// runsStatement reports whether b, a run of PostgreSQL frontend messages
// (type byte, 4-byte length including itself, body), holds a simple Query
// ('Q') or an Execute ('E'): a request that makes the server run something.
// Anything it cannot parse counts as one, so that a fault is never lost.
func runsStatement(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 5 {
			return true
		}
		if b[0] == 'Q' || b[0] == 'E' {
			return true
		}
		n := int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4])
		if n < 4 || n+1 > len(b) {
			return true
		}
		b = b[n+1:]
	}
	return false
}

// cancelRequest is the first 8 bytes of PostgreSQL's CancelRequest message:
// length 16, code 80877102. A driver sends it on a connection of its own,
// for instance while closing a broken one in the background.
var cancelRequest = []byte{0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e}

func (c *conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	first := !c.started
	if first {
		c.started = true
		c.exempt = len(b) >= len(cancelRequest) && string(b[:len(cancelRequest)]) == string(cancelRequest)
	}
	exempt := c.exempt
	c.mu.Unlock()
	in := c.d.cur.Load()
	if in == nil || exempt || first || !runsStatement(b) {
		// Faults hit requests that run a statement: not the startup
		// message, not a cancel request (which would take the fault meant
		// for the operation beside it), not a prepare-only round trip.
		return c.Conn.Write(b)
	}
	switch in.take(isNet) {
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
		c.stalling, c.cancel = true, in.cancelFunc()
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
		// the driver gives up on the connection.
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
// interrupt a read when its context ends; that ends a stall.
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

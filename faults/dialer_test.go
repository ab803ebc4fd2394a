package faults_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/faults"
)

// failsafe bounds a wait that must end promptly: a test that reaches it
// has hung. Nothing waits for it to pass.
const failsafe = 10 * time.Second

// fakeRedis is a loopback server that reads RESP commands, records them and
// answers each with +OK.
type fakeRedis struct {
	ln     net.Listener
	mu     sync.Mutex
	cmds   []string      // "GET k", in the order received
	closed chan struct{} // one value per connection that ended
}

func newFakeRedis(t *testing.T) *fakeRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeRedis{ln: ln, closed: make(chan struct{}, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *fakeRedis) serve(c net.Conn) {
	defer func() { s.closed <- struct{}{} }()
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.cmds = append(s.cmds, strings.Join(args, " "))
		s.mu.Unlock()
		if _, err := c.Write([]byte("+OK\r\n")); err != nil {
			return
		}
	}
}

func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return nil, errors.New("not an array")
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return nil, err
		}
		b := make([]byte, l+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:l])
	}
	return args, nil
}

// received waits for the server's side of the one connection to end and
// returns the commands it read.
func (s *fakeRedis) received(t *testing.T) []string {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(failsafe):
		t.Fatal("the server's connection did not end")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmds
}

func resp(args ...string) []byte {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return []byte(b.String())
}

// respConn dials s through a RESP fault dialer fed by in, and says HELLO.
func respConn(t *testing.T, s *fakeRedis, in *faults.Injector) net.Conn {
	t.Helper()
	d := faults.NewDialerFor(faults.RESP, nil)
	d.Use(in)
	c, err := d.DialContext(t.Context(), "tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	roundTrip(t, c, resp("HELLO", "3"), 1)
	return c
}

// roundTrip writes b and reads the n answers it asks for.
func roundTrip(t *testing.T, c net.Conn, b []byte, n int) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatalf("writing %q: %v", b, err)
	}
	want := strings.Repeat("+OK\r\n", n)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("answer to %q: %q, %v", b, got, err)
	}
}

func TestRESPNetRefuseWritesNothing(t *testing.T) {
	s := newFakeRedis(t)
	in := faults.New()
	c := respConn(t, s, in)
	in.Arm(faults.NetRefuse, 1)
	in.Begin(t.Context())
	_, err := c.Write(resp("EVALSHA", "abc", "1", "k"))
	if k := in.End(); k != faults.NetRefuse {
		t.Errorf("fired %v, want net-refuse", k)
	}
	if err == nil {
		t.Error("the refused write succeeded")
	}
	if got := s.received(t); strings.Join(got, "|") != "HELLO 3" {
		t.Errorf("server received %q, want only the HELLO", got)
	}
}

func TestRESPNetDropDeliversThenFails(t *testing.T) {
	s := newFakeRedis(t)
	in := faults.New()
	c := respConn(t, s, in)
	in.Arm(faults.NetDrop, 1)
	in.Begin(t.Context())
	b := resp("HSET", "k", "f", "v")
	if n, err := c.Write(b); n != len(b) || err != nil {
		t.Errorf("the dropped write: %d, %v; want it all written", n, err)
	}
	if _, err := c.Read(make([]byte, 16)); err == nil {
		t.Error("the answer to a dropped request was read")
	}
	if k := in.End(); k != faults.NetDrop {
		t.Errorf("fired %v, want net-drop", k)
	}
	if got := s.received(t); strings.Join(got, "|") != "HELLO 3|HSET k f v" {
		t.Errorf("server received %q, want the HSET", got)
	}
}

func TestRESPNetStallHoldsTheAnswerUntilTheContextIsDone(t *testing.T) {
	s := newFakeRedis(t)
	in := faults.New()
	c := respConn(t, s, in)
	in.Arm(faults.NetStall, 1)
	ctx := in.Begin(t.Context())
	if _, err := c.Write(resp("GET", "k")); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 16))
		read <- err
	}()
	// The stalled read cancels the operation, as its deadline passing
	// would; the driver then gives up on the read with a deadline.
	select {
	case <-ctx.Done():
	case <-time.After(failsafe):
		t.Fatal("the stall did not end the operation's context")
	}
	select {
	case err := <-read:
		t.Fatalf("the stalled read returned before the driver gave up: %v", err)
	default:
	}
	c.SetReadDeadline(time.Now())
	select {
	case err := <-read:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("stalled read: %v, want a deadline error", err)
		}
	case <-time.After(failsafe):
		t.Fatal("a read deadline did not end the stall")
	}
	if k := in.End(); k != faults.NetStall {
		t.Errorf("fired %v, want net-stall", k)
	}
	if got := s.received(t); strings.Join(got, "|") != "HELLO 3|GET k" {
		t.Errorf("server received %q, want the GET", got)
	}
}

// TestRESPFaultHitsTheNthRequest arms a fault for an operation's second
// request: housekeeping between the two does not count.
func TestRESPFaultHitsTheNthRequest(t *testing.T) {
	s := newFakeRedis(t)
	in := faults.New()
	c := respConn(t, s, in)
	in.Arm(faults.NetRefuse, 2)
	in.Begin(t.Context())
	roundTrip(t, c, resp("EVALSHA", "abc", "1", "a"), 1)
	roundTrip(t, c, append(resp("CLIENT", "SETNAME", "x"), resp("PING")...), 2)
	roundTrip(t, c, resp("SCRIPT", "LOAD", "return 1"), 1)
	_, err := c.Write(resp("WAIT", "1", "100"))
	if k := in.End(); k != faults.NetRefuse || err == nil {
		t.Errorf("second request: fired %v, err %v; want it refused", k, err)
	}
	want := "HELLO 3|EVALSHA abc 1 a|CLIENT SETNAME x|PING|SCRIPT LOAD return 1"
	if got := s.received(t); strings.Join(got, "|") != want {
		t.Errorf("server received %q, want %q", got, want)
	}
}

// TestRESPFaultHitsAPipeline arms a fault for the second command of a
// pipeline written at once: the whole write takes it.
func TestRESPFaultHitsAPipeline(t *testing.T) {
	s := newFakeRedis(t)
	in := faults.New()
	c := respConn(t, s, in)
	in.Arm(faults.NetRefuse, 2)
	in.Begin(t.Context())
	_, err := c.Write(append(resp("EVALSHA", "abc", "1", "a"), resp("WAIT", "1", "100")...))
	if k := in.End(); k != faults.NetRefuse || err == nil {
		t.Errorf("fired %v, err %v; want the pipeline refused", k, err)
	}
	if got := s.received(t); strings.Join(got, "|") != "HELLO 3" {
		t.Errorf("server received %q, want only the HELLO", got)
	}
}

// TestStallEndsWithItsOperation reproduces a harness hang: a pooled
// connection left stalling by an operation that never read its answer is
// read by a later operation with no deadline. The read must fail at once,
// and must not cancel the later operation.
func TestStallEndsWithItsOperation(t *testing.T) {
	for _, p := range []faults.Protocol{faults.PostgreSQL, faults.RESP} {
		t.Run(p.String(), func(t *testing.T) {
			c, in := stalled(t, p)
			in.End()

			ctx := in.Begin(context.Background())
			read := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 16))
				read <- err
			}()
			select {
			case err := <-read:
				if err == nil {
					t.Error("a stalled connection was read")
				}
			case <-time.After(failsafe):
				c.Close() // let the reader go
				t.Fatal("a read of a connection stalled by an earlier operation hung")
			}
			if ctx.Err() != nil {
				t.Error("a connection stalled by an earlier operation cancelled the next")
			}
			if k := in.End(); k != 0 {
				t.Errorf("the later operation fired %v", k)
			}
		})
	}
}

// TestStallEndsWhenItsOperationEnds: a stalled read whose driver never sets
// a deadline nor closes the connection ends with the operation.
func TestStallEndsWhenItsOperationEnds(t *testing.T) {
	c, in := stalled(t, faults.RESP)
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 16))
		read <- err
	}()
	select {
	case err := <-read:
		t.Fatalf("the stalled read returned before its operation ended: %v", err)
	default:
	}
	if k := in.End(); k != faults.NetStall {
		t.Errorf("fired %v, want net-stall", k)
	}
	select {
	case err := <-read:
		if err == nil {
			t.Error("a stalled connection was read")
		}
	case <-time.After(failsafe):
		c.Close()
		t.Fatal("the stalled read outlived its operation")
	}
}

// stalled returns a connection to an echo server that a NetStall of the
// operation in progress has hit, with no read after it.
func stalled(t *testing.T, p faults.Protocol) (net.Conn, *faults.Injector) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		io.Copy(s, s)
	}()
	in := faults.New()
	d := faults.NewDialerFor(p, nil)
	d.Use(in)
	c, err := d.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	request := resp("GET", "k")
	if p == faults.PostgreSQL {
		// The startup message, which is never faulted, then a Query.
		if _, err := c.Write([]byte{0, 0, 0, 8, 0, 3, 0, 0}); err != nil {
			t.Fatal(err)
		}
		request = append([]byte{'Q', 0, 0, 0, 13}, "SELECT 1\x00"...)
	}
	in.Arm(faults.NetStall, 1)
	in.Begin(context.Background())
	if _, err := c.Write(request); err != nil {
		t.Fatal(err)
	}
	return c, in
}

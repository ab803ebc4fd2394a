package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/rediscluster"
	"github.com/hourglass-go/hourglass/internal/redistest"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/store"
)

// dying makes connections for a client that dies after its first `alive`
// script calls: every later write fails, as if its process had stopped
// between two steps of whatever it was doing.
type dying struct {
	alive int64
	sent  atomic.Int64
}

func (d *dying) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &dyingConn{Conn: c, d: d}, nil
}

type dyingConn struct {
	net.Conn
	d *dying
}

func (c *dyingConn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("$7\r\nevalsha\r\n")) || bytes.Contains(b, []byte("$4\r\neval\r\n")) {
		if c.d.sent.Add(1) > c.d.alive {
			c.Conn.Close()
			return 0, errors.New("client stopped")
		}
	}
	return c.Conn.Write(b)
}

// crossSlotIDs returns two IDs in different slots, owned by different
// primaries when there are several.
func crossSlotIDs(t *testing.T, ctl *rediscluster.Cluster, n int) (store.ID, store.ID) {
	old := store.ID(fmt.Sprintf("old%d", n))
	for i := 0; ; i++ {
		new := store.ID(fmt.Sprintf("new%d-%d", n, i))
		if ctl == nil || ctl.SlotOwner(rediscluster.Slot(string(old))) != ctl.SlotOwner(rediscluster.Slot(string(new))) {
			return old, new
		}
	}
}

// A client may stop between any two steps of a cross-slot move, and a
// primary may crash and restart right then: afterwards the session is
// under exactly one of its IDs, whole, at the right version; under the new
// one if the mover reported success, under the old one if it reported a
// definite failure. The next operations of other clients finish or undo
// what the mover left.
func TestChangeIDStopsAfterEveryStep(t *testing.T) {
	ctl := redistest.NewCluster(t, rediscluster.Options{Primaries: 3, Cluster: true, AppendFsync: "always"})
	addrs := ctl.Addrs()
	clk := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	observer, err := redisstore.New(ctx, redisstore.Options{Addrs: addrs, Cluster: true, Clock: clk, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	n := 0
	for _, crash := range []bool{false, true} {
		for _, conditional := range []bool{false, true} {
			for alive := int64(0); alive <= 6; alive++ {
				if crash && conditional {
					continue // the crash cases are slow; one kind of move is enough
				}
				n++
				name := fmt.Sprintf("crash=%v/if=%v/alive=%d", crash, conditional, alive)
				old, new := crossSlotIDs(t, ctl, n)
				state := []byte("state-" + name)
				if err := observer.Create(ctx, old, state, time.Hour); err != nil {
					t.Fatal(name, err)
				}
				rec, err := observer.Load(ctx, old)
				if err != nil {
					t.Fatal(name, err)
				}
				d := &dying{alive: alive}
				mover, err := redisstore.New(ctx, redisstore.Options{Addrs: addrs, Cluster: true, Clock: clk, Prefix: prefix, Dialer: d.dial, FenceTimeout: 200 * time.Millisecond})
				if err != nil {
					t.Fatal(name, err)
				}
				want := state
				if conditional {
					want = []byte("moved-" + name)
					_, err = mover.ChangeIDIf(ctx, old, new, rec.Version, want)
				} else {
					err = mover.ChangeID(ctx, old, new)
				}
				mover.Close()
				if crash {
					restart(t, ctl, old, new)
				}
				// new first: reading it settles whatever the mover left
				// there (finishing a move it started and never withdrew,
				// which, never reported, may take effect now), so that the
				// two reads see one state.
				b, errB := observer.Load(ctx, new)
				a, errA := observer.Load(ctx, old)
				switch {
				case errA == nil && errB == nil:
					t.Fatalf("%s: readable under both IDs", name)
				case errA != nil && errB != nil:
					t.Fatalf("%s: lost: %v / %v (mover: %v)", name, errA, errB, err)
				case errA == nil:
					if err == nil {
						t.Fatalf("%s: mover reported success, session still under old", name)
					}
					if !bytes.Equal(a.State, state) || a.Version != rec.Version {
						t.Fatalf("%s: under old, changed: %+v", name, a)
					}
				default:
					if err != nil && !store.IsAmbiguous(err) {
						t.Fatalf("%s: moved, but the mover reported a definite failure: %v", name, err)
					}
					if !bytes.Equal(b.State, want) || b.Version != rec.Version+1 || !b.Expires.Equal(rec.Expires) {
						t.Fatalf("%s: under new, wrong record: %+v (read %+v)", name, b, rec)
					}
				}
				t.Logf("%s: mover: %v; under old: %v, under new: %v", name, err, errA == nil, errB == nil)
				// Nothing is left in anyone's way: the session moves on.
				// A mover that died holding an intent may be finished by
				// this very move (its ChangeID never returned, so it may
				// take effect now): then the session is under new.
				cur := old
				if errB == nil {
					cur = new
				}
				next := store.ID(fmt.Sprintf("next%d", n))
				err = observer.ChangeID(ctx, cur, next)
				if errors.Is(err, store.ErrNotFound) && cur == old {
					if _, err := observer.Load(ctx, new); err != nil {
						t.Fatalf("%s: the move from old found nothing, and nothing is under new: %v", name, err)
					}
					err = observer.ChangeID(ctx, new, next)
				}
				if err != nil {
					t.Fatalf("%s: moving it on: %v", name, err)
				}
				if _, err := observer.Load(ctx, next); err != nil {
					t.Fatalf("%s: after moving it on: %v", name, err)
				}
			}
		}
	}
}

// restart kills and restarts the primaries of both IDs.
func restart(t *testing.T, ctl *rediscluster.Cluster, ids ...store.ID) {
	t.Helper()
	seen := map[int]bool{}
	for _, id := range ids {
		p := ctl.SlotOwner(rediscluster.Slot(string(id)))
		if seen[p] {
			continue
		}
		seen[p] = true
		if err := ctl.Kill(p); err != nil {
			t.Fatal(err)
		}
		if err := ctl.Restart(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// Many clients move one session back and forth between slots at once,
// with readers of both IDs: every move either happens or fails with a
// contract error, and at the end the session is under exactly one ID.
func TestConcurrentMovesNeverCloneOrLose(t *testing.T) {
	srv := redistest.Cluster(t)
	clk := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	s, err := redisstore.New(ctx, redisstore.Options{Addrs: srv.Addrs, Cluster: srv.Cluster, Clock: clk, Prefix: redistest.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := []store.ID{"a", "b", "c", "d"}
	if err := s.Create(ctx, ids[0], []byte("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var moved atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				from, to := ids[(w+i)%4], ids[(w+i+1+w%3)%4]
				err := s.ChangeID(ctx, from, to)
				switch {
				case err == nil:
					moved.Add(1)
				case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrDuplicateID):
				default:
					t.Errorf("move %s -> %s: %v", from, to, err)
					return
				}
				_, _ = s.Load(ctx, to)
			}
		}()
	}
	wg.Wait()
	live := 0
	for _, id := range ids {
		if r, err := s.Load(ctx, id); err == nil {
			live++
			if string(r.State) != "x" {
				t.Errorf("%s holds %q", id, r.State)
			}
		}
	}
	if live != 1 {
		t.Fatalf("session under %d IDs after %d moves, want 1", live, moved.Load())
	}
	t.Logf("%d moves", moved.Load())
}

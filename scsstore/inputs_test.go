package scsstore_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/scsstore"
	"github.com/hourglass-go/hourglass/store"
)

// counting is a store that counts the calls that reach it. It hides the
// backend's optional capabilities, which these tests do not need.
type counting struct {
	store.Store
	calls atomic.Int64
}

func (c *counting) Load(ctx context.Context, id store.ID) (store.Record, error) {
	c.calls.Add(1)
	return c.Store.Load(ctx, id)
}

func (c *counting) Delete(ctx context.Context, id store.ID) error {
	c.calls.Add(1)
	return c.Store.Delete(ctx, id)
}

func (c *counting) Create(ctx context.Context, id store.ID, b []byte, ttl time.Duration) error {
	c.calls.Add(1)
	return c.Store.Create(ctx, id, b, ttl)
}

func (c *counting) Update(ctx context.Context, id store.ID, b []byte, ttl time.Duration) error {
	c.calls.Add(1)
	return c.Store.Update(ctx, id, b, ttl)
}

func newCounting(clk clock.Clock) (*counting, *scsstore.Store) {
	c := &counting{Store: memstore.New(memstore.Options{Clock: clk})}
	st, err := scsstore.New(c, scsstore.Options{Clock: clk})
	if err != nil {
		panic(err)
	}
	return c, st
}

// A token that is not a valid ID (a tampered cookie) is "not found"
// without a round trip, and deleting it is a no-op, also without one.
func TestInvalidTokenIsNotFoundWithoutARoundTrip(t *testing.T) {
	c, st := newCounting(clock.NewSim(epoch))
	for _, token := range []string{"", "a b", "tok%en", "é", strings.Repeat("a", store.MaxIDLen+1), "x\x00"} {
		b, found, err := st.Find(token)
		if b != nil || found || err != nil {
			t.Errorf("Find(%q) = %q, %v, %v; want nothing, not found, no error", token, b, found, err)
		}
		if err := st.Delete(token); err != nil {
			t.Errorf("Delete(%q) = %v", token, err)
		}
		if err := st.Commit(token, []byte("x"), epoch.Add(time.Hour)); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("Commit(%q) = %v, want ErrInvalidID", token, err)
		}
	}
	if n := c.calls.Load(); n != 0 {
		t.Errorf("invalid tokens cost %d round trips", n)
	}
}

// An expiry already past at Commit deletes the session instead of storing
// it (scs's Redis store would store it with no expiry at all).
func TestPastExpiryDeletes(t *testing.T) {
	clk := clock.NewSim(epoch)
	_, st := newCounting(clk)
	token := string(store.NewID())
	if err := st.Commit(token, []byte("x"), epoch.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{epoch, epoch.Add(-time.Hour), {}} {
		if err := st.Commit(token, []byte("y"), at); err != nil {
			t.Fatalf("Commit at %v: %v", at, err)
		}
		if b, found, err := st.Find(token); found || err != nil {
			t.Errorf("after a commit expiring at %v: %q, %v, %v; want the session gone", at, b, found, err)
		}
	}
}

// Without LoadAndSave, Commit is an upsert: update, or create if absent.
func TestUnwrappedCommitUpserts(t *testing.T) {
	clk := clock.NewSim(epoch)
	c, st := newCounting(clk)
	token := string(store.NewID())
	for i, v := range []string{"a", "b"} {
		before := c.calls.Load()
		if err := st.Commit(token, []byte(v), epoch.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, want := c.calls.Load()-before, int64(2-i); got != want {
			t.Errorf("commit %d: %d store calls, want %d", i, got, want)
		}
		if b, found, _ := st.Find(token); !found || string(b) != v {
			t.Errorf("after commit %d: %q, %v", i, b, found)
		}
	}
}

func TestOptions(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	for _, o := range []scsstore.Options{{Resolution: -1}, {Cap: -1}} {
		if _, err := scsstore.New(mem, o); !errors.Is(err, scsstore.ErrInvalidOptions) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOptions", o, err)
		}
	}
	if _, err := scsstore.New(nil, scsstore.Options{}); !errors.Is(err, scsstore.ErrInvalidOptions) {
		t.Errorf("New(nil) = %v", err)
	}
}

// Login and RenewToken need the request's memory; Login needs owners and a
// valid one. Each refuses before changing anything.
func TestLoginRefusals(t *testing.T) {
	ctx := context.Background()
	sm := scs.New()
	_, plain := newCounting(clock.NewSim(epoch))
	sm.Store = plain
	ctx, err := sm.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.RenewToken(ctx, sm); !errors.Is(err, scsstore.ErrNotWrapped) {
		t.Errorf("RenewToken outside LoadAndSave: %v", err)
	}
	if err := plain.Login(ctx, sm, "user:a"); !errors.Is(err, scsstore.ErrNoOwners) {
		t.Errorf("Login on a store without owners: %v", err)
	}
	if _, err := plain.Devices(ctx, "user:a"); !errors.Is(err, scsstore.ErrNoOwners) {
		t.Errorf("Devices on a store without owners: %v", err)
	}
	owned, _ := scsstore.New(memstore.New(memstore.Options{}), scsstore.Options{})
	if err := owned.Login(ctx, sm, ""); !errors.Is(err, store.ErrInvalidOwner) {
		t.Errorf("Login with no owner: %v", err)
	}
	if err := owned.Login(ctx, sm, "user:a"); !errors.Is(err, scsstore.ErrNotWrapped) {
		t.Errorf("Login outside LoadAndSave: %v", err)
	}
	if sm.Token(ctx) != "" {
		t.Error("a refused renewal changed the token")
	}
}

// AllCtx lists live sessions by token on a backend that can scan, and
// refuses on one that cannot.
func TestAll(t *testing.T) {
	clk := clock.NewSim(epoch)
	mem := memstore.New(memstore.Options{Clock: clk})
	st, _ := scsstore.New(mem, scsstore.Options{Clock: clk})
	want := map[string]string{}
	for i := range 2500 {
		id := store.NewID()
		ttl := time.Hour
		if i%5 == 0 {
			ttl = time.Minute
		} else {
			want[string(id)] = string(id)
		}
		if err := mem.Create(t.Context(), id, []byte(id), ttl); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Minute)
	all, err := st.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("All returned %d sessions, want %d", len(all), len(want))
	}
	for k, v := range all {
		if want[k] != string(v) {
			t.Fatalf("All: %q -> %q", k, v)
		}
	}
	_, plain := newCounting(clk)
	if _, err := plain.All(); !errors.Is(err, scsstore.ErrNotIterable) {
		t.Errorf("All on a store that cannot scan: %v", err)
	}
}

// Whatever a cookie holds, Find and Delete answer without panicking, and
// only a valid ID ever reaches the store.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"", string(store.NewID()), "a.b", "\xff", strings.Repeat("-", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, st := newCounting(clock.NewSim(epoch))
		_, found, err := st.Find(token)
		if found || err != nil {
			t.Fatalf("Find(%q) on an empty store: %v, %v", token, found, err)
		}
		_ = st.Delete(token)
		if valid := store.ID(token).Validate() == nil; !valid && c.calls.Load() != 0 {
			t.Fatalf("the invalid token %q reached the store", token)
		}
	})
}

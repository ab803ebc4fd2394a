package scsstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// logged is memstore, with every capability, logging the calls that reach
// it by name.
type logged struct {
	*memstore.Store
	mu  sync.Mutex
	log []string
}

func (l *logged) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, name)
}

// take returns the calls logged since the last take.
func (l *logged) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.log, " ")
	l.log = nil
	return s
}

func (l *logged) Load(ctx context.Context, id store.ID) (store.Record, error) {
	l.add("Load")
	return l.Store.Load(ctx, id)
}

func (l *logged) Touch(ctx context.Context, id store.ID, ttl, res time.Duration) (store.Record, error) {
	l.add("Touch")
	return l.Store.Touch(ctx, id, ttl, res)
}

func (l *logged) Create(ctx context.Context, id store.ID, b []byte, ttl time.Duration) error {
	l.add("Create")
	return l.Store.Create(ctx, id, b, ttl)
}

func (l *logged) Update(ctx context.Context, id store.ID, b []byte, ttl time.Duration) error {
	l.add("Update")
	return l.Store.Update(ctx, id, b, ttl)
}

func (l *logged) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	l.add("UpdateTTL")
	return l.Store.UpdateTTL(ctx, id, ttl)
}

func (l *logged) UpdateIf(ctx context.Context, id store.ID, v uint64, b []byte, ttl time.Duration) (uint64, error) {
	if ttl == store.KeepTTL {
		l.add("UpdateIf(keep)")
	} else {
		l.add("UpdateIf")
	}
	return l.Store.UpdateIf(ctx, id, v, b, ttl)
}

func (l *logged) Delete(ctx context.Context, id store.ID) error {
	l.add("Delete")
	return l.Store.Delete(ctx, id)
}

func (l *logged) Cycle(ctx context.Context, old, new store.ID, owner store.Owner, b []byte, ttl time.Duration, cap int) error {
	l.add("Cycle")
	return l.Store.Cycle(ctx, old, new, owner, b, ttl, cap)
}

// Each kind of request costs the store calls the package documentation
// promises: one statement per store call, a read for a request that
// changes nothing, and values written in place when scs's expiry has not
// moved.
func TestStoreCallsPerRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		idle  time.Duration
		steps []step
	}{
		{"lifetime only", 0, []step{
			{"POST", "/put", 0, "Create"},
			{"GET", "/get", 0, "Load"},                 // scs commits nothing
			{"POST", "/put", 0, "Load UpdateIf(keep)"}, // the deadline is unchanged
			{"POST", "/put", time.Hour, "Load UpdateIf(keep)"},
			{"POST", "/login", 0, "Load Cycle"},
			{"POST", "/logout", 0, "Load Delete"},
		}},
		{"idle timeout", 30 * time.Minute, []step{
			{"POST", "/put", 0, "Create"},
			{"GET", "/get", 0, "Touch"},                 // nothing to write: a read
			{"GET", "/get", 5 * time.Minute, "Touch"},   // the Touch slides the expiry
			{"POST", "/put", 0, "Touch UpdateIf(keep)"}, // the expiry is in place
			{"POST", "/put", 5 * time.Minute, "Touch UpdateIf(keep)"},
			{"POST", "/login", 0, "Touch Cycle"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewSim(epoch)
			l := &logged{Store: memstore.New(memstore.Options{Clock: clk})}
			a := newAppOn(t, clk, l, appOptions{idle: tc.idle})
			c := a.client()
			for i, s := range tc.steps {
				clk.Add(s.advance)
				c.must(s.method, s.path, "v", strings.Repeat("x", i), "user", "u")
				if got := l.take(); got != s.calls {
					t.Errorf("step %d, %s %s: store calls %q, want %q", i, s.method, s.path, got, s.calls)
				}
			}
		})
	}
}

type step struct {
	method, path string
	advance      time.Duration // on the store's clock, before the request
	calls        string
}

// A session presented after scs's absolute deadline is destroyed before
// the handler sees it, even if the store still holds it (under an idle
// timeout the store's expiry may run past the deadline; see FindCtx).
// scs alone would serve it.
func TestPastDeadlineIsNotServed(t *testing.T) {
	for _, unwrap := range []bool{false, true} {
		clk := clock.NewSim(epoch)
		mem := memstore.New(memstore.Options{Clock: clk})
		a := newAppOn(t, clk, mem, appOptions{idle: time.Hour, unwrap: unwrap})
		b, err := scs.GobCodec{}.Encode(time.Now().Add(-time.Minute), map[string]any{"v": "stale"})
		if err != nil {
			t.Fatal(err)
		}
		id := store.NewID()
		if err := mem.Create(t.Context(), id, b, time.Hour); err != nil {
			t.Fatal(err)
		}
		got := a.as(string(id)).must("GET", "/get")
		_, stored := a.stored(string(id))
		if unwrap {
			if got != "stale|" {
				t.Errorf("scs alone read %q", got)
			}
			continue
		}
		if got != "|" || stored {
			t.Errorf("past its deadline the session reads %q and is stored: %v", got, stored)
		}
	}
}

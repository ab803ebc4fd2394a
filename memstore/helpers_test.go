package memstore_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// t0 is where every test's clock starts. Expiries in the tables are written
// as offsets from it.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var ctx = context.Background()

// countingClock is a Sim that counts its readings, to check that each
// operation reads the clock exactly once.
type countingClock struct {
	*clock.Sim
	reads atomic.Int64
}

func (c *countingClock) Now() time.Time {
	c.reads.Add(1)
	return c.Sim.Now()
}

type fixture struct {
	clk *countingClock
	s   *memstore.Store
	// born is the first version of the session last created under each ID
	// (store.FirstVersion of what it was created with), noted by the
	// create steps, for the scenarios' versions (vno).
	born map[store.ID]uint64
}

func newFixture(t testing.TB, opts memstore.Options) *fixture {
	t.Helper()
	clk := &countingClock{Sim: clock.NewSim(t0)}
	opts.Clock = clk
	return &fixture{clk: clk, s: memstore.New(opts), born: map[store.ID]uint64{}}
}

// at sets the clock to t0+d.
func (f *fixture) at(d time.Duration) { f.clk.Set(t0.Add(d)) }

// mustCreate creates id with a TTL of ttl and fails the test on error.
func (f *fixture) mustCreate(t testing.TB, id store.ID, state string, ttl time.Duration) {
	t.Helper()
	if err := f.s.Create(ctx, id, []byte(state), ttl); err != nil {
		t.Fatalf("Create(%q): %v", id, err)
	}
	f.created(id, "", state, ttl)
}

// created notes the first version of a session that was just created: the
// hash of what it was created with, the expiry computed from the clock as
// the store's single reading saw it (the simulated clock stands still
// between the call and this).
// It reads the clock beneath the counting one, so as not to count.
func (f *fixture) created(id store.ID, owner store.Owner, state string, ttl time.Duration) {
	f.born[id] = store.FirstVersion(id, owner, []byte(state), store.Expiry(store.Instant(f.clk.Sim.Now()), ttl))
}

// first returns the first version of the session last created under id,
// failing the test if the scenario created none.
func (f *fixture) first(t testing.TB, id store.ID) uint64 {
	t.Helper()
	v, ok := f.born[id]
	if !ok {
		t.Fatalf("no session was created under %q: no first version to count from", id)
	}
	return v
}

// wantLoad checks that id is live with state and expiry t0+at.
func (f *fixture) wantLoad(t testing.TB, id store.ID, state string, at time.Duration) {
	t.Helper()
	rec, err := f.s.Load(ctx, id)
	if err != nil {
		t.Fatalf("Load(%q): %v, want state %q", id, err, state)
	}
	if string(rec.State) != state || !rec.Expires.Equal(t0.Add(at)) {
		t.Fatalf("Load(%q) = {%q, %v}, want {%q, %v}", id, rec.State, rec.Expires, state, t0.Add(at))
	}
	if rec.Expires.Location() != time.UTC {
		t.Fatalf("Load(%q).Expires in %v, want UTC", id, rec.Expires.Location())
	}
}

// wantMissing checks that id is not live.
func (f *fixture) wantMissing(t testing.TB, id store.ID) {
	t.Helper()
	if rec, err := f.s.Load(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load(%q) = {%q, %v}, %v; want ErrNotFound", id, rec.State, rec.Expires, err)
	}
}

func (f *fixture) wantLen(t testing.TB, n int) {
	t.Helper()
	if got := f.s.Len(); got != n {
		t.Fatalf("Len() = %d, want %d", got, n)
	}
}

func (f *fixture) checkInvariants(t testing.TB) {
	t.Helper()
	if err := f.s.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, what string, got, want error) {
	t.Helper()
	if want == nil && got != nil || want != nil && !errors.Is(got, want) {
		t.Fatalf("%s: error %v, want %v", what, got, want)
	}
}

// wantOwned checks that id is live with state, expiry t0+at and owner.
func (f *fixture) wantOwned(t testing.TB, id store.ID, state string, at time.Duration, owner store.Owner) {
	t.Helper()
	f.wantLoad(t, id, state, at)
	rec, err := f.s.Load(ctx, id)
	if err != nil {
		t.Fatalf("Load(%q): %v", id, err)
	}
	if rec.Owner != owner {
		t.Fatalf("Load(%q).Owner = %q, want %q", id, rec.Owner, owner)
	}
}

// wantVersion checks that id is live at version n.
func (f *fixture) wantVersion(t testing.TB, id store.ID, n uint64) {
	t.Helper()
	rec, err := f.s.Load(ctx, id)
	if err != nil || rec.Version != n {
		t.Fatalf("Load(%q) = version %d, %v; want version %d", id, rec.Version, err, n)
	}
}

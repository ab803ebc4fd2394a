package memstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// An op is one call on a store, reduced to its error, so that validation and
// cancellation can be checked uniformly across all the operations.
type op struct {
	name string
	call func(ctx context.Context, s *memstore.Store) error
}

// TestInvalidInputHasNoEffect checks that every kind of invalid argument is
// rejected with its sentinel, before the clock is read and without touching
// the record already in the store.
func TestInvalidInputHasNoEffect(t *testing.T) {
	long := store.ID(strings.Repeat("a", store.MaxIDLen+1))
	big := make([]byte, 9)
	cases := []struct {
		op
		want error
	}{
		{op{"Create empty id", func(c context.Context, s *memstore.Store) error { return s.Create(c, "", nil, sec) }}, store.ErrInvalidID},
		{op{"Create bad byte", func(c context.Context, s *memstore.Store) error { return s.Create(c, "a b", nil, sec) }}, store.ErrInvalidID},
		{op{"Create too long id", func(c context.Context, s *memstore.Store) error { return s.Create(c, long, nil, sec) }}, store.ErrInvalidID},
		{op{"Create id before ttl", func(c context.Context, s *memstore.Store) error { return s.Create(c, "a.", nil, 0) }}, store.ErrInvalidID},
		{op{"Create zero ttl", func(c context.Context, s *memstore.Store) error { return s.Create(c, "b", nil, 0) }}, store.ErrInvalidTTL},
		{op{"Create negative ttl", func(c context.Context, s *memstore.Store) error { return s.Create(c, "b", nil, -sec) }}, store.ErrInvalidTTL},
		{op{"Create ttl over max", func(c context.Context, s *memstore.Store) error { return s.Create(c, "b", nil, time.Hour+1) }}, store.ErrInvalidTTL},
		{op{"Create ttl before size", func(c context.Context, s *memstore.Store) error { return s.Create(c, "b", big, 0) }}, store.ErrInvalidTTL},
		{op{"Create too large", func(c context.Context, s *memstore.Store) error { return s.Create(c, "b", big, sec) }}, store.ErrTooLarge},
		{op{"Create over live, too large", func(c context.Context, s *memstore.Store) error { return s.Create(c, "a", big, sec) }}, store.ErrTooLarge},
		{op{"Load bad id", func(c context.Context, s *memstore.Store) error { _, err := s.Load(c, "a/"); return err }}, store.ErrInvalidID},
		{op{"Update bad id", func(c context.Context, s *memstore.Store) error { return s.Update(c, "", []byte("x"), sec) }}, store.ErrInvalidID},
		{op{"Update zero ttl", func(c context.Context, s *memstore.Store) error { return s.Update(c, "a", []byte("x"), 0) }}, store.ErrInvalidTTL},
		{op{"Update ttl over max", func(c context.Context, s *memstore.Store) error { return s.Update(c, "a", []byte("x"), 2*time.Hour) }}, store.ErrInvalidTTL},
		{op{"Update too large", func(c context.Context, s *memstore.Store) error { return s.Update(c, "a", big, sec) }}, store.ErrTooLarge},
		{op{"UpdateTTL bad id", func(c context.Context, s *memstore.Store) error { return s.UpdateTTL(c, long, sec) }}, store.ErrInvalidID},
		{op{"UpdateTTL id before ttl", func(c context.Context, s *memstore.Store) error { return s.UpdateTTL(c, "", 0) }}, store.ErrInvalidID},
		{op{"UpdateTTL zero ttl", func(c context.Context, s *memstore.Store) error { return s.UpdateTTL(c, "a", 0) }}, store.ErrInvalidTTL},
		{op{"UpdateTTL ttl over max", func(c context.Context, s *memstore.Store) error { return s.UpdateTTL(c, "a", time.Hour+us) }}, store.ErrInvalidTTL},
		{op{"Delete bad id", func(c context.Context, s *memstore.Store) error { return s.Delete(c, "a\x00") }}, store.ErrInvalidID},
		{op{"ChangeID bad old", func(c context.Context, s *memstore.Store) error { return s.ChangeID(c, "", "b") }}, store.ErrInvalidID},
		{op{"ChangeID bad new", func(c context.Context, s *memstore.Store) error { return s.ChangeID(c, "a", "b=") }}, store.ErrInvalidID},
		{op{"ChangeID both bad", func(c context.Context, s *memstore.Store) error { return s.ChangeID(c, "a=", long) }}, store.ErrInvalidID},
		{op{"DeleteExpired negative", func(c context.Context, s *memstore.Store) error { _, err := s.DeleteExpired(c, -1); return err }}, store.ErrInvalidLimit},
		{op{"UpdateIf bad id", func(c context.Context, s *memstore.Store) error { return updateIfErr(c, s, "a=", aFirst, big, 0) }}, store.ErrInvalidID},
		{op{"UpdateIf version 0", func(c context.Context, s *memstore.Store) error { return updateIfErr(c, s, "a", 0, []byte("x"), sec) }}, store.ErrInvalidVersion},
		{op{"UpdateIf version before ttl", func(c context.Context, s *memstore.Store) error { return updateIfErr(c, s, "a", 0, big, 0) }}, store.ErrInvalidVersion},
		{op{"UpdateIf zero ttl", func(c context.Context, s *memstore.Store) error {
			return updateIfErr(c, s, "a", aFirst, []byte("x"), 0)
		}}, store.ErrInvalidTTL},
		{op{"UpdateIf negative ttl other than KeepTTL", func(c context.Context, s *memstore.Store) error {
			return updateIfErr(c, s, "a", aFirst, []byte("x"), store.KeepTTL-1)
		}}, store.ErrInvalidTTL},
		{op{"UpdateIf ttl over max", func(c context.Context, s *memstore.Store) error {
			return updateIfErr(c, s, "a", aFirst, []byte("x"), time.Hour+us)
		}}, store.ErrInvalidTTL},
		{op{"UpdateIf ttl before size", func(c context.Context, s *memstore.Store) error { return updateIfErr(c, s, "a", aFirst, big, 0) }}, store.ErrInvalidTTL},
		{op{"UpdateIf too large", func(c context.Context, s *memstore.Store) error { return updateIfErr(c, s, "a", aFirst, big, sec) }}, store.ErrTooLarge},
		{op{"UpdateIf KeepTTL, too large", func(c context.Context, s *memstore.Store) error {
			return updateIfErr(c, s, "a", aFirst, big, store.KeepTTL)
		}}, store.ErrTooLarge},
		{op{"ChangeIDIf bad old", func(c context.Context, s *memstore.Store) error { return changeIDIfErr(c, s, "", "b", 0, big) }}, store.ErrInvalidID},
		{op{"ChangeIDIf bad new", func(c context.Context, s *memstore.Store) error { return changeIDIfErr(c, s, "a", long, 0, big) }}, store.ErrInvalidID},
		{op{"ChangeIDIf version 0", func(c context.Context, s *memstore.Store) error { return changeIDIfErr(c, s, "a", "b", 0, big) }}, store.ErrInvalidVersion},
		{op{"ChangeIDIf too large", func(c context.Context, s *memstore.Store) error { return changeIDIfErr(c, s, "a", "b", aFirst, big) }}, store.ErrTooLarge},
		{op{"Scan bad after", func(c context.Context, s *memstore.Store) error { _, err := s.Scan(c, "a b", 0); return err }}, store.ErrInvalidID},
		{op{"Scan zero limit", func(c context.Context, s *memstore.Store) error { _, err := s.Scan(c, "", 0); return err }}, store.ErrInvalidLimit},
		{op{"Scan negative limit", func(c context.Context, s *memstore.Store) error { _, err := s.Scan(c, "a", -1); return err }}, store.ErrInvalidLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, memstore.Options{Limits: store.Limits{MaxStateSize: 8, MaxTTL: time.Hour}})
			f.mustCreate(t, "a", "v", sec)
			f.mustCreate(t, "gone", "w", us)
			f.at(us) // gone is expired: an invalid call must not reclaim it
			f.clk.reads.Store(0)
			wantErr(t, tc.name, tc.call(ctx, f.s), tc.want)
			if n := f.clk.reads.Load(); n != 0 {
				t.Errorf("clock read %d times before validation failed, want 0", n)
			}
			f.wantLoad(t, "a", "v", sec)
			f.wantVersion(t, "a", aFirst)
			f.wantMissing(t, "b")
			f.wantLen(t, 2)
		})
	}
}

// aFirst and goneFirst are the versions at which the fixtures of the
// tables create "a" and "gone" (at t0, "a" with "v" for a second, "gone"
// with "w" for a microsecond): store.FirstVersion of those fields. The ops
// write at them, so that a conditional write meets the version it would
// apply at, not a conflict.
var (
	aFirst    = store.FirstVersion("a", "", []byte("v"), t0.Add(sec))
	goneFirst = store.FirstVersion("gone", "", []byte("w"), t0.Add(us))
)

// updateIfErr and changeIDIfErr reduce the conditional writes to their
// errors, for the tables of ops.
func updateIfErr(c context.Context, s *memstore.Store, id store.ID, version uint64, state []byte, ttl time.Duration) error {
	_, err := s.UpdateIf(c, id, version, state, ttl)
	return err
}

func changeIDIfErr(c context.Context, s *memstore.Store, old, new store.ID, version uint64, state []byte) error {
	_, err := s.ChangeIDIf(c, old, new, version, state)
	return err
}

// allOps calls each operation with valid arguments on a store where "a" is
// live and "gone" expired.
var allOps = []op{
	{"Create", func(c context.Context, s *memstore.Store) error { return s.Create(c, "b", []byte("x"), sec) }},
	{"Create over expired", func(c context.Context, s *memstore.Store) error { return s.Create(c, "gone", []byte("x"), sec) }},
	{"Load", func(c context.Context, s *memstore.Store) error { _, err := s.Load(c, "a"); return err }},
	{"Update", func(c context.Context, s *memstore.Store) error { return s.Update(c, "a", []byte("x"), 2*sec) }},
	{"UpdateTTL", func(c context.Context, s *memstore.Store) error { return s.UpdateTTL(c, "a", 2*sec) }},
	{"Delete", func(c context.Context, s *memstore.Store) error { return s.Delete(c, "a") }},
	{"Delete expired", func(c context.Context, s *memstore.Store) error { return s.Delete(c, "gone") }},
	{"ChangeID", func(c context.Context, s *memstore.Store) error { return s.ChangeID(c, "a", "b") }},
	{"ChangeID onto expired", func(c context.Context, s *memstore.Store) error { return s.ChangeID(c, "a", "gone") }},
	{"DeleteExpired", func(c context.Context, s *memstore.Store) error { _, err := s.DeleteExpired(c, 0); return err }},
	{"DeleteExpired limited", func(c context.Context, s *memstore.Store) error { _, err := s.DeleteExpired(c, 1); return err }},
	{"CreateOwned", func(c context.Context, s *memstore.Store) error {
		return s.CreateOwned(c, "b", "u", []byte("x"), sec, 0)
	}},
	{"CreateOwned capped", func(c context.Context, s *memstore.Store) error {
		return s.CreateOwned(c, "b", "u", []byte("x"), sec, 1)
	}},
	{"CreateOwned over expired", func(c context.Context, s *memstore.Store) error { return s.CreateOwned(c, "gone", "u", nil, sec, 0) }},
	{"Cycle", func(c context.Context, s *memstore.Store) error { return s.Cycle(c, "a", "b", "", []byte("x"), sec, 0) }},
	{"Cycle capped", func(c context.Context, s *memstore.Store) error {
		return s.Cycle(c, "a", "b", "u", []byte("x"), sec, 1)
	}},
	{"List", func(c context.Context, s *memstore.Store) error { _, err := s.List(c, "u"); return err }},
	{"Revoke", func(c context.Context, s *memstore.Store) error { return s.Revoke(c, "u", store.HandleOf("a")) }},
	{"RevokeAll", func(c context.Context, s *memstore.Store) error { _, err := s.RevokeAll(c, "u", "a"); return err }},
	{"Touch", func(c context.Context, s *memstore.Store) error { _, err := s.Touch(c, "a", 2*sec, 0); return err }},
	{"UpdateIf", func(c context.Context, s *memstore.Store) error {
		return updateIfErr(c, s, "a", aFirst, []byte("x"), 2*sec)
	}},
	{"UpdateIf KeepTTL", func(c context.Context, s *memstore.Store) error {
		return updateIfErr(c, s, "a", aFirst, []byte("x"), store.KeepTTL)
	}},
	{"UpdateIf expired", func(c context.Context, s *memstore.Store) error {
		return updateIfErr(c, s, "gone", goneFirst, []byte("x"), sec)
	}},
	{"ChangeIDIf", func(c context.Context, s *memstore.Store) error {
		return changeIDIfErr(c, s, "a", "b", aFirst, []byte("x"))
	}},
	{"ChangeIDIf onto expired", func(c context.Context, s *memstore.Store) error { return changeIDIfErr(c, s, "a", "gone", aFirst, nil) }},
	{"Scan", func(c context.Context, s *memstore.Store) error { _, err := s.Scan(c, "", 10); return err }},
}

func setupAllOps(t *testing.T) *fixture {
	f := newFixture(t, memstore.Options{})
	f.mustCreate(t, "a", "v", sec)
	f.mustCreate(t, "gone", "w", us)
	f.at(us)
	return f
}

// TestCancelledContext checks that an operation started with a done context
// returns the context's error and has no effect.
func TestCancelledContext(t *testing.T) {
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(ctx, time.Unix(0, 0))
	defer cancel2()
	for _, o := range allOps {
		for _, c := range []struct {
			name string
			ctx  context.Context
			want error
		}{{"cancelled", cancelled, context.Canceled}, {"deadline", expired, context.DeadlineExceeded}} {
			t.Run(o.name+"/"+c.name, func(t *testing.T) {
				f := setupAllOps(t)
				f.clk.reads.Store(0)
				if err := o.call(c.ctx, f.s); !errors.Is(err, c.want) {
					t.Fatalf("error %v, want %v", err, c.want)
				}
				if n := f.clk.reads.Load(); n != 0 {
					t.Errorf("clock read %d times, want 0", n)
				}
				f.wantLoad(t, "a", "v", sec)
				f.wantVersion(t, "a", aFirst)
				f.wantMissing(t, "b")
				f.wantLen(t, 2)
			})
		}
	}
}

// TestOneClockReading checks that every valid operation, whatever its
// outcome, reads the clock exactly once.
func TestOneClockReading(t *testing.T) {
	for _, o := range allOps {
		t.Run(o.name, func(t *testing.T) {
			f := setupAllOps(t)
			f.clk.reads.Store(0)
			if err := o.call(ctx, f.s); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if n := f.clk.reads.Load(); n != 1 {
				t.Fatalf("clock read %d times, want 1", n)
			}
		})
	}
}

// TestStateIsCopied checks that the store neither keeps the caller's slice
// nor hands out its own.
func TestStateIsCopied(t *testing.T) {
	f := newFixture(t, memstore.Options{})

	in := []byte("v1")
	f.mustCreate(t, "a", string(in), sec) // string() copies: pass the slice itself below
	if err := f.s.Create(ctx, "b", in, sec); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	f.wantLoad(t, "b", "v1", sec)

	up := []byte("v2")
	if err := f.s.Update(ctx, "b", up, sec); err != nil {
		t.Fatal(err)
	}
	up[0] = 'X'
	f.wantLoad(t, "b", "v2", sec)

	r1, err := f.s.Load(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	r1.State[0] = 'X'
	r1.State = append(r1.State, "appended"...)
	r2, err := f.s.Load(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if string(r2.State) != "v2" {
		t.Fatalf("after the caller modified a loaded state, Load = %q, want %q", r2.State, "v2")
	}
	if &r1.State[0] == &r2.State[0] {
		t.Fatal("two Loads returned the same backing array")
	}

	// The state moved by ChangeID is still the store's own copy.
	if err := f.s.ChangeID(ctx, "b", "c"); err != nil {
		t.Fatal(err)
	}
	up[0], in[0] = 'Y', 'Y'
	f.wantLoad(t, "c", "v2", sec)
}

// TestShardCount checks that Options.Shards is rounded up to a power of two
// and that nonsense values fall back to something usable.
func TestShardCount(t *testing.T) {
	for _, c := range []struct{ in, want int }{
		{0, memstore.DefaultShards}, {-3, memstore.DefaultShards}, {1, 1}, {2, 2}, {3, 4},
		{5, 8}, {64, 64}, {65, 128}, {1 << 20, 1 << 16},
	} {
		if got := memstore.New(memstore.Options{Shards: c.in}).ShardCount(); got != c.want {
			t.Errorf("Shards: %d → %d shards, want %d", c.in, got, c.want)
		}
	}
}

// TestNilClock checks that a store built without a clock uses the system's.
func TestNilClock(t *testing.T) {
	s := memstore.New(memstore.Options{})
	if err := s.Create(ctx, "a", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Load(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(rec.Expires); d <= 59*time.Minute || d > time.Hour {
		t.Fatalf("expiry %v from now, want about an hour", d)
	}
}

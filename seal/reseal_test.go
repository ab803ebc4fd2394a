package seal_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// The rotation: ring {1} → ring {2 writes, 1} → Reseal → ring {2} reads
// every session, with states and expiries unchanged and versions one more.
func TestRotation(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{Namespace: "sessions"})
	const old = 10
	for i := range old {
		id := store.ID(fmt.Sprintf("old-%02d", i))
		ttl := time.Duration(i+1) * time.Hour
		if i%3 == 0 {
			if err := f.l.CreateOwned(ctx, id, "alice", []byte("state "+id), ttl, 0); err != nil {
				t.Fatal(err)
			}
		} else if err := f.l.Create(ctx, id, []byte("state "+id), ttl); err != nil {
			t.Fatal(err)
		}
		for range i % 4 { // versions differ
			if err := f.l.Update(ctx, id, []byte("state "+id), ttl); err != nil {
				t.Fatal(err)
			}
		}
		f.clk.Add(time.Second)
	}
	f.clk.Add(time.Minute)

	spec12, err := seal.ParseRing(spec(2) + "," + spec(1))
	if err != nil {
		t.Fatal(err)
	}
	rotating := f.layer(t, spec12, seal.Options{Namespace: "sessions"})
	for i := range 3 { // sessions written after the ring changed
		if err := rotating.Create(ctx, store.ID(fmt.Sprintf("new-%d", i)), []byte("fresh"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, f.inner)
	opened := make(map[store.ID]store.Record, len(before))
	for id := range before {
		r, err := rotating.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		opened[id] = r
	}

	// Before the pass, a ring without key 1 cannot read the old sessions:
	// the pass is what makes dropping it safe.
	only2 := f.layer(t, ringOf(t, 2, 2), seal.Options{Namespace: "sessions"})
	if _, err := only2.Load(ctx, "old-00"); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("ring {2} before Reseal: %v, want ErrUnknownKey", err)
	}

	st, err := rotating.Reseal(ctx, 3) // pages of 3, to cross page ends
	if err != nil {
		t.Fatal(err)
	}
	if want := (seal.ResealStats{Scanned: old + 3, Resealed: old, Current: 3}); st != want {
		t.Fatalf("Reseal = %+v, want %+v", st, want)
	}
	after := snapshot(t, f.inner)
	if len(after) != len(before) {
		t.Fatalf("%d sessions after Reseal, %d before", len(after), len(before))
	}
	for id, was := range opened {
		r, err := only2.Load(ctx, id)
		if err != nil {
			t.Fatalf("ring {2} after Reseal: %s: %v", id, err)
		}
		wantVersion := was.Version + 1
		if before[id].State[4] == 2 { // sealed under key 2 already
			wantVersion = was.Version
		}
		if string(r.State) != string(was.State) || !r.Expires.Equal(was.Expires) || r.Owner != was.Owner || r.Version != wantVersion {
			t.Fatalf("%s: %+v after Reseal, was %+v; want the same but version %d", id, r, was, wantVersion)
		}
	}
	// A second pass finds nothing to do.
	if st, err := rotating.Reseal(ctx, 100); err != nil || st != (seal.ResealStats{Scanned: old + 3, Current: old + 3}) {
		t.Fatalf("second Reseal = %+v, %v", st, err)
	}
	if !sameSnapshot(after, snapshot(t, f.inner)) {
		t.Fatal("a second Reseal wrote")
	}
}

// Reseal skips tampered sessions (reporting them), goes past sessions it
// cannot read and reports them in its error, and leaves expired ones.
func TestResealLeavesWhatItCannotOpen(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	for _, id := range []store.ID{"a", "b", "c", "d"} {
		if err := f.l.Create(ctx, id, []byte("s"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.l.Create(ctx, "expired", []byte("s"), time.Minute); err != nil {
		t.Fatal(err)
	}
	raw, _ := f.inner.Load(ctx, "a")
	_ = f.inner.Update(ctx, "b", raw.State, time.Hour) // a's blob in b's row
	foreign, _ := f.layer(t, ringOf(t, 9, 9), seal.Options{}).Seal("c", []byte("s"))
	_ = f.inner.Update(ctx, "c", foreign, time.Hour)
	f.clk.Add(2 * time.Minute)

	r := f.layer(t, ringOf(t, 2, 1, 2), seal.Options{})
	st, err := r.Reseal(ctx, 2)
	if !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("Reseal = %v, want an error wrapping ErrUnknownKey", err)
	}
	if want := (seal.ResealStats{Scanned: 4, Resealed: 2, Tampered: 1, Unreadable: 1}); st != want {
		t.Fatalf("Reseal = %+v, want %+v", st, want)
	}
	if reps := f.tamperReports(); len(reps) != 1 || reps[0].Handle != store.HandleOf("b") {
		t.Fatalf("OnTamper got %v, want b's handle", reps)
	}
	for id, key := range map[store.ID]byte{"a": 2, "b": 1, "c": 9, "d": 2} {
		raw, _ := f.inner.Load(ctx, id)
		if raw.State[4] != key {
			t.Fatalf("%s is under key %d after Reseal, want %d", id, raw.State[4], key)
		}
	}
}

// A write that lands between Reseal's read and its conditional write wins:
// Reseal reads again and finds it sealed under the write key.
func TestResealYieldsToConcurrentWrite(t *testing.T) {
	ctx := t.Context()
	r, _ := newRacing(t, ringOf(t, 1, 1))
	old, err := seal.New(r, ringOf(t, 1, 1), seal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Create(ctx, "a", []byte("v1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	l, err := seal.New(r, ringOf(t, 2, 1, 2), seal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.beforeUpdateIf = func() {
		r.beforeUpdateIf = nil
		if err := l.Update(ctx, "a", []byte("v2"), time.Hour); err != nil {
			t.Error(err)
		}
	}
	st, err := l.Reseal(ctx, 10)
	if err != nil || st != (seal.ResealStats{Scanned: 1, Current: 1}) {
		t.Fatalf("Reseal = %+v, %v; want the session found current on the second read", st, err)
	}
	first := store.FirstVersion("a", "", []byte("v1"), t0.Add(time.Hour))
	if got, err := l.Load(ctx, "a"); err != nil || string(got.State) != "v2" || got.Version != first+1 {
		t.Fatalf("after Reseal: %q version %d, %v; want the concurrent write, version %d (the first plus 1)", got.State, got.Version, err, first+1)
	}
}

// A session deleted between Reseal's read and its write is counted gone,
// not an error.
func TestResealSkipsSessionDeletedMeanwhile(t *testing.T) {
	ctx := t.Context()
	r, old := newRacing(t, ringOf(t, 1, 1))
	for _, id := range []store.ID{"a", "b"} {
		if err := old.Create(ctx, id, []byte("s"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	l, err := seal.New(r, ringOf(t, 2, 1, 2), seal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.beforeUpdateIf = func() {
		r.beforeUpdateIf = nil
		if err := l.Delete(ctx, "a"); err != nil {
			t.Error(err)
		}
	}
	st, err := l.Reseal(ctx, 10)
	if err != nil || st != (seal.ResealStats{Scanned: 2, Resealed: 1, Gone: 1}) {
		t.Fatalf("Reseal = %+v, %v; want a gone, b resealed", st, err)
	}
}

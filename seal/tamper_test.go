package seal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// rowSwap creates two sessions through l, swaps their stored blobs in
// inner (each one's written into the other's row), and returns an error
// unless both then read through l as store.ErrNotFound: a blob must open
// only as the state of the session it was sealed for.
func rowSwap(ctx context.Context, l store.Store, inner store.Store) (a, b store.ID, err error) {
	a, b = store.NewID(), store.NewID()
	for _, id := range []store.ID{a, b} {
		if err := l.Create(ctx, id, []byte("state of "+id), time.Hour); err != nil {
			return a, b, err
		}
	}
	ra, err := inner.Load(ctx, a)
	if err != nil {
		return a, b, err
	}
	rb, err := inner.Load(ctx, b)
	if err != nil {
		return a, b, err
	}
	if err := inner.Update(ctx, a, rb.State, time.Hour); err != nil {
		return a, b, err
	}
	if err := inner.Update(ctx, b, ra.State, time.Hour); err != nil {
		return a, b, err
	}
	for _, c := range []struct {
		id, other store.ID
	}{{a, b}, {b, a}} {
		_, err := l.Load(ctx, c.id)
		if err == nil {
			// Not the ID in the message: the handle names it.
			return a, b, fmt.Errorf("session %s reads the state sealed for %s after a row swap", store.HandleOf(c.id), store.HandleOf(c.other))
		}
		if !errors.Is(err, store.ErrNotFound) {
			return a, b, fmt.Errorf("session %s after a row swap: %v, want store.ErrNotFound", store.HandleOf(c.id), err)
		}
	}
	return a, b, nil
}

func TestRowSwapReadsAsNotFound(t *testing.T) {
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{Namespace: "sessions"})
	a, b, err := rowSwap(t.Context(), f.l, f.inner)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.l.Tampered(); n != 2 {
		t.Fatalf("Tampered() = %d, want 2", n)
	}
	reports := f.tamperReports()
	var handles []store.Handle
	for _, r := range reports {
		handles = append(handles, r.Handle)
		if r.KeyID != 1 || r.Reason != seal.ReasonAuth || !errors.Is(r, seal.ErrTampered) {
			t.Errorf("report %+v: want key 1, %q, wrapping ErrTampered", r, seal.ReasonAuth)
		}
		if msg := r.Error(); strings.Contains(msg, string(a)) || strings.Contains(msg, string(b)) {
			t.Errorf("report %q holds a session ID", msg)
		}
	}
	want := []store.Handle{store.HandleOf(a), store.HandleOf(b)}
	slices.Sort(handles)
	slices.Sort(want)
	if !slices.Equal(handles, want) {
		t.Fatalf("OnTamper got handles %v, want %v", handles, want)
	}
	// Swapped back, both read again: the check is about binding, not
	// about the rows having been touched.
	ra, _ := f.inner.Load(t.Context(), a)
	rb, _ := f.inner.Load(t.Context(), b)
	_ = f.inner.Update(t.Context(), a, rb.State, time.Hour)
	_ = f.inner.Update(t.Context(), b, ra.State, time.Hour)
	for _, id := range []store.ID{a, b} {
		if r, err := f.l.Load(t.Context(), id); err != nil || string(r.State) != "state of "+string(id) {
			t.Fatalf("after swapping back: Load = %q, %v", r.State, err)
		}
	}
}

// A row copied into another table sealed by the same ring, under the same
// ID, does not open there: the namespace is authenticated.
func TestCopyIntoAnotherNamespace(t *testing.T) {
	ctx := t.Context()
	ring := ringOf(t, 1, 1)
	src := newFixture(t, ring, seal.Options{Namespace: "sessions"})
	id := store.NewID()
	if err := src.l.Create(ctx, id, []byte("secret state"), time.Hour); err != nil {
		t.Fatal(err)
	}
	raw, err := src.inner.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ns    string
		opens bool
	}{{"admin_sessions", false}, {"", false}, {"sessions\x00", false}, {"sessions", true}} {
		dst := newFixture(t, ring, seal.Options{Namespace: c.ns})
		if err := dst.inner.Create(ctx, id, raw.State, time.Hour); err != nil {
			t.Fatal(err)
		}
		r, err := dst.l.Load(ctx, id)
		switch {
		case c.opens && (err != nil || string(r.State) != "secret state"):
			t.Fatalf("namespace %q: Load = %q, %v; the same namespace must open it", c.ns, r.State, err)
		case !c.opens && !errors.Is(err, store.ErrNotFound):
			t.Fatalf("namespace %q: Load = %q, %v; want store.ErrNotFound", c.ns, r.State, err)
		}
		want := uint64(1)
		if c.opens {
			want = 0
		}
		if n := dst.l.Tampered(); n != want {
			t.Fatalf("namespace %q: Tampered() = %d, want %d", c.ns, n, want)
		}
	}
}

// Every truncation of a blob, and every flipped bit after its header,
// reads as store.ErrNotFound through Load, Touch and ChangeID, and is
// reported.
func TestTruncatedAndFlippedBlobs(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	id, other := store.NewID(), store.NewID()
	if err := f.l.Create(ctx, id, []byte("0123456789abcdef"), time.Hour); err != nil {
		t.Fatal(err)
	}
	r, _ := f.inner.Load(ctx, id)
	blob := r.State
	if seal.Overhead != 45 || len(blob) != 16+seal.Overhead {
		t.Fatalf("blob of %d bytes for a 16-byte state, want %d", len(blob), 16+seal.Overhead)
	}
	var bad [][]byte
	for n := range len(blob) {
		bad = append(bad, blob[:n])
	}
	for i := 5; i < len(blob); i++ { // the header is tested in inputs_test.go
		for bit := range 8 {
			b := slices.Clone(blob)
			b[i] ^= 1 << bit
			bad = append(bad, b)
		}
	}
	reads := map[string]func() error{
		"Load":     func() error { _, err := f.l.Load(ctx, id); return err },
		"Touch":    func() error { _, err := f.l.Touch(ctx, id, time.Hour, 0); return err },
		"ChangeID": func() error { return f.l.ChangeID(ctx, id, other) },
	}
	for i, b := range bad {
		if err := f.inner.Update(ctx, id, b, time.Hour); err != nil {
			t.Fatal(err)
		}
		for name, read := range reads {
			before := f.l.Tampered()
			if err := read(); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("bad blob %d (%d bytes): %s = %v, want store.ErrNotFound", i, len(b), name, err)
			}
			if f.l.Tampered() != before+1 {
				t.Fatalf("bad blob %d: %s not counted", i, name)
			}
		}
		reports := f.tamperReports()
		last := reports[len(reports)-1]
		wantReason := seal.ReasonAuth
		if len(b) < seal.Overhead {
			wantReason = seal.ReasonTruncated
		}
		if last.Reason != wantReason || last.Handle != store.HandleOf(id) {
			t.Fatalf("bad blob %d (%d bytes): reported %+v, want reason %q", i, len(b), last, wantReason)
		}
	}
	if _, err := f.inner.Load(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a ChangeID of a tampered session moved it: %v", err)
	}
}

// The same checks hold for sessions read through the layer's view of the
// store, which is what applications hold.
func TestStoreViewReportsTampering(t *testing.T) {
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	if _, _, err := rowSwap(t.Context(), f.l.Store(), f.inner); err != nil {
		t.Fatal(err)
	}
	if f.l.Tampered() != 2 {
		t.Fatalf("Tampered() = %d, want 2", f.l.Tampered())
	}
}

// A header rewritten to name another key of the ring is tampering, not a
// misconfiguration: the header is authenticated.
func TestHeaderNamingAnotherKey(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1, 3), seal.Options{})
	if err := f.l.Create(ctx, "a", []byte("s"), time.Hour); err != nil {
		t.Fatal(err)
	}
	raw, _ := f.inner.Load(ctx, "a")
	b := slices.Clone(raw.State)
	b[4] = 3
	_ = f.inner.Update(ctx, "a", b, time.Hour)
	if _, err := f.l.Load(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load = %v, want store.ErrNotFound", err)
	}
	if reps := f.tamperReports(); len(reps) != 1 || reps[0].KeyID != 3 || reps[0].Reason != seal.ReasonAuth {
		t.Fatalf("reports %v, want one for key 3", reps)
	}
}

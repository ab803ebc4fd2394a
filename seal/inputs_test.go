package seal_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// snapshot is every live record of a memstore, as stored.
func snapshot(t *testing.T, s *memstore.Store) map[store.ID]store.Record {
	t.Helper()
	ids, err := s.Scan(t.Context(), "", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[store.ID]store.Record, len(ids))
	for _, id := range ids {
		r, err := s.Load(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	return out
}

func sameSnapshot(a, b map[store.ID]store.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for id, r := range a {
		if o, ok := b[id]; !ok || !r.Equal(o) {
			return false
		}
	}
	return true
}

// Blobs the ring cannot read (another key, another format, no seal at
// all) are typed errors, not tampering, and every read leaves them as
// they were.
func TestUnreadableBlobs(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{Namespace: "n"})
	foreign := f.layer(t, ringOf(t, 9, 9), seal.Options{Namespace: "n"})
	state := []byte(`{"user":"alice@example.com"}`)
	underKey9, err := foreign.Seal("k9", state)
	if err != nil {
		t.Fatal(err)
	}
	format2, _ := f.l.Seal("f2", state)
	format2[0] = 0x02
	for _, c := range []struct {
		id   store.ID
		blob []byte
		want error
	}{
		{"k9", underKey9, seal.ErrUnknownKey},
		{"f2", format2, seal.ErrFormat},
		{"plain", state, seal.ErrFormat},
		{"zero", make([]byte, 64), seal.ErrFormat},
	} {
		if err := f.inner.Create(ctx, c.id, c.blob, time.Hour); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, f.inner)
		for name, read := range map[string]func() error{
			"Load":     func() error { _, err := f.l.Load(ctx, c.id); return err },
			"ChangeID": func() error { return f.l.ChangeID(ctx, c.id, "elsewhere") },
			"Open":     func() error { _, _, err := f.l.Open(c.id, c.blob); return err },
		} {
			err := read()
			if !errors.Is(err, c.want) || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s: %s = %v, want %v", c.id, name, err, c.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "alice") || strings.Contains(msg, string(c.id)) {
				t.Fatalf("%s: error %q shows the state or the ID", c.id, msg)
			}
			if l := leaks(msg, 1, 9); l != "" {
				t.Fatalf("%s: error %q shows %s", c.id, msg, l)
			}
		}
		if !sameSnapshot(before, snapshot(t, f.inner)) {
			t.Fatalf("%s: reading an unreadable blob changed the inner store", c.id)
		}
	}
	if f.l.Tampered() != 0 || len(f.tamperReports()) != 0 {
		t.Fatalf("unreadable blobs counted as tampering: %d", f.l.Tampered())
	}
	// A well-formed blob under an unknown key says which key it wants.
	_, err = f.l.Load(ctx, "k9")
	if !strings.Contains(err.Error(), "key ID 9") {
		t.Fatalf("error %q does not name key 9", err)
	}
}

// Arguments the layer's limits reject are the store's validation errors
// and change nothing, inner included: the layer validates before it seals
// (a sealed state is larger than the limit the caller sees).
func TestValidationChangesNothing(t *testing.T) {
	ctx := t.Context()
	limits := store.Limits{MaxStateSize: 64, MaxTTL: 24 * time.Hour}
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{Limits: limits})
	s := f.l.Store()
	if err := f.l.CreateOwned(ctx, "a", "alice", []byte("a"), time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "b", make([]byte, 64), time.Hour); err != nil {
		t.Fatalf("a state of exactly MaxStateSize: %v", err)
	}
	big := make([]byte, 65)
	o := s.(store.Owners)
	v := s.(store.Versioner)
	tc := s.(store.Toucher)
	for _, c := range []struct {
		name string
		op   func() error
		want error
	}{
		{"Create bad id", func() error { return s.Create(ctx, "a b", nil, time.Hour) }, store.ErrInvalidID},
		{"Create ttl", func() error { return s.Create(ctx, "c", nil, 25*time.Hour) }, store.ErrInvalidTTL},
		{"Create size", func() error { return s.Create(ctx, "c", big, time.Hour) }, store.ErrTooLarge},
		{"Create ttl before size", func() error { return s.Create(ctx, "c", big, 0) }, store.ErrInvalidTTL},
		{"Update size", func() error { return s.Update(ctx, "a", big, time.Hour) }, store.ErrTooLarge},
		{"UpdateTTL", func() error { return s.UpdateTTL(ctx, "a", 25*time.Hour) }, store.ErrInvalidTTL},
		{"Load bad id", func() error { _, err := s.Load(ctx, ""); return err }, store.ErrInvalidID},
		{"ChangeID bad new", func() error { return s.ChangeID(ctx, "missing", "x y") }, store.ErrInvalidID},
		{"UpdateIf version", func() error { _, err := v.UpdateIf(ctx, "a", 0, nil, time.Hour); return err }, store.ErrInvalidVersion},
		{"UpdateIf size", func() error { _, err := v.UpdateIf(ctx, "a", 1, big, store.KeepTTL); return err }, store.ErrTooLarge},
		{"ChangeIDIf size", func() error { _, err := v.ChangeIDIf(ctx, "a", "c", 1, big); return err }, store.ErrTooLarge},
		{"CreateOwned owner", func() error { return o.CreateOwned(ctx, "c", "", nil, time.Hour, 0) }, store.ErrInvalidOwner},
		{"CreateOwned cap", func() error { return o.CreateOwned(ctx, "c", "alice", nil, time.Hour, -1) }, store.ErrInvalidCap},
		{"Cycle size", func() error { return o.Cycle(ctx, "a", "c", "alice", big, time.Hour, 0) }, store.ErrTooLarge},
		{"Touch resolution", func() error { _, err := tc.Touch(ctx, "a", time.Hour, -1); return err }, store.ErrInvalidTTL},
		{"Touch ttl", func() error { _, err := tc.Touch(ctx, "a", 25*time.Hour, 0); return err }, store.ErrInvalidTTL},
		{"Seal size", func() error { _, err := f.l.Seal("a", big); return err }, store.ErrTooLarge},
		{"Seal bad id", func() error { _, err := f.l.Seal("", nil); return err }, store.ErrInvalidID},
		{"Open bad id", func() error { _, _, err := f.l.Open("a/b", nil); return err }, store.ErrInvalidID},
		{"Reseal batch", func() error { _, err := f.l.Reseal(ctx, 0); return err }, store.ErrInvalidLimit},
	} {
		before := snapshot(t, f.inner)
		if err := c.op(); !errors.Is(err, c.want) {
			t.Errorf("%s = %v, want %v", c.name, err, c.want)
		}
		if !sameSnapshot(before, snapshot(t, f.inner)) {
			t.Errorf("%s changed the inner store", c.name)
		}
	}
}

// New needs versions below it; Reseal needs a scan; a method of a
// capability the inner store lacks is ErrUnsupported on the layer and
// absent from its Store.
func TestCapabilities(t *testing.T) {
	ctx := t.Context()
	full := newFixture(t, ringOf(t, 1, 1), seal.Options{})
	if got := view.Has(full.l.Store()); got != view.Has(full.inner) {
		t.Fatalf("Store() has %b, inner has %b", got, view.Has(full.inner))
	}
	// Inner stores with fewer capabilities: the layer over memstore shown
	// with only some of them.
	if _, err := seal.New(view.Of(full.l, 0), ringOf(t, 1, 1), seal.Options{}); !errors.Is(err, seal.ErrNeedsVersioner) {
		t.Fatalf("New over a store without versions = %v, want ErrNeedsVersioner", err)
	}
	if _, err := seal.New(full.inner, nil, seal.Options{}); !errors.Is(err, seal.ErrEmptyRing) {
		t.Fatalf("New with a nil ring = %v, want ErrEmptyRing", err)
	}
	l, err := seal.New(view.Of(full.l, view.Versioner), ringOf(t, 2, 2), seal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := view.Has(l.Store()); got != view.Versioner {
		t.Fatalf("Store() over a Versioner-only store has %b", got)
	}
	if _, err := l.Reseal(ctx, 10); !errors.Is(err, seal.ErrNeedsScanner) || !strings.Contains(err.Error(), "hashid outermost") {
		t.Fatalf("Reseal without a scanner = %v", err)
	}
	for name, err := range map[string]error{
		"CreateOwned": l.CreateOwned(ctx, "a", "o", nil, time.Hour, 0),
		"Cycle":       l.Cycle(ctx, "a", "b", "o", nil, time.Hour, 0),
		"Revoke":      l.Revoke(ctx, "o", store.HandleOf("a")),
		"List":        second(l.List(ctx, "o")),
		"RevokeAll":   second(l.RevokeAll(ctx, "o")),
		"Touch":       second(l.Touch(ctx, "a", time.Hour, 0)),
		"Scan":        second(l.Scan(ctx, "", 1)),
	} {
		if !errors.Is(err, seal.ErrUnsupported) {
			t.Errorf("%s over a Versioner-only store = %v, want ErrUnsupported", name, err)
		}
	}
	// StoredID and Capabilities are the inner store's.
	if l.StoredID("abc") != "abc" || l.Capabilities() != store.CapabilitiesOf(full.inner) {
		t.Fatal("StoredID or Capabilities not the inner store's")
	}
}

func second[T any](_ T, err error) error { return err }

// Ring errors, through the layer's whole life, never hold key material,
// and nothing a layer writes holds the state in clear.
func TestNoSecretsInOutput(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1, 2), seal.Options{})
	state := []byte("the user's cart: 3 items, card ending 4242")
	if err := f.l.Create(ctx, "a", state, time.Hour); err != nil {
		t.Fatal(err)
	}
	raw, _ := f.inner.Load(ctx, "a")
	if strings.Contains(string(raw.State), "cart") || len(raw.State) != len(state)+seal.Overhead {
		t.Fatalf("stored %d bytes, %q", len(raw.State), raw.State)
	}
	if s := fmt.Sprintf("%v %+v %#v", f.l, f.l, f.l); leaks(s, 1, 2) != "" {
		t.Fatalf("printing the layer shows %s", leaks(s, 1, 2))
	}
}

// The layer's MaxPerOwner applies even when the inner store has none.
func TestLayerCapApplies(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{Limits: store.Limits{MaxPerOwner: 1}})
	for _, id := range []store.ID{"a", "b"} {
		if err := f.l.CreateOwned(ctx, id, "alice", nil, time.Hour, 0); err != nil {
			t.Fatal(err)
		}
		f.clk.Add(time.Second)
	}
	if _, err := f.l.Load(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a over the layer's cap of 1: %v, want it evicted", err)
	}
	if list, err := f.l.List(ctx, "alice"); err != nil || len(list) != 1 || list[0].Handle != store.HandleOf("b") {
		t.Fatalf("List = %v, %v", list, err)
	}
}

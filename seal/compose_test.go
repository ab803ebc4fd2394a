package seal_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/hashid"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/storetest"
)

// The deployment the package documents: hashid outermost, so that the
// table holds neither IDs nor states, and seal binds each state to the
// stored key; Reseal runs on the seal layer, which can scan.
func TestUnderHashID(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, ringOf(t, 1, 1), seal.Options{Namespace: "sessions"})
	app, err := hashid.New(f.l.Store(), hashid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := store.NewID()
	if err := app.Create(ctx, id, []byte("cart"), time.Hour); err != nil {
		t.Fatal(err)
	}
	key := store.StoredID(app, id)
	if key == id {
		t.Fatal("hashid stored the ID itself")
	}
	raw, err := f.inner.Load(ctx, key)
	if err != nil || len(raw.State) != len("cart")+seal.Overhead {
		t.Fatalf("inner row under the stored key: %d bytes, %v", len(raw.State), err)
	}
	// Bound to the stored key: it opens there and nowhere else.
	if got, _, err := f.l.Open(key, raw.State); err != nil || string(got) != "cart" {
		t.Fatalf("Open under the stored key = %q, %v", got, err)
	}
	if _, _, err := f.l.Open(id, raw.State); !errors.Is(err, seal.ErrTampered) {
		t.Fatalf("Open under the raw ID = %v, want ErrTampered", err)
	}

	rotating := f.layer(t, ringOf(t, 2, 1, 2), seal.Options{Namespace: "sessions"})
	if st, err := rotating.Reseal(ctx, 10); err != nil || st.Resealed != 1 {
		t.Fatalf("Reseal = %+v, %v", st, err)
	}
	app2, _ := hashid.New(f.layer(t, ringOf(t, 2, 2), seal.Options{Namespace: "sessions"}).Store(), hashid.Options{})
	// Numbered from the fields the caller gave hashid, the outermost layer;
	// Reseal's write added one.
	first := store.FirstVersion(id, "", []byte("cart"), t0.Add(time.Hour))
	if r, err := app2.Load(ctx, id); err != nil || string(r.State) != "cart" || r.Version != first+1 {
		t.Fatalf("after rotation, through hashid: %+v, %v; want version %d", r, err, first+1)
	}
	// The other order hides the scan Reseal needs.
	l, err := seal.New(mustHash(t, f.inner), ringOf(t, 1, 1), seal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reseal(ctx, 10); !errors.Is(err, seal.ErrNeedsScanner) {
		t.Fatalf("Reseal over hashid = %v, want ErrNeedsScanner", err)
	}
}

func mustHash(t *testing.T, s store.Store) store.Store {
	h, err := hashid.New(s, hashid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestConformanceUnderHashID(t *testing.T) {
	ring := ringOf(t, 1, 1)
	storetest.Run(t, func(env sim.Env) (store.Store, error) {
		inner := memstore.New(memstore.Options{Clock: env.Clock, Limits: innerLimits(env.Limits)})
		l, err := seal.New(inner, ring, seal.Options{Limits: env.Limits})
		if err != nil {
			return nil, err
		}
		return hashid.New(l.Store(), hashid.Options{})
	})
}

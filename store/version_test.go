package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// A session created again under an ID with other fields starts at another
// version; one created with the same fields at the same one.
func TestFirstVersionNamesTheSession(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := store.FirstVersion("a", "", []byte("x"), at)
	if v < 1 || v > 1<<62 {
		t.Fatalf("first version %d out of [1, 2^62]", v)
	}
	for name, other := range map[string]uint64{
		"state":   store.FirstVersion("a", "", []byte("y"), at),
		"owner":   store.FirstVersion("a", "u", []byte("x"), at),
		"expiry":  store.FirstVersion("a", "", []byte("x"), at.Add(time.Microsecond)),
		"id":      store.FirstVersion("b", "", []byte("x"), at),
		"shifted": store.FirstVersion("a", "", []byte("\x00x"), at), // the NUL separators matter
	} {
		if other == v {
			t.Errorf("another %s, the same first version %d", name, v)
		}
	}
	if again := store.FirstVersion("a", "", []byte("x"), at); again != v {
		t.Errorf("the same fields: %d, then %d", v, again)
	}
	if got := store.SeedVersion("a", "", []byte("x")).At(at); got != v {
		t.Errorf("SeedVersion(...).At = %d, FirstVersion = %d", got, v)
	}
}

// The outermost layer's seed wins; without one, a backend seeds from
// what it was given.
func TestVersionSeedInContext(t *testing.T) {
	ctx := context.Background()
	plain := store.SeedVersion("a", "", []byte("x"))
	if got := store.VersionSeedOf(ctx, "a", "", []byte("x")); got != plain {
		t.Fatal("no seed in the context: not SeedVersion of the fields")
	}
	outer := store.SeedVersion("outer", "", nil)
	ctx = store.WithVersionSeed(ctx, "outer", "", nil)
	ctx = store.WithVersionSeed(ctx, "inner", "", nil)
	if got := store.VersionSeedOf(ctx, "a", "", []byte("x")); got != outer {
		t.Fatal("the inner layer's seed replaced the outer one's")
	}
}

func BenchmarkSeedVersion(b *testing.B) {
	state := make([]byte, 512)
	b.ReportAllocs()
	for b.Loop() {
		store.SeedVersion("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "", state)
	}
}

package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/redistest"
	"github.com/hourglass-go/hourglass/store"
)

// A helper that read a move's intent, then stalled while the move ended
// and the target was deleted, must not claim the target again: the
// session would come back under the new ID (and, with the source still
// live, be readable under both). Found by the 8-client checker (seed 153),
// where a reader's helper claimed a settled move's target a second time.
func TestStaleHelperCannotClaimAgain(t *testing.T) {
	srv := redistest.Cluster(t)
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := New(ctx, Options{Addrs: srv.Addrs, Cluster: true, Clock: clk, Prefix: redistest.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, new := store.ID("stale-old"), store.ID("stale-new")
	if s.sameSlot(old, new) {
		t.Fatal("want two slots")
	}
	if err := s.Create(ctx, old, []byte("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	now := s.now()
	token := newToken()
	r, err := s.run(ctx, "prepare", scriptPrepare, true, []string{s.key(old)}, now, token, string(new), "", []byte(nil), "0")
	if err != nil || r.status != "OK" {
		t.Fatalf("prepare: %v %+v", err, r)
	}
	// What the helper read before it stalled.
	stale, err := s.run(ctx, "intent", scriptIntent, false, []string{s.key(old)}, now, token)
	if err != nil || stale.status != "OK" {
		t.Fatalf("intent: %v %+v", err, stale)
	}
	// The move ends, and the session is deleted under its new ID.
	if end, _, err := s.finish(ctx, old, token, now, 0, &r); err != nil || end != moveSettled {
		t.Fatalf("finish: %v %v", end, err)
	}
	if err := s.Delete(ctx, new); err != nil {
		t.Fatal(err)
	}
	// The helper wakes up and claims the target with what it read.
	c, err := s.run(ctx, "claim", scriptClaim, true, []string{s.key(new)}, now, s.margin, token, string(old), stale.str(2), stale.str(3), "2")
	if err != nil {
		t.Fatal(err)
	}
	if c.status != "SETTLED" {
		t.Fatalf("a stale claim got %q, want SETTLED", c.status)
	}
	for _, id := range []store.ID{old, new} {
		if _, err := s.Load(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s after the stale claim: %v, want not found", id, err)
		}
	}
}

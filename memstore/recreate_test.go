package memstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// TestRecreatedSessionHasAnotherVersion is the case first versions are
// hashes for: a session is read, removed, and another one is created
// under the same ID before the reader's conditional write arrives. When
// every session started at version 1, that write applied to the new
// session with a state computed from the old one (seal's re-sealing
// ChangeID moved a re-created session with the earlier one's state). Now
// the new session is at the first version of its own fields, so the write
// at the earlier version is a conflict and changes nothing, whichever way
// the earlier session went and whichever field of the new one differs.
func TestRecreatedSessionHasAnotherVersion(t *testing.T) {
	type session struct {
		owner store.Owner // "" for Create
		state string
		ttl   time.Duration
	}
	earlier := session{"u", "cart=0", time.Minute}
	for _, c := range []struct {
		name  string
		gone  func(t *testing.T, f *fixture) // removes the earlier session
		later session
	}{
		{"deleted, re-created with another state", deleteA, session{"u", "cart=9", time.Minute}},
		{"deleted, re-created without an owner", deleteA, session{"", "cart=0", time.Minute}},
		{"deleted, re-created by another owner", deleteA, session{"w", "cart=0", time.Minute}},
		{"deleted, re-created with another TTL", deleteA, session{"u", "cart=0", time.Hour}},
		{"revoked, re-created with another state", func(t *testing.T, f *fixture) {
			if err := f.s.Revoke(ctx, "u", store.HandleOf("a")); err != nil {
				t.Fatal(err)
			}
		}, session{"u", "cart=9", time.Minute}},
		// Expired: the same fields a minute later, so only the expiry
		// differs; the clock stays there for the later session.
		{"expired, re-created with the same fields later", func(t *testing.T, f *fixture) { f.at(time.Minute) }, earlier},
	} {
		for _, shards := range []int{1, 0} {
			t.Run(fmt.Sprintf("shards=%d/%s", shards, c.name), func(t *testing.T) {
				f := newFixture(t, memstore.Options{Shards: shards})
				create := func(s session) store.Record {
					t.Helper()
					var err error
					if s.owner == "" {
						err = f.s.Create(ctx, "a", []byte(s.state), s.ttl)
					} else {
						err = f.s.CreateOwned(ctx, "a", s.owner, []byte(s.state), s.ttl, 0)
					}
					if err != nil {
						t.Fatal(err)
					}
					rec, err := f.s.Load(ctx, "a")
					if err != nil {
						t.Fatal(err)
					}
					if want := store.FirstVersion("a", s.owner, []byte(s.state), rec.Expires); rec.Version != want {
						t.Fatalf("created at version %d, want FirstVersion of its fields %d", rec.Version, want)
					}
					return rec
				}
				old := create(earlier)
				c.gone(t, f)
				now := create(c.later)
				if now.Version == old.Version {
					t.Fatalf("the re-created session has the earlier one's version %d", old.Version)
				}
				if v, err := f.s.UpdateIf(ctx, "a", old.Version, []byte("stale"), time.Hour); !errors.Is(err, store.ErrConflict) || v != 0 {
					t.Fatalf("UpdateIf at the earlier session's version = %d, %v; want ErrConflict", v, err)
				}
				if v, err := f.s.ChangeIDIf(ctx, "a", "b", old.Version, []byte("stale")); !errors.Is(err, store.ErrConflict) || v != 0 {
					t.Fatalf("ChangeIDIf at the earlier session's version = %d, %v; want ErrConflict", v, err)
				}
				after, err := f.s.Load(ctx, "a")
				if err != nil || !after.Equal(now) {
					t.Fatalf("after the stale writes: %+v, %v; want the re-created session as it was, %+v", after, err, now)
				}
				f.wantMissing(t, "b")
				// At its own version, the same write applies.
				if v, err := f.s.UpdateIf(ctx, "a", now.Version, []byte("fresh"), store.KeepTTL); err != nil || v != now.Version+1 {
					t.Fatalf("UpdateIf at the re-created session's version = %d, %v; want %d", v, err, now.Version+1)
				}
				f.checkInvariants(t)
			})
		}
	}
}

// deleteA deletes "a", which must be live.
func deleteA(t *testing.T, f *fixture) {
	if err := f.s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
}

// Two sessions created under one ID with the same fields at the same
// instant are the same session to anyone who reads them, and so have the
// same version (store.FirstVersion): what the test above relies on is that
// some field differs.
func TestIdenticalRecreationHasTheSameVersion(t *testing.T) {
	f := newFixture(t, memstore.Options{})
	f.mustCreate(t, "a", "v", time.Minute)
	first := f.first(t, "a")
	deleteA(t, f)
	f.mustCreate(t, "a", "v", time.Minute)
	f.wantVersion(t, "a", first)
}

package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// A session gets a fresh ID when its user signs in, so that an ID planted
// before sign-in (session fixation) is worth nothing afterwards.
func ExampleStore_ChangeID() {
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	s := memstore.New(memstore.Options{Clock: clk})

	_ = s.Create(ctx, "anonymous-1", []byte(`{"cart":3}`), 30*time.Minute)
	clk.Add(10 * time.Minute) // the user signs in
	if err := s.ChangeID(ctx, "anonymous-1", "signed-in-1"); err != nil {
		fmt.Println(err)
	}

	_, err := s.Load(ctx, "anonymous-1")
	fmt.Println("old ID:", errors.Is(err, store.ErrNotFound))
	rec, _ := s.Load(ctx, "signed-in-1")
	fmt.Println("new ID:", string(rec.State), "until", rec.Expires.Format(time.Kitchen))

	clk.Add(time.Hour)
	n, _ := s.DeleteExpired(ctx, 1000)
	fmt.Println("reclaimed:", n, "held:", s.Len())
	// Output:
	// old ID: true
	// new ID: {"cart":3} until 9:30AM
	// reclaimed: 1 held: 0
}

// A user signs in on three devices under a cap of two: the device idle the
// longest is signed out in the same step. The account page then lists the
// devices by handle, never by session ID, and revokes one.
func ExampleStore_Cycle() {
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	s := memstore.New(memstore.Options{Clock: clk, Limits: store.Limits{MaxPerOwner: 2}})

	for _, device := range []store.ID{"laptop", "phone", "tablet"} {
		anon := "anon-" + device
		_ = s.Create(ctx, anon, nil, time.Hour)
		// Sign-in: a new ID, state, TTL and owner at once (cap 0: the
		// store's).
		if err := s.Cycle(ctx, anon, "sess-"+device, "user:42", []byte(device), 8*time.Hour, 0); err != nil {
			fmt.Println(err)
		}
		clk.Add(time.Minute)
	}
	devices, _ := s.List(ctx, "user:42")
	for _, d := range devices {
		fmt.Println(d.Handle == store.HandleOf("sess-phone"), d.Handle == store.HandleOf("sess-tablet"), d.Expires.Format(time.Kitchen))
	}
	_, err := s.Load(ctx, "sess-laptop")
	fmt.Println("laptop:", errors.Is(err, store.ErrNotFound))

	// Sign out the phone from the tablet's account page.
	_ = s.Revoke(ctx, "user:42", devices[0].Handle)
	n, _ := s.RevokeAll(ctx, "user:42", "sess-tablet") // "log out everywhere else"
	fmt.Println("others left:", n)
	// Output:
	// true false 5:01PM
	// false true 5:02PM
	// laptop: true
	// others left: 0
}

// Sliding expiry with a one-minute resolution: requests less than a minute
// apart only read; the expiry moves when it would move by a minute or more.
func ExampleStore_Touch() {
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	s := memstore.New(memstore.Options{Clock: clk})
	_ = s.Create(ctx, "s", nil, 30*time.Minute)

	for _, gap := range []time.Duration{20 * time.Second, 30 * time.Second, 20 * time.Second} {
		clk.Add(gap)
		rec, _ := s.Touch(ctx, "s", 30*time.Minute, time.Minute)
		fmt.Println(rec.Expires.Format("15:04:05"))
	}
	// Output:
	// 09:30:00
	// 09:30:00
	// 09:31:10
}

// Two requests of one user load the same session and each change one field.
// With Update the later save would silently overwrite the earlier; with
// UpdateIf it gets store.ErrConflict, loads the session again and applies
// its change to what is there now.
func ExampleStore_UpdateIf() {
	ctx := context.Background()
	clk := clock.NewSim(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	s := memstore.New(memstore.Options{Clock: clk})
	_ = s.Create(ctx, "sess-1", []byte("cart=0 theme=light"), 30*time.Minute)

	// Both requests load the session at its first version, a number
	// derived from what it was created with (store.FirstVersion). The
	// output below counts from it.
	cartReq, _ := s.Load(ctx, "sess-1")
	themeReq, _ := s.Load(ctx, "sess-1")
	first := cartReq.Version
	fmt.Println("first version of its fields:", first == store.FirstVersion("sess-1", "", cartReq.State, cartReq.Expires))

	// The theme request saves first, keeping the session's expiry.
	dark := strings.Replace(string(themeReq.State), "theme=light", "theme=dark", 1)
	v, err := s.UpdateIf(ctx, "sess-1", themeReq.Version, []byte(dark), store.KeepTTL)
	fmt.Printf("theme saved: first+%d %v\n", v-first, err)

	// The cart request's save is at a version that is gone: it reloads
	// and applies its change again, until it saves.
	rec := cartReq
	for {
		added := strings.Replace(string(rec.State), "cart=0", "cart=1", 1)
		v, err := s.UpdateIf(ctx, "sess-1", rec.Version, []byte(added), store.KeepTTL)
		if errors.Is(err, store.ErrConflict) {
			fmt.Printf("cart conflict at first+%d\n", rec.Version-first)
			if rec, err = s.Load(ctx, "sess-1"); err != nil {
				fmt.Println(err) // gone meanwhile: nothing to save into
				return
			}
			continue
		}
		fmt.Printf("cart saved: first+%d %v\n", v-first, err)
		break
	}

	rec, _ = s.Load(ctx, "sess-1")
	fmt.Printf("%s, version first+%d, until %s\n", rec.State, rec.Version-first, rec.Expires.Format(time.Kitchen))
	// Output:
	// first version of its fields: true
	// theme saved: first+1 <nil>
	// cart conflict at first+0
	// cart saved: first+2 <nil>
	// cart=1 theme=dark, version first+2, until 9:30AM
}

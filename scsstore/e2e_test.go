package scsstore_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Login renews the token in one step: the state carries over, the session
// now belongs to the user, and the token from before the login (which an
// attacker may have planted) no longer opens anything.
func TestLoginRenewsToken(t *testing.T) {
	forEachOwners(t, func(t *testing.T, a *app) {
		c := a.client()
		c.must("POST", "/put", "v", "cart")
		before := c.token()
		if _, ok := a.stored(before); !ok {
			t.Fatal("the anonymous session was not stored")
		}
		c.must("POST", "/login", "user", "alice")
		after := c.token()
		if after == before || after == "" {
			t.Fatalf("token %q after login, %q before: not renewed", after, before)
		}
		if _, ok := a.stored(before); ok {
			t.Error("the token from before the login still has a session")
		}
		rec, ok := a.stored(after)
		if !ok || rec.Owner != "user:alice" {
			t.Fatalf("after login: stored=%v owner %q, want the session owned by user:alice", ok, rec.Owner)
		}
		if got := c.must("GET", "/get"); got != "cart|alice" {
			t.Errorf("after login the session reads %q, want cart|alice", got)
		}
		if got := a.as(before).must("GET", "/get"); got != "|" {
			t.Errorf("the pre-login token reads %q, want an empty new session", got)
		}
	}, appOptions{})
}

// Reads and writes, across requests and clients, see what was written.
func TestReadsAndWrites(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		a := newApp(t, b, appOptions{})
		c1, c2 := a.client(), a.client()
		c1.must("POST", "/put", "v", "one")
		c2.must("POST", "/put", "v", "two")
		c1.must("POST", "/put", "v", "three")
		if got := c1.must("GET", "/get"); got != "three|" {
			t.Errorf("client 1 reads %q", got)
		}
		if got := c2.must("GET", "/get"); got != "two|" {
			t.Errorf("client 2 reads %q", got)
		}
	})
}

// A request that was already running when its session was logged out
// does not bring the session back when it commits: not a write, and not a
// read under an idle timeout (which scs commits too).
func TestRequestInFlightDuringLogout(t *testing.T) {
	for _, req := range []struct {
		name, method string
		idle         time.Duration
	}{{"write", "POST", 0}, {"idle read", "GET", 30 * time.Minute}} {
		t.Run(req.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, b backend) {
				a := newApp(t, b, appOptions{idle: req.idle})
				if n := resurrections(t, a, req.method); n != 0 {
					t.Errorf("the logged-out session came back %d times", n)
				}
			})
		})
	}
}

// Without the adapter's LoadAndSave, the adapter cannot tell a new token
// from one deleted during the request, and the session comes back: the
// window CommitCtx documents, and the proof that the test above can fail.
func TestUnwrappedRequestInFlightResurrects(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		a := newApp(t, b, appOptions{unwrap: true})
		if n := resurrections(t, a, "POST"); n != 1 {
			t.Errorf("the logged-out session came back %d times, want 1 (scs's window)", n)
		}
	})
}

// resurrections logs a client in, holds one of its requests between load
// and commit, logs it out, lets the request finish, and reports whether
// the session exists again (0 or 1).
func resurrections(t *testing.T, a *app, method string) int {
	t.Helper()
	c := a.client()
	c.must("POST", "/put", "v", "secret")
	token := c.token()
	done := make(chan error, 1)
	go func() {
		_, err := c.do(method, "/slow", "v", "late")
		done <- err
	}()
	<-a.entered
	a.as(token).must("POST", "/logout")
	if _, ok := a.stored(token); ok {
		t.Fatal("logout left the session")
	}
	close(a.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok := a.stored(token); ok {
		if got := a.as(token).must("GET", "/get"); got == "|" {
			t.Error("the stored session reads as empty")
		}
		return 1
	}
	if got := a.as(token).must("GET", "/get"); got != "|" {
		t.Errorf("the logged-out token reads %q", got)
	}
	return 0
}

// scs's RenewToken deletes the old token at once, so a request that runs
// while the renewing request is still going finds no session; the
// adapter's RenewToken moves the session only when the renewing request
// commits, and the old token works until then.
func TestRenewTokenAtomic(t *testing.T) {
	for _, scsOwn := range []bool{false, true} {
		t.Run(fmt.Sprintf("scs=%v", scsOwn), func(t *testing.T) {
			forEach(t, func(t *testing.T, b backend) {
				a := newApp(t, b, appOptions{})
				c := a.client()
				c.must("POST", "/put", "v", "kept")
				old := c.token()
				form := []string{"hold", "1"}
				if scsOwn {
					form = append(form, "scs", "1")
				}
				done := make(chan error, 1)
				go func() {
					_, err := c.do("POST", "/renew", form...)
					done <- err
				}()
				<-a.entered
				_, during := a.stored(old)
				close(a.release)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if during == scsOwn {
					t.Errorf("the old token's session existed during the renewal: %v", during)
				}
				if _, ok := a.stored(old); ok {
					t.Error("the old token survived the renewal")
				}
				if c.token() == old {
					t.Fatal("the token did not change")
				}
				if got := c.must("GET", "/get"); got != "kept|" {
					t.Errorf("after renewal the session reads %q", got)
				}
			})
		})
	}
}

// Expiry is the backend's, on its injected clock: scs's lifetime becomes
// a TTL, and a session ends when the backend's clock passes it.
func TestExpiryOnTheInjectedClock(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		a := newApp(t, b, appOptions{})
		c := a.client()
		c.must("POST", "/put", "v", "x")
		token := c.token()
		rec, _ := a.stored(token)
		if ttl := rec.Expires.Sub(a.clk.Now()); ttl > 24*time.Hour || ttl < 24*time.Hour-time.Minute {
			t.Fatalf("stored with a TTL of %v, want scs's lifetime of 24h", ttl)
		}
		a.clk.Set(rec.Expires.Add(-time.Microsecond))
		if got := c.must("GET", "/get"); got != "x|" {
			t.Fatalf("a microsecond before expiry the session reads %q", got)
		}
		a.clk.Set(rec.Expires)
		if got := c.must("GET", "/get"); got != "|" {
			t.Errorf("at its expiry the session reads %q, want a new session", got)
		}
	})
}

// Under scs's idle timeout, a request that only reads writes nothing
// unless the expiry moves by the resolution; one that comes after the
// resolution extends it; and a session left idle for the timeout ends.
func TestIdleTimeout(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		const idle = 30 * time.Minute
		a := newApp(t, b, appOptions{idle: idle})
		c := a.client()
		c.must("POST", "/put", "v", "x")
		token := c.token()
		first, _ := a.stored(token)
		for range 3 {
			c.must("GET", "/get")
		}
		if rec, _ := a.stored(token); !rec.Equal(first) {
			t.Errorf("reads within the resolution wrote: %+v, was %+v", rec, first)
		}
		// Ten requests five minutes apart: each extends the session,
		// which outlives its first idle timeout by far.
		for i := range 10 {
			a.clk.Add(5 * time.Minute)
			if got := c.must("GET", "/get"); got != "x|" {
				t.Fatalf("request %d reads %q", i, got)
			}
		}
		rec, _ := a.stored(token)
		if want := a.clk.Now().Add(idle); rec.Expires.Before(want.Add(-time.Minute)) || rec.Expires.After(want) {
			t.Errorf("after the reads the session expires at %v, want about %v", rec.Expires, want)
		}
		a.clk.Set(rec.Expires)
		if got := c.must("GET", "/get"); got != "|" {
			t.Errorf("after an idle timeout the session reads %q", got)
		}
	})
}

// Many clients at once, each with its own session, and readers of one
// session racing its writer: no update is lost, and no read-only request
// under the idle timeout writes back the state it read over a newer one
// (scs's own stores would: an idle-timeout commit is an upsert).
func TestConcurrentRequests(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		a := newApp(t, b, appOptions{idle: time.Hour})
		const clients, requests = 6, 15
		var wg sync.WaitGroup
		errs := make(chan error, clients*requests)
		cs := make([]*client, clients)
		for i := range cs {
			cs[i] = a.client()
		}
		// Each client's first request makes its session, so that the
		// readers below have the first client's to read.
		for _, c := range cs {
			c.must("POST", "/incr")
		}
		shared := cs[0].token()
		for _, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range requests - 1 {
					if _, err := c.do("POST", "/incr"); err != nil {
						errs <- err
					}
				}
			}()
		}
		// Readers of the first client's session, racing its writes.
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := a.as(shared)
				last := 0
				for range requests {
					body, err := r.do("GET", "/n")
					if err != nil {
						errs <- err
						return
					}
					n, _ := strconv.Atoi(body)
					if n < last {
						errs <- fmt.Errorf("a reader saw %d after %d", n, last)
					}
					last = n
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for i, c := range cs {
			if got := c.must("GET", "/n"); got != strconv.Itoa(requests) {
				t.Errorf("client %d counted %s, want %d", i, got, requests)
			}
		}
	})
}

// A user signed in on two devices sees both, and signing out everywhere
// else ends the other one at once.
func TestDevices(t *testing.T) {
	forEachOwners(t, func(t *testing.T, a *app) {
		phone, laptop := a.client(), a.client()
		phone.must("POST", "/login", "user", "bob")
		laptop.must("POST", "/login", "user", "bob")
		ctx := t.Context()
		devs, err := a.st.Devices(ctx, "user:bob")
		if err != nil || len(devs) != 2 {
			t.Fatalf("Devices: %v, %v; want two", devs, err)
		}
		if got := laptop.must("POST", "/logout-others"); got != "1" {
			t.Errorf("signing out elsewhere ended %s sessions, want 1", got)
		}
		if got := phone.must("GET", "/get"); got != "|" {
			t.Errorf("the phone still reads %q", got)
		}
		if got := laptop.must("GET", "/get"); got != "|bob" {
			t.Errorf("the laptop reads %q", got)
		}
		devs, _ = a.st.Devices(ctx, "user:bob")
		if len(devs) != 1 || devs[0].Handle != store.HandleOf(store.ID(laptop.token())) {
			t.Errorf("after signing out elsewhere: %v", devs)
		}
	}, appOptions{})
}

// A read-only request under the idle timeout that was loaded before a
// write and commits after it leaves the write in place: the adapter only
// touches a session whose values it did not change. scs's upsert, as the
// unwrapped adapter does it, writes the stale state back over the newer.
func TestIdleReadDoesNotOverwriteAWrite(t *testing.T) {
	for _, unwrap := range []bool{false, true} {
		t.Run(fmt.Sprintf("unwrapped=%v", unwrap), func(t *testing.T) {
			forEach(t, func(t *testing.T, b backend) {
				a := newApp(t, b, appOptions{idle: time.Hour, unwrap: unwrap})
				c := a.client()
				c.must("POST", "/put", "v", "old")
				done := make(chan error, 1)
				go func() {
					_, err := c.do("GET", "/slow")
					done <- err
				}()
				<-a.entered
				a.as(c.token()).must("POST", "/put", "v", "new")
				close(a.release)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				got := c.must("GET", "/get")
				if want := map[bool]string{false: "new|", true: "old|"}[unwrap]; got != want {
					t.Errorf("after the write and the stale read the session reads %q, want %q", got, want)
				}
			})
		})
	}
}

// A session logged in and destroyed in one request is gone under both its
// old token and the new one it never got to use.
func TestDestroyAfterLogin(t *testing.T) {
	forEachOwners(t, func(t *testing.T, a *app) {
		c := a.client()
		c.must("POST", "/put", "v", "x")
		old := c.token()
		c.must("POST", "/login", "user", "carol", "destroy", "1")
		if _, ok := a.stored(old); ok {
			t.Error("the session survived under its old token")
		}
		if devs, err := a.st.Devices(t.Context(), "user:carol"); err != nil || len(devs) != 0 {
			t.Errorf("carol's devices: %v, %v; want none", devs, err)
		}
		if got := c.must("GET", "/get"); got != "|" {
			t.Errorf("the client reads %q", got)
		}
	}, appOptions{})
}

// scs's Iterate, run inside a request, can change and commit the sessions
// it walks (on backends that can list them).
func TestIterate(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		a := newApp(t, b, appOptions{})
		if _, ok := a.backend.(store.Scanner); !ok {
			t.Skipf("%s cannot list its sessions", b.name)
		}
		c1, c2 := a.client(), a.client()
		c1.must("POST", "/put", "v", "one")
		c2.must("POST", "/put", "v", "two")
		c1.must("POST", "/mark-all")
		for i, c := range []*client{c1, c2} {
			if got := c.must("GET", "/get"); got != "marked|" {
				t.Errorf("client %d reads %q after Iterate", i+1, got)
			}
		}
	})
}

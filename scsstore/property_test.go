package scsstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"pgregory.net/rapid"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/scsstore"
	"github.com/hourglass-go/hourglass/store"
)

// The property's scs settings. Time moves in steps of propStep, which no
// sum of steps makes equal to the resolution or the idle timeout, so that
// the microseconds between scs's clock reading and the adapter's never
// decide whether an expiry moves or a session is live.
const (
	propIdle = 30 * time.Minute
	propRes  = scsstore.DefaultResolution
	propStep = 7 * time.Second
)

// msess is the property's model of one stored session: what scs keeps in
// it, its expiry on the backend's clock, and how many times it was written
// (a conditional write at a stale count loses to the last writer).
type msess struct {
	v, user string
	exp     time.Time
	writes  int
}

// held is a request parked between its load and its commit.
type held struct {
	client int
	write  bool   // a write of v; otherwise a read
	v      string // the value it writes
	token  string // the session it loaded
	loaded msess  // as it loaded it
	done   chan error
}

// scsModel is what scs over the adapter must show, request by request:
// sessions by token, the token each client's cookie holds, and the
// backend's clock.
type scsModel struct {
	now      time.Time
	sessions map[string]*msess
	cookies  []string
}

func (m *scsModel) live(token string) (*msess, bool) {
	s, ok := m.sessions[token]
	if !ok || !m.now.Before(s.exp) {
		return nil, false
	}
	return s, true
}

// touch is a request's read under the idle timeout: the expiry slides to
// now+idle if that moves it by the resolution or more.
func (m *scsModel) touch(s *msess) {
	if next := m.now.Add(propIdle); next.Sub(s.exp) >= propRes {
		s.exp = next
		s.writes++
	}
}

// TestModelProperty runs random requests of three clients against scs over
// the adapter on memstore, with time moving on the backend's clock and one
// request at a time held between its load and its commit while others run
// (a write or a read that overlaps a logout, a login, a revocation, an
// expiry, another write), and checks every answer, every cookie and the
// backend's every session against a model of what the adapter promises:
// nothing deleted comes back, a read writes no value, a write applies to
// the session it loaded or to nothing, expiry slides by the resolution.
func TestModelProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		clk := clock.NewSim(epoch)
		mem := memstore.New(memstore.Options{Clock: clk})
		a := newAppOn(t, clk, mem, appOptions{idle: propIdle})
		defer a.srv.Close()
		const clients = 3
		cs := make([]*client, clients)
		for i := range cs {
			cs[i] = a.client()
		}
		m := &scsModel{now: epoch, sessions: map[string]*msess{}, cookies: make([]string, clients)}
		var h *held
		defer func() {
			// A failed check leaves its held request to finish, so that
			// the server can close.
			if h != nil {
				a.release <- struct{}{}
				<-h.done
			}
		}()
		users := []string{"ann", "bo"}

		// A request, checked against what the model expects it to answer.
		do := func(c int, method, path string, form ...string) string {
			body, err := cs[c].do(method, path, form...)
			if err != nil {
				rt.Fatalf("client %d: %v", c, err)
			}
			return body
		}
		// After a request, the client's cookie is the model's.
		cookie := func(c int) {
			if got := cs[c].token(); got != m.cookies[c] {
				rt.Fatalf("client %d holds cookie %.8s…, the model %.8s…", c, got, m.cookies[c])
			}
		}
		// A new token a request was given: a fresh one, or a failure.
		fresh := func(c int) string {
			tok := cs[c].token()
			if tok == "" || tok == m.cookies[c] || m.sessions[tok] != nil {
				rt.Fatalf("client %d was not given a new token (%.8s…)", c, tok)
			}
			return tok
		}

		rt.Repeat(map[string]func(*rapid.T){
			"get": func(rt *rapid.T) {
				c := rapid.IntRange(0, clients-1).Draw(rt, "client")
				want := "|"
				if s, ok := m.live(m.cookies[c]); ok {
					m.touch(s)
					want = s.v + "|" + s.user
				}
				if got := do(c, "GET", "/get"); got != want {
					rt.Fatalf("client %d reads %q, the model %q", c, got, want)
				}
				cookie(c)
			},
			"put": func(rt *rapid.T) {
				c := rapid.IntRange(0, clients-1).Draw(rt, "client")
				v := rapid.StringMatching(`[a-z]{1,3}`).Draw(rt, "v")
				s, ok := m.live(m.cookies[c])
				do(c, "POST", "/put", "v", v)
				if ok {
					m.touch(s)
					if s.v != v { // the same value again is no change
						s.v = v
						s.writes++
					}
				} else {
					tok := fresh(c)
					m.sessions[tok] = &msess{v: v, exp: m.now.Add(propIdle)}
					m.cookies[c] = tok
				}
				cookie(c)
			},
			"login": func(rt *rapid.T) {
				c := rapid.IntRange(0, clients-1).Draw(rt, "client")
				user := rapid.SampledFrom(users).Draw(rt, "user")
				do(c, "POST", "/login", "user", user)
				tok := fresh(c)
				next := &msess{user: user, exp: m.now.Add(propIdle)}
				if s, ok := m.live(m.cookies[c]); ok {
					next.v = s.v
					delete(m.sessions, m.cookies[c])
				}
				m.sessions[tok] = next
				m.cookies[c] = tok
				cookie(c)
			},
			"logout": func(rt *rapid.T) {
				c := rapid.IntRange(0, clients-1).Draw(rt, "client")
				do(c, "POST", "/logout")
				delete(m.sessions, m.cookies[c])
				m.cookies[c] = ""
				cookie(c)
			},
			"logout elsewhere": func(rt *rapid.T) {
				c := rapid.IntRange(0, clients-1).Draw(rt, "client")
				s, ok := m.live(m.cookies[c])
				if !ok || s.user == "" {
					rt.Skip("not signed in")
				}
				m.touch(s)
				n := 0
				for tok, o := range m.sessions {
					if o.user == s.user && tok != m.cookies[c] {
						if m.now.Before(o.exp) {
							n++
						}
						delete(m.sessions, tok)
					}
				}
				if got := do(c, "POST", "/logout-others"); got != fmt.Sprint(n) {
					rt.Fatalf("signing out elsewhere ended %s sessions, the model %d", got, n)
				}
				cookie(c)
			},
			"time passes": func(rt *rapid.T) {
				d := propStep * time.Duration(rapid.SampledFrom([]int{1, 9, 60, 257}).Draw(rt, "steps"))
				clk.Add(d)
				m.now = m.now.Add(d)
			},
			"hold": func(rt *rapid.T) {
				if h != nil {
					rt.Skip("a request is held already")
				}
				c := rapid.IntRange(0, clients-1).Draw(rt, "client")
				s, ok := m.live(m.cookies[c])
				if !ok {
					rt.Skip("no session to hold a request of")
				}
				m.touch(s)
				h = &held{client: c, write: rapid.Bool().Draw(rt, "write"), token: m.cookies[c], loaded: *s, done: make(chan error, 1)}
				method := "GET"
				if h.write {
					method, h.v = "POST", rapid.StringMatching(`[A-Z]{1,3}`).Draw(rt, "v")
				}
				go func(h *held) {
					_, err := cs[h.client].do(method, "/slow", "v", h.v)
					h.done <- err
				}(h)
				<-a.entered
			},
			"release": func(rt *rapid.T) {
				if h == nil {
					rt.Skip("no request is held")
				}
				a.release <- struct{}{}
				if err := <-h.done; err != nil {
					rt.Fatal(err)
				}
				if s, ok := m.live(h.token); ok && h.write && h.v != h.loaded.v {
					if s.writes != h.loaded.writes {
						// Changed since: the last commit wins, with the
						// values it loaded and scs's expiry.
						s.exp = m.now.Add(propIdle)
					}
					s.v, s.user = h.v, h.loaded.user
					s.writes++
				}
				// scs sets the cookie of the session it loaded, whatever
				// became of it.
				c := h.client
				m.cookies[c] = h.token
				h = nil
				cookie(c)
			},
			"": func(rt *rapid.T) {
				checkBackend(rt, mem, m)
			},
		})
	})
}

// checkBackend compares every session the model knows with the backend:
// live ones hold the model's values and expiry (up to the microseconds
// between scs's clock reading and the adapter's), the others are gone.
func checkBackend(rt *rapid.T, mem *memstore.Store, m *scsModel) {
	for tok, s := range m.sessions {
		rec, err := mem.Load(context.Background(), store.ID(tok))
		_, live := m.live(tok)
		switch {
		case !live && errors.Is(err, store.ErrNotFound):
			continue
		case !live:
			rt.Fatalf("session %.8s… is gone in the model, the backend has it (%v)", tok, err)
		case err != nil:
			rt.Fatalf("session %.8s…: %v", tok, err)
		}
		_, vals, err := scs.GobCodec{}.Decode(rec.State)
		if err != nil {
			rt.Fatal(err)
		}
		v, _ := vals["v"].(string)
		user, _ := vals["user"].(string)
		if v != s.v || user != s.user {
			rt.Fatalf("session %.8s… holds v=%q user=%q, the model v=%q user=%q", tok, v, user, s.v, s.user)
		}
		if rec.Expires.After(s.exp) || rec.Expires.Before(s.exp.Add(-time.Second)) {
			rt.Fatalf("session %.8s… expires at %v, the model at %v", tok, rec.Expires, s.exp)
		}
	}
}

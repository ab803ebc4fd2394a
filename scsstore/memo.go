package scsstore

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/hourglass-go/hourglass/store"
)

// memo is what the adapter remembers for the length of one request: every
// token it looked up and what it found, and a renewal in progress. It is
// what lets CommitCtx tell a session the request found (update it, never
// create it) from one it did not (create it).
type memo struct {
	mu    sync.Mutex
	codec scs.Codec
	idle  time.Duration            // scs's IdleTimeout
	reads map[string]*store.Record // nil: looked up and not found
	renew *renewal
	// The request's own session, once scs has loaded it: its token and
	// scs's deadline for it as loaded (scs commits as soon as the handler
	// writes, so there is no "after the handler" to look at).
	own    string
	loaded time.Time
}

// renewal is an atomic token renewal waiting for the request's commit.
type renewal struct {
	from     string // the token the session was found under, or ""
	held     bool   // scs asked to delete from, and the adapter held it back
	pending  bool   // inside scs's RenewToken
	owner    store.Owner
	setOwner bool // Login: owner replaces the session's owner
}

type memoKey struct{}

func memoFrom(ctx context.Context) *memo {
	m, _ := ctx.Value(memoKey{}).(*memo)
	return m
}

// LoadAndSave is sm.LoadAndSave(next) with the adapter's memory of the
// request: use it in place of scs's middleware, on a SessionManager whose
// Store is st. It is what keeps a logged-out session from coming back
// (CommitCtx), makes an idle-timeout request that changes nothing a read,
// and lets RenewToken and Login be atomic.
func (st *Store) LoadAndSave(sm *scs.SessionManager, next http.Handler) http.Handler {
	inner := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		m := memoFrom(ctx)
		if err := st.loaded(ctx, m, sm); err != nil {
			sm.ErrorFunc(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := &memo{codec: sm.Codec, idle: sm.IdleTimeout}
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), memoKey{}, m)))
	})
}

// loaded runs after scs has loaded the request's session, before the
// handler. A session found past scs's absolute deadline on the
// application's clock is destroyed, so the handler never sees it: under
// an idle timeout, FindCtx's Touch may have carried the stored expiry up
// to one idle timeout past that deadline (see FindCtx).
func (st *Store) loaded(ctx context.Context, m *memo, sm *scs.SessionManager) error {
	token := sm.Token(ctx)
	if seen, rec := m.found(token); !seen || rec == nil {
		return nil
	}
	d := sm.Deadline(ctx)
	if !d.After(st.clock.Now()) {
		return sm.Destroy(ctx)
	}
	m.mu.Lock()
	m.own, m.loaded = token, d
	m.mu.Unlock()
	return nil
}

// loadedDeadline returns scs's deadline of the session under token as
// scs loaded it, if it is the request's own session.
func (m *memo) loadedDeadline(token string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loaded, token == m.own
}

// saw records a lookup of token and its result (nil: not found).
func (m *memo) saw(token string, rec *store.Record) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reads == nil {
		m.reads = make(map[string]*store.Record, 1)
	}
	m.reads[token] = rec
}

// found reports whether token was looked up, and what was found under it.
func (m *memo) found(token string) (seen bool, rec *store.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, seen = m.reads[token]
	return seen, rec
}

func (m *memo) renewing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.renew != nil
}

// startRenewal begins a renewal of the session found under token. A second
// renewal in one request renews the same stored session: the token scs
// made up the first time was never stored.
func (m *memo) startRenewal(token string, owner store.Owner, setOwner bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.renew == nil {
		m.renew = &renewal{from: token}
	}
	m.renew.pending = true
	if setOwner {
		m.renew.owner, m.renew.setOwner = owner, true
	}
}

func (m *memo) endRenewal(ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !ok {
		m.renew = nil
		return
	}
	m.renew.pending = false
}

// takeRenewal ends the renewal and returns it, with the record it renews
// (nil if none was found).
func (m *memo) takeRenewal() (renewal, *store.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := *m.renew
	m.renew = nil
	return r, m.reads[r.from]
}

// deleting is asked before a delete of token: hold reports that the delete
// is scs's half of a renewal and is to be held back (the commit moves the
// session instead); also names a held session to delete with it, when the
// session being renewed is destroyed in the same request.
func (m *memo) deleting(token string) (hold bool, also store.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.renew
	switch {
	case r == nil:
		return false, ""
	case r.pending && token == r.from && token != "":
		r.held = true
		return true, ""
	case r.pending:
		// The token of an earlier renewal in this request, never stored.
		return false, ""
	default:
		// Destroy after a renewal: the session is gone, under both names.
		m.renew = nil
		if r.held {
			return false, store.ID(r.from)
		}
		return false, ""
	}
}

// same reports whether a commit's data says what was read: the same bytes,
// or, since scs's gob codec writes a map in Go's random iteration order,
// the same deadline and values once decoded.
func (m *memo) same(read, commit []byte) bool {
	if bytes.Equal(read, commit) {
		return true
	}
	if m.codec == nil || len(read) != len(commit) || !sameBytes(read, commit) {
		return false
	}
	d1, v1, err1 := m.codec.Decode(read)
	d2, v2, err2 := m.codec.Decode(commit)
	return err1 == nil && err2 == nil && d1.Equal(d2) && reflect.DeepEqual(v1, v2)
}

// sameBytes reports whether a and b hold the same bytes in any order: true
// of two encodings of one session that differ only in the order of a
// map's entries, and much cheaper to check than decoding both (scs's gob
// codec builds its decoder anew for every message), while a changed
// value almost always changes the bytes.
func sameBytes(a, b []byte) bool {
	var n [256]int
	for _, c := range a {
		n[c]++
	}
	for _, c := range b {
		n[c]--
	}
	return n == [256]int{}
}

package scsstore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/internal/redistest"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/scsstore"
	"github.com/hourglass-go/hourglass/store"
)

// TestMain starts (or finds) a PostgreSQL server and a Redis Cluster, and
// stops the ones it started.
func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(runFunc(func() int { return redistest.Main(m) })))
}

type runFunc func() int

func (f runFunc) Run() int { return f() }

// epoch is where the backends' simulated clock starts; scs itself reads
// the system clock, and only durations cross from one to the other.
var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// backend is a store for the end-to-end tests, on a simulated clock.
type backend struct {
	name string
	open func(t *testing.T, clk clock.Clock) store.Store
}

var backends = []backend{
	{"memory", func(t *testing.T, clk clock.Clock) store.Store {
		return memstore.New(memstore.Options{Clock: clk})
	}},
	{"redis", func(t *testing.T, clk clock.Clock) store.Store {
		srv := redistest.Cluster(t)
		s, err := redisstore.New(t.Context(), redisstore.Options{Addrs: srv.Addrs, Cluster: true, Clock: clk, Prefix: redistest.Prefix(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T, clk clock.Clock) store.Store {
		s, err := pgstore.New(pgtest.Pool(t), pgstore.Options{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

// forEach runs test against every backend, in parallel.
func forEach(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b)
		})
	}
}

// forEachOwners runs test against every backend that keeps owners
// (store.Owners), and says which do not.
func forEachOwners(t *testing.T, test func(t *testing.T, a *app), o appOptions) {
	forEach(t, func(t *testing.T, b backend) {
		a := newApp(t, b, o)
		if _, ok := a.backend.(store.Owners); !ok {
			t.Skipf("%s does not keep owners", b.name)
		}
		test(t, a)
	})
}

// app is scs with the adapter in a real HTTP server, and a handful of
// routes that do what applications do with sessions.
type app struct {
	t       *testing.T
	clk     *clock.Sim
	backend store.Store
	st      *scsstore.Store
	sm      *scs.SessionManager
	srv     *httptest.Server
	// entered and release let a test hold a request between its load and
	// its commit (/slow).
	entered chan struct{}
	release chan struct{}
}

type appOptions struct {
	idle   time.Duration // scs's IdleTimeout
	unwrap bool          // scs's own LoadAndSave instead of the adapter's
}

func newApp(t *testing.T, b backend, o appOptions) *app {
	t.Helper()
	clk := clock.NewSim(epoch)
	return newAppOn(t, clk, b.open(t, clk), o)
}

// newAppOn is newApp on a given backend, whose clock is clk.
func newAppOn(t *testing.T, clk *clock.Sim, backend store.Store, o appOptions) *app {
	t.Helper()
	a := &app{t: t, clk: clk, backend: backend, entered: make(chan struct{}), release: make(chan struct{})}
	st, err := scsstore.New(a.backend, scsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a.st = st
	a.sm = scs.New()
	a.sm.Store = st
	a.sm.Lifetime = 24 * time.Hour
	a.sm.IdleTimeout = o.idle
	a.sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		t.Errorf("%s %s: %v", r.Method, r.URL, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	var h http.Handler = a.routes()
	if o.unwrap {
		h = a.sm.LoadAndSave(h)
	} else {
		h = st.LoadAndSave(a.sm, h)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, a.sm.GetString(r.Context(), "v")+"|"+a.sm.GetString(r.Context(), "user"))
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		a.sm.Put(r.Context(), "v", r.FormValue("v"))
	})
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		a.sm.Put(r.Context(), "n", a.sm.GetInt(r.Context(), "n")+1)
	})
	mux.HandleFunc("GET /n", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strconv.Itoa(a.sm.GetInt(r.Context(), "n")))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.FormValue("user")
		if err := a.st.Login(r.Context(), a.sm, store.Owner("user:"+user)); err != nil {
			fail(w, err)
			return
		}
		a.sm.Put(r.Context(), "user", user)
		if r.FormValue("destroy") != "" {
			if err := a.sm.Destroy(r.Context()); err != nil {
				fail(w, err)
			}
		}
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		var err error
		if r.FormValue("scs") != "" {
			err = a.sm.RenewToken(r.Context())
		} else {
			err = a.st.RenewToken(r.Context(), a.sm)
		}
		if err != nil {
			fail(w, err)
			return
		}
		if r.FormValue("hold") != "" {
			a.hold()
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := a.sm.Destroy(r.Context()); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /logout-others", func(w http.ResponseWriter, r *http.Request) {
		n, err := a.st.RevokeOthers(r.Context(), a.sm, store.Owner("user:"+a.sm.GetString(r.Context(), "user")))
		if err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, strconv.Itoa(n))
	})
	mux.HandleFunc("POST /mark-all", func(w http.ResponseWriter, r *http.Request) {
		err := a.sm.Iterate(r.Context(), func(ctx context.Context) error {
			a.sm.Put(ctx, "v", "marked")
			_, _, err := a.sm.Commit(ctx)
			return err
		})
		if err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) {
		a.hold()
		a.sm.Put(r.Context(), "v", r.FormValue("v"))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		a.hold()
		io.WriteString(w, a.sm.GetString(r.Context(), "v"))
	})
	return mux
}

// hold parks a request until the test releases it.
func (a *app) hold() {
	a.entered <- struct{}{}
	<-a.release
}

// client is one browser: a cookie jar and a keep-alive connection.
type client struct {
	a   *app
	jar *cookiejar.Jar
	c   *http.Client
}

func (a *app) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return &client{a: a, jar: jar, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// do sends a request and returns the body; any status but 200 fails the
// test. It may run on any goroutine.
func (c *client) do(method, path string, form ...string) (string, error) {
	vals := url.Values{}
	for i := 0; i+1 < len(form); i += 2 {
		vals.Set(form[i], form[i+1])
	}
	req, err := http.NewRequest(method, c.a.srv.URL+path, strings.NewReader(vals.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(method + " " + path + ": " + resp.Status + ": " + string(body))
	}
	return string(body), nil
}

func (c *client) must(method, path string, form ...string) string {
	c.a.t.Helper()
	body, err := c.do(method, path, form...)
	if err != nil {
		c.a.t.Fatal(err)
	}
	return body
}

// token is the session cookie the client holds ("" if none).
func (c *client) token() string {
	u, _ := url.Parse(c.a.srv.URL)
	for _, k := range c.jar.Cookies(u) {
		if k.Name == c.a.sm.Cookie.Name {
			return k.Value
		}
	}
	return ""
}

// as returns a client holding only the given token: an old cookie
// replayed, or a stolen one.
func (a *app) as(token string) *client {
	c := a.client()
	u, _ := url.Parse(a.srv.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: a.sm.Cookie.Name, Value: token, Path: "/"}})
	return c
}

// stored returns the backend's record under token, or ok=false.
func (a *app) stored(token string) (store.Record, bool) {
	a.t.Helper()
	rec, err := a.backend.Load(context.Background(), store.ID(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Record{}, false
	}
	if err != nil {
		a.t.Fatal(err)
	}
	return rec, true
}

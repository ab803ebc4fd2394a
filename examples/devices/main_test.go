package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/scsstore"
	"github.com/hourglass-go/hourglass/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestDevicesMemstore(t *testing.T) {
	clk := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	testDevices(t, memstore.New(memstore.Options{Clock: clk}))
}

func TestDevicesPgstore(t *testing.T) {
	sessions, err := pgstore.New(pgtest.Pool(t), pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sessions.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	testDevices(t, sessions)
}

// Markers in the pages.
const (
	signInForm = `action="/signin"`
	signedIn   = "Signed in as <b>"
)

var (
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	deviceLine = regexp.MustCompile(`<tr data-handle="([0-9a-f]{32})"( class="this")?>`)
)

// device is one browser: a cookie jar and a User-Agent.
type device struct {
	t      *testing.T
	base   *url.URL
	ua     string
	client *http.Client
	csrf   string // the form token of the last page that had one
}

func newDevice(t *testing.T, base, ua string) *device {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &device{t: t, base: u, ua: ua, client: &http.Client{Jar: jar}}
}

// do sends a request (following redirects) and returns the final status
// and body, remembering the page's CSRF token.
func (d *device) do(method, path string, form url.Values) (int, string) {
	d.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, d.base.JoinPath(path).String(), body)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("User-Agent", d.ua) // kept across redirects
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	if m := csrfField.FindSubmatch(b); m != nil {
		d.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

func (d *device) get(path string) string {
	d.t.Helper()
	code, body := d.do("GET", path, nil)
	if code != http.StatusOK {
		d.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

// post sends a form with the device's CSRF token, unless the form has a
// csrf field of its own.
func (d *device) post(path string, form url.Values) (int, string) {
	d.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", d.csrf)
	}
	return d.do("POST", path, form)
}

func (d *device) mustPost(path string, form url.Values) string {
	d.t.Helper()
	code, body := d.post(path, form)
	if code != http.StatusOK {
		d.t.Fatalf("POST %s: %d %s", path, code, body)
	}
	return body
}

// cookie is the device's session token ("" if it has none).
func (d *device) cookie() string {
	for _, c := range d.client.Jar.Cookies(d.base) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

func (d *device) signIn(name string) {
	d.t.Helper()
	d.get("/")
	if body := d.mustPost("/signin", url.Values{"user": {name}}); !strings.Contains(body, signedIn+name+"</b>") {
		d.t.Fatalf("after signing in as %s, / shows:\n%s", name, body)
	}
}

type row struct {
	handle store.Handle
	this   bool
}

func (d *device) devices() []row {
	d.t.Helper()
	var rows []row
	for _, m := range deviceLine.FindAllStringSubmatch(d.get("/devices"), -1) {
		rows = append(rows, row{store.Handle(m[1]), m[2] != ""})
	}
	return rows
}

// replay sends GET path with the session cookie token and nothing else,
// without following redirects, as someone holding a copy of the cookie.
func replay(t *testing.T, base, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "session", Value: token})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// signedOut checks that token no longer signs anyone in: the home page
// offers to sign in, the devices page sends back home, and the store has
// no session under it.
func signedOut(t *testing.T, backend store.Store, base, token, what string) {
	t.Helper()
	if token == "" {
		t.Fatalf("%s: no token to replay", what)
	}
	if code, body := replay(t, base, "/", token); code != http.StatusOK || !strings.Contains(body, signInForm) || strings.Contains(body, signedIn) {
		t.Errorf("%s: GET / with the old cookie: %d\n%s", what, code, body)
	}
	if code, _ := replay(t, base, "/devices", token); code != http.StatusSeeOther {
		t.Errorf("%s: GET /devices with the old cookie: %d, want a redirect", what, code)
	}
	if _, err := backend.Load(context.Background(), store.ID(token)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: the store still has the session (Load: %v)", what, err)
	}
}

func testDevices(t *testing.T, backend store.Store) {
	st, err := scsstore.New(backend, scsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newApp(st, newSessionManager(st)))
	defer srv.Close()

	a := newDevice(t, srv.URL, "Laptop/1.0")
	b := newDevice(t, srv.URL, "Phone/2.0")

	// A bad user name is refused; so is a form without the right token.
	a.get("/")
	for _, name := range []string{"", "two words", "ünï", "a/b", strings.Repeat("x", 65)} {
		if code, body := a.post("/signin", url.Values{"user": {name}}); code != http.StatusBadRequest {
			t.Errorf("sign in as %q: %d, want 400\n%s", name, code, body)
		}
	}
	for _, csrf := range []string{"", "forged"} {
		if code, _ := a.post("/signin", url.Values{"user": {"alice"}, "csrf": {csrf}}); code != http.StatusForbidden {
			t.Errorf("sign in with csrf %q: %d, want 403", csrf, code)
		}
	}
	if body := a.get("/"); !strings.Contains(body, signInForm) {
		t.Fatalf("refused sign-ins signed A in:\n%s", body)
	}

	// Signing in changes the token, and the old one is worthless.
	before, csrfBefore := a.cookie(), a.csrf
	if before == "" {
		t.Fatal("the sign-in page set no session cookie")
	}
	a.signIn("alice")
	after := a.cookie()
	if after == "" || after == before {
		t.Fatalf("the session token did not change at sign-in: %q -> %q", before, after)
	}
	if a.csrf == csrfBefore {
		t.Error("the CSRF token did not change at sign-in")
	}
	signedOut(t, backend, srv.URL, before, "pre-login token")

	// Two devices, each listed, this one marked.
	b.signIn("alice")
	rows := a.devices()
	if len(rows) != 2 {
		t.Fatalf("A lists %d devices, want 2: %v", len(rows), rows)
	}
	var other store.Handle
	marked := 0
	for _, r := range rows {
		if r.this {
			marked++
			if want := store.HandleFor(backend, store.ID(a.cookie())); r.handle != want {
				t.Errorf("the device marked as this one is %s, A's session is %s", r.handle, want)
			}
		} else {
			other = r.handle
		}
	}
	if marked != 1 {
		t.Fatalf("%d devices marked as this device, want 1: %v", marked, rows)
	}
	if want := store.HandleFor(backend, store.ID(b.cookie())); other != want {
		t.Errorf("the other device is %s, B's session is %s", other, want)
	}

	// A post without the token changes nothing.
	if code, _ := a.post("/signout-others", url.Values{"csrf": {""}}); code != http.StatusForbidden {
		t.Errorf("sign out others without csrf: %d, want 403", code)
	}
	if code, _ := a.post("/revoke", url.Values{"handle": {"not-a-handle"}}); code != http.StatusBadRequest {
		t.Errorf("revoke with a bad handle: %d, want 400", code)
	}
	if body := b.get("/"); !strings.Contains(body, signedIn+"alice</b>") {
		t.Fatalf("B was signed out by refused posts:\n%s", body)
	}

	// A signs B out by signing out everywhere else.
	bToken := b.cookie()
	if body := a.mustPost("/signout-others", nil); !strings.Contains(body, "Signed out of 1 other device") {
		t.Errorf("sign out others says:\n%s", body)
	}
	if body := b.get("/"); !strings.Contains(body, signInForm) || strings.Contains(body, signedIn) {
		t.Fatalf("B is still signed in after A signed out others:\n%s", body)
	}
	signedOut(t, backend, srv.URL, bToken, "B after sign out others")
	if rows := a.devices(); len(rows) != 1 || !rows[0].this {
		t.Fatalf("after sign out others A lists %v, want itself alone", rows)
	}

	// B signs in again; A signs it out by its handle.
	b.signIn("alice")
	bToken = b.cookie()
	rows = a.devices()
	if len(rows) != 2 {
		t.Fatalf("A lists %d devices, want 2: %v", len(rows), rows)
	}
	for _, r := range rows {
		if !r.this {
			a.mustPost("/revoke", url.Values{"handle": {string(r.handle)}})
		}
	}
	if body := b.get("/"); strings.Contains(body, signedIn) {
		t.Fatalf("B is still signed in after A revoked it:\n%s", body)
	}
	signedOut(t, backend, srv.URL, bToken, "B after revoke")

	// A signs out here: its cookie no longer works.
	aToken := a.cookie()
	if body := a.mustPost("/signout", nil); !strings.Contains(body, signInForm) {
		t.Errorf("after sign out, / shows:\n%s", body)
	}
	if a.cookie() == aToken {
		t.Error("sign out left the session cookie in place")
	}
	signedOut(t, backend, srv.URL, aToken, "A after sign out")

	// Not signed in: the devices page sends home.
	if body := a.get("/devices"); !strings.Contains(body, signInForm) {
		t.Errorf("GET /devices signed out shows:\n%s", body)
	}
}

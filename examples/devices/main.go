// Devices is a small web application that keeps its scs sessions in
// PostgreSQL through scsstore and pgstore, and shows what an owned session
// gives a user: a list of every device they are signed in on, with "this
// device" marked, and buttons to sign out here, sign out everywhere else, or
// sign out one device from another. Signing in renews the session token and
// makes the session the user's in one atomic step (scsstore.Store.Login),
// so a token planted before sign-in is worthless after it, and a device
// signed out from elsewhere stays signed out even if it had a request in
// flight (scsstore.Store.LoadAndSave). A sweeper removes expired sessions
// in the background.
//
// Run it from the repository root:
//
//	go run ./examples/devices
//
// and open the URL it prints, in two browsers (or a normal and a private
// window) to have two devices. Without -dsn (or HOURGLASS_DSN), it starts a
// throwaway PostgreSQL server from the binaries installed on the machine
// (initdb and postgres) and deletes it at exit; with -dsn it uses that
// database and creates its session table there if it is missing:
//
//	go run ./examples/devices -dsn postgres://user:password@localhost/app
package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/internal/pgcluster"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/scsstore"
	"github.com/hourglass-go/hourglass/store"
	"github.com/hourglass-go/hourglass/sweeper"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dsn := flag.String("dsn", os.Getenv("HOURGLASS_DSN"),
		"PostgreSQL connection URL (default $HOURGLASS_DSN; if empty, a throwaway server is started from the local PostgreSQL binaries)")
	flag.Parse()
	if err := run(*addr, *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "devices:", err)
		os.Exit(1)
	}
}

func run(addr, dsn string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if dsn == "" {
		log.Print("no -dsn: starting a throwaway PostgreSQL server (deleted at exit)")
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("no -dsn given, and no throwaway PostgreSQL server could be started: %w\n"+
				"Pass -dsn postgres://user:password@host/dbname (or set HOURGLASS_DSN), "+
				"or install the PostgreSQL server binaries (initdb and postgres)", err)
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				log.Print(err)
			}
		}()
		dsn = cluster.DSN("postgres")
	}

	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	sessions, err := pgstore.New(pool, pgstore.Options{})
	if err != nil {
		return err
	}
	if err := sessions.Migrate(ctx); err != nil {
		return fmt.Errorf("creating the session table: %w", err)
	}

	// Expired sessions stay in the table until something deletes them.
	sw, err := sweeper.Start(ctx, sessions, sweeper.Options{Interval: 5 * time.Minute})
	if err != nil {
		return err
	}
	defer sw.Stop()

	st, err := scsstore.New(sessions, scsstore.Options{})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newApp(st, newSessionManager(st)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("open %s (Ctrl-C to stop)\n", siteURL(ln.Addr()))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	stop() // a second Ctrl-C ends the process at once
	log.Print("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// siteURL is the URL to open for a listener's address.
func siteURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// newSessionManager is the scs configuration of the application, shared by
// main and the tests.
func newSessionManager(st *scsstore.Store) *scs.SessionManager {
	sm := scs.New()
	sm.Store = st
	sm.Lifetime = 7 * 24 * time.Hour
	sm.IdleTimeout = 24 * time.Hour // a device unused for a day is signed out
	sm.Cookie.Name = "session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	// sm.Cookie.Secure = true // behind HTTPS, as any real deployment is
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Printf("%s %s: session: %v", r.Method, r.URL.Path, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
	return sm
}

// Session keys.
const (
	keyUser   = "user"   // the signed-in user's name; absent when signed out
	keyDevice = "device" // what the device said it is (its User-Agent)
	keyCSRF   = "csrf"   // the token every form sends back
	keyFlash  = "flash"  // a message for the next page
)

// maxDevice bounds the device description kept in the session, in bytes.
const maxDevice = 200

// validName is what a user name may be.
var validName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,64}$`)

type app struct {
	st *scsstore.Store
	sm *scs.SessionManager
}

// newApp returns the application's handler: its routes, wrapped in the
// adapter's session middleware (st.LoadAndSave, not sm.LoadAndSave, which
// is what makes Login atomic and keeps a revoked session revoked).
func newApp(st *scsstore.Store, sm *scs.SessionManager) http.Handler {
	a := &app{st: st, sm: sm}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /devices", a.devices)
	mux.HandleFunc("POST /signin", a.checkCSRF(a.signin))
	mux.HandleFunc("POST /signout", a.checkCSRF(a.signout))
	mux.HandleFunc("POST /signout-others", a.checkCSRF(a.signoutOthers))
	mux.HandleFunc("POST /revoke", a.checkCSRF(a.revoke))
	return st.LoadAndSave(sm, mux)
}

// csrfToken returns the session's CSRF token, making one if it has none.
// Every page with a form calls it, so a visitor's first page starts a
// session (and sets the cookie) before they sign in.
func (a *app) csrfToken(ctx context.Context) string {
	t := a.sm.GetString(ctx, keyCSRF)
	if t == "" {
		t = newCSRFToken()
		a.sm.Put(ctx, keyCSRF, t)
	}
	return t
}

func newCSRFToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+ crashes instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkCSRF lets a POST through only if its form carries the session's
// CSRF token: another site can make a browser post a form here, with the
// cookie, but cannot read the token from our pages. (The cookie's
// SameSite=Lax stops most of that already; the token does not depend on
// the browser honouring it.)
func (a *app) checkCSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		want := a.sm.GetString(r.Context(), keyCSRF)
		got := r.PostForm.Get("csrf")
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			http.Error(w, "missing or stale form token: reload the page and try again", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// user returns the signed-in user's name and owner, or ok false.
func (a *app) user(ctx context.Context) (name string, owner store.Owner, ok bool) {
	name = a.sm.GetString(ctx, keyUser)
	return name, store.Owner("user:" + name), name != ""
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, _, _ := a.user(ctx)
	a.render(w, "home", map[string]any{
		"User":   name,
		"Device": a.sm.GetString(ctx, keyDevice),
		"Flash":  a.sm.PopString(ctx, keyFlash),
		"CSRF":   a.csrfToken(ctx),
	})
}

// signin signs the session in as the user named in the form. There is no
// password: this is a demonstration of sessions, not of authentication. A
// real application checks the credentials here and then does the same.
func (a *app) signin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PostForm.Get("user")
	if !validName.MatchString(name) {
		http.Error(w, "a user name is 1 to 64 characters among a-z, A-Z, 0-9, '.', '_' and '-'", http.StatusBadRequest)
		return
	}
	// A new token and the owner in one step, at the end of the request.
	if err := a.st.Login(ctx, a.sm, store.Owner("user:"+name)); err != nil {
		a.fail(w, r, err)
		return
	}
	a.sm.Put(ctx, keyUser, name)
	a.sm.Put(ctx, keyDevice, deviceName(r.UserAgent()))
	// Whoever planted the session before sign-in knows its CSRF token too.
	a.sm.Put(ctx, keyCSRF, newCSRFToken())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// deviceName is a short description of the device, from its User-Agent.
func deviceName(ua string) string {
	if len(ua) > maxDevice {
		ua = ua[:maxDevice]
	}
	ua = strings.ToValidUTF8(ua, "") // a cut may split a character
	if ua == "" {
		return "an unnamed device"
	}
	return ua
}

type deviceRow struct {
	Handle  store.Handle
	Expires string
	This    bool
}

func (a *app) devices(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, owner, ok := a.user(ctx)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	list, err := a.st.Devices(ctx, owner)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	current := a.st.Current(ctx, a.sm)
	rows := make([]deviceRow, len(list))
	for i, d := range list {
		rows[i] = deviceRow{
			Handle:  d.Handle,
			Expires: d.Expires.UTC().Format("2006-01-02 15:04:05 UTC"),
			This:    d.Handle == current,
		}
	}
	a.render(w, "devices", map[string]any{
		"User": name,
		// A list entry is a handle and an expiry, nothing else: this
		// device's description is in this session, the others' in theirs.
		"Device":  a.sm.GetString(ctx, keyDevice),
		"Devices": rows,
		"Flash":   a.sm.PopString(ctx, keyFlash),
		"CSRF":    a.csrfToken(ctx),
	})
}

// signout signs this device out: the session is deleted and its cookie
// cleared.
func (a *app) signout(w http.ResponseWriter, r *http.Request) {
	if err := a.sm.Destroy(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signoutOthers signs the user out everywhere but here, in one step.
func (a *app) signoutOthers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, owner, ok := a.user(ctx)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	n, err := a.st.RevokeOthers(ctx, a.sm, owner)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.sm.Put(ctx, keyFlash, fmt.Sprintf("Signed out of %d other device(s).", n))
	http.Redirect(w, r, "/devices", http.StatusSeeOther)
}

// revoke signs out the user's device named by the form's handle.
func (a *app) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, owner, ok := a.user(ctx)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h, err := store.ParseHandle(r.PostForm.Get("handle"))
	if err != nil {
		http.Error(w, "bad device handle", http.StatusBadRequest)
		return
	}
	if h == a.st.Current(ctx, a.sm) {
		a.signout(w, r) // this device: clear the cookie too
		return
	}
	switch err := a.st.Revoke(ctx, owner, h); {
	case err == nil:
		a.sm.Put(ctx, keyFlash, "Signed that device out.")
	case errors.Is(err, store.ErrNotFound):
		a.sm.Put(ctx, keyFlash, "That device was already signed out.")
	default:
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/devices", http.StatusSeeOther)
}

func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

func (a *app) render(w http.ResponseWriter, name string, data any) {
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		log.Printf("template %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sessions demo</title></head>
<body>
<h1>Sessions demo</h1>
{{end}}

{{define "flash"}}{{if .Flash}}<p><i>{{.Flash}}</i></p>{{end}}{{end}}

{{define "home"}}{{template "top"}}{{template "flash" .}}
{{if .User}}
<p>Signed in as <b>{{.User}}</b> on {{.Device}}.</p>
<p><a href="/devices">Your devices</a></p>
<form method="post" action="/signout"><input type="hidden" name="csrf" value="{{.CSRF}}">
<button>Sign out</button></form>
{{else}}
<p>Not signed in. Any name will do: this demonstrates sessions, not passwords.</p>
<form method="post" action="/signin"><input type="hidden" name="csrf" value="{{.CSRF}}">
<label>User name <input name="user" required maxlength="64" pattern="[a-zA-Z0-9._\-]+"></label>
<button>Sign in</button></form>
{{end}}
</body></html>
{{end}}

{{define "devices"}}{{template "top"}}{{template "flash" .}}
<p>Signed in as <b>{{.User}}</b>. <a href="/">Home</a></p>
<h2>Your devices</h2>
<table>
<tr><th>Device</th><th>Signed out at the latest</th><th></th></tr>
{{range .Devices}}{{if .This}}
<tr data-handle="{{.Handle}}" class="this"><td>this device: {{$.Device}}</td><td>{{.Expires}}</td>
<td><form method="post" action="/signout"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<button>Sign out here</button></form></td></tr>
{{else}}
<tr data-handle="{{.Handle}}"><td>another device</td><td>{{.Expires}}</td>
<td><form method="post" action="/revoke"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="handle" value="{{.Handle}}"><button>Sign out</button></form></td></tr>
{{end}}{{end}}
</table>
<form method="post" action="/signout-others"><input type="hidden" name="csrf" value="{{.CSRF}}">
<button>Sign out everywhere else</button></form>
</body></html>
{{end}}
`))

package scsstore_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/scsstore"
	"github.com/hourglass-go/hourglass/store"
)

// scs on an Hourglass store: the adapter's LoadAndSave in place of scs's,
// and Login in place of RenewToken at sign-in. memstore stands in for
// pgstore here.
func ExampleStore_LoadAndSave() {
	sessions := memstore.New(memstore.Options{})
	st, err := scsstore.New(sessions, scsstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	sm := scs.New()
	sm.Store = st
	sm.IdleTimeout = 30 * time.Minute

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// A new token and the owner, in one step when the request commits.
		if err := st.Login(r.Context(), sm, store.Owner("user:ada")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", "ada")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		devices, err := st.Devices(r.Context(), "user:ada")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello %s, signed in on %d device(s)", sm.GetString(r.Context(), "user"), len(devices))
	})
	srv := httptest.NewServer(st.LoadAndSave(sm, mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	if _, err := client.Post(srv.URL+"/login", "", nil); err != nil {
		log.Fatal(err)
	}
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: hello ada, signed in on 1 device(s)
}

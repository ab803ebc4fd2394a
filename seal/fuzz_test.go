package seal_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// ringReason is every reason a *RingError may give: its message is built
// from these, the entry's position and its key ID, never from the entry's
// text.
var ringReason = regexp.MustCompile(`^(|empty entry|no ':' between key ID and secret|key ID is not a decimal number from 0 to 4294967295|secret is not canonical base64url|secret is \d+ bytes, want 32)$`)

func FuzzParseRing(f *testing.F) {
	for _, s := range []string{
		spec(1), spec(2) + "," + spec(1), " " + spec(3) + " , " + spec(4) + "\n",
		"1:" + base64.URLEncoding.EncodeToString(secret(1)),
		"", ",", "1:", ":", "1:abc", "x:y", "4294967295:" + base64.RawURLEncoding.EncodeToString(secret(5)),
		spec(1) + "," + spec(1), "01:" + base64.RawURLEncoding.EncodeToString(secret(1)) + "," + spec(1),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := seal.ParseRing(in)
		if err != nil {
			if r != nil {
				t.Fatalf("ParseRing returned a ring and %v", err)
			}
			var re *seal.RingError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RingError", err)
			}
			known := false
			for _, s := range []error{seal.ErrEmptyRing, seal.ErrRingSyntax, seal.ErrKeyLength, seal.ErrDuplicateKey, seal.ErrNoWriteKey} {
				known = known || re.Err == s
			}
			if !known || !ringReason.MatchString(re.Reason) {
				t.Fatalf("error %v: sentinel or reason not one of the package's", err)
			}
			if re.Entry < 0 || re.Entry > strings.Count(in, ",")+1 {
				t.Fatalf("error %v names entry %d of %d", err, re.Entry, strings.Count(in, ",")+1)
			}
			return
		}
		// A ring parsed: its first entry writes, and nothing printed about
		// it shows a secret it was given.
		entries := strings.Split(in, ",")
		if len(r.KeyIDs()) != len(entries) {
			t.Fatalf("%d keys from %d entries", len(r.KeyIDs()), len(entries))
		}
		out := fmt.Sprintf("%v %+v %#v %s %x %q", r, r, r, r, r, r)
		for _, e := range entries {
			_, s, _ := strings.Cut(strings.TrimSpace(e), ":")
			raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
			if len(raw) != seal.KeySize {
				t.Fatalf("an entry of %d bytes parsed", len(raw))
			}
			for _, enc := range []string{s, string(raw), hex.EncodeToString(raw), strings.Trim(fmt.Sprint(raw), "[]")} {
				if strings.Contains(out, enc) {
					t.Fatalf("%q shows a secret", out)
				}
			}
		}
		first, _, _ := strings.Cut(strings.TrimSpace(entries[0]), ":")
		if id, err := strconv.ParseUint(first, 10, 32); err != nil || uint32(id) != r.WriteKey() {
			t.Fatalf("write key %d, first entry's ID %q", r.WriteKey(), first)
		}
	})
}

// FuzzOpen: no blob makes Open panic, and only a blob this layer sealed,
// read under the ID it was sealed for, opens.
func FuzzOpen(f *testing.F) {
	fx := newFixture(f, ringOf(f, 2, 1, 2), seal.Options{Namespace: "fuzz"})
	old := fx.layer(f, ringOf(f, 1, 1), seal.Options{Namespace: "fuzz"})
	authentic := map[string]string{}
	// Fuzzing runs this setup again in every worker process: fixed nonces
	// make each seal the same there, so that the seeds are authentic
	// everywhere.
	nonce := byte(0)
	for i, st := range []string{"", "a", "a longer state of a session", strings.Repeat("x", 300)} {
		for _, l := range []*seal.Layer{fx.l, old} {
			id := store.ID(fmt.Sprintf("session-%d", i))
			nonce++
			seal.FixNonce(l, nonce)
			b, err := l.Seal(id, []byte(st))
			if err != nil {
				f.Fatal(err)
			}
			authentic[string(id)+"\x00"+string(b)] = st
			f.Add(string(id), b)
			f.Add("other", b)
		}
	}
	f.Add("x", []byte{})
	f.Add("x", []byte{1, 0, 0, 0, 7})
	f.Fuzz(func(t *testing.T, id string, blob []byte) {
		state, key, err := fx.l.Open(store.ID(id), blob)
		if err == nil {
			want, ok := authentic[id+"\x00"+string(blob)]
			if !ok || string(state) != want || (key != 1 && key != 2) {
				t.Fatalf("Open accepted a blob it did not seal (key %d)", key)
			}
			return
		}
		if state != nil {
			t.Fatal("Open returned a state with an error")
		}
		switch {
		case errors.Is(err, seal.ErrTampered):
			var te *seal.TamperError
			if !errors.As(err, &te) || te.Handle != store.HandleOf(store.ID(id)) {
				t.Fatalf("tamper error %v without the session's handle", err)
			}
		case errors.Is(err, seal.ErrFormat), errors.Is(err, seal.ErrUnknownKey), errors.Is(err, store.ErrInvalidID):
		default:
			t.Fatalf("Open: untyped error %v", err)
		}
		if store.ID(id).Validate() == nil {
			// The message depends on the ID only through its handle: the
			// same blob read under another ID says the same.
			const other = store.ID("not-a-seeded-session")
			_, _, err2 := fx.l.Open(other, blob)
			m1 := strings.ReplaceAll(err.Error(), string(store.HandleOf(store.ID(id))), "HANDLE")
			m2 := strings.ReplaceAll(err2.Error(), string(store.HandleOf(other)), "HANDLE")
			if m1 != m2 {
				t.Fatalf("error %q depends on the session ID (under another: %q)", err, err2)
			}
		}
		if leaks(err.Error(), 1, 2) != "" {
			t.Fatalf("error %q shows a key", err)
		}
	})
}

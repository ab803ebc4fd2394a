package seal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/seal"
)

func TestNewRingErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		write uint32
		keys  []seal.Key
		want  error
		entry int
	}{
		{"no keys", 1, nil, seal.ErrEmptyRing, 0},
		{"short secret", 1, []seal.Key{{ID: 1, Secret: secret(1)[:16]}}, seal.ErrKeyLength, 1},
		{"long secret", 1, []seal.Key{{ID: 1, Secret: append(secret(1), 0)}}, seal.ErrKeyLength, 1},
		{"nil secret", 2, []seal.Key{{ID: 1, Secret: secret(1)}, {ID: 2}}, seal.ErrKeyLength, 2},
		{"duplicate", 1, []seal.Key{{ID: 1, Secret: secret(1)}, {ID: 1, Secret: secret(2)}}, seal.ErrDuplicateKey, 2},
		{"no write key", 3, []seal.Key{{ID: 1, Secret: secret(1)}, {ID: 2, Secret: secret(2)}}, seal.ErrNoWriteKey, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := seal.NewRing(c.write, c.keys...)
			if r != nil || !errors.Is(err, c.want) {
				t.Fatalf("NewRing = %v, %v; want nil, %v", r, err, c.want)
			}
			var re *seal.RingError
			if !errors.As(err, &re) || re.Entry != c.entry {
				t.Fatalf("error %v: want a *RingError about entry %d", err, c.entry)
			}
			if l := leaks(err.Error(), 1, 2); l != "" {
				t.Fatalf("error %q shows %s", err, l)
			}
		})
	}
}

func TestNewRingCopiesSecrets(t *testing.T) {
	k := seal.Key{ID: 1, Secret: secret(1)}
	r, err := seal.NewRing(1, k)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, r, seal.Options{})
	blob, err := f.l.Seal("a", []byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	clear(k.Secret) // the caller wipes its copy
	if got, _, err := f.l.Open("a", blob); err != nil || string(got) != "state" {
		t.Fatalf("after the caller zeroed its secret: Open = %q, %v", got, err)
	}
	// And the ring really uses the secret: another secret does not open it.
	otherRing, err := seal.NewRing(1, seal.Key{ID: 1, Secret: secret(9)})
	if err != nil {
		t.Fatal(err)
	}
	other := newFixture(t, otherRing, seal.Options{}).l
	if _, _, err := other.Open("a", blob); err == nil {
		t.Fatal("a ring with another secret under the same ID opened the blob")
	}
}

func TestParseRing(t *testing.T) {
	padded := fmt.Sprintf("7:%s", base64.URLEncoding.EncodeToString(secret(7)))
	r, err := seal.ParseRing(" " + spec(2) + " ,\n" + padded + "\t")
	if err != nil {
		t.Fatal(err)
	}
	if r.WriteKey() != 2 || fmt.Sprint(r.KeyIDs()) != "[2 7]" || !r.Has(7) || r.Has(1) {
		t.Fatalf("ring %v: want write 2, keys [2 7]", r)
	}
	// The parsed keys are the secrets given: a ring built from them
	// directly opens what the parsed one sealed, under each key.
	direct := newFixture(t, ringOf(t, 7, 2, 7), seal.Options{}).l
	parsed := newFixture(t, r, seal.Options{}).l
	blob, _ := parsed.Seal("id", []byte("x"))
	if got, k, err := direct.Open("id", blob); err != nil || k != 2 || string(got) != "x" {
		t.Fatalf("Open = %q, key %d, %v", got, k, err)
	}
	blob, _ = direct.Seal("id", []byte("y"))
	if got, k, err := parsed.Open("id", blob); err != nil || k != 7 || string(got) != "y" {
		t.Fatalf("Open = %q, key %d, %v", got, k, err)
	}
}

func TestParseRingErrors(t *testing.T) {
	good := spec(1)
	b64 := base64.RawURLEncoding.EncodeToString(secret(1))
	for _, c := range []struct {
		name, spec string
		want       error
		entry      int
	}{
		{"empty", "", seal.ErrEmptyRing, 0},
		{"blank", " \n ", seal.ErrEmptyRing, 0},
		{"no colon", b64, seal.ErrRingSyntax, 1},
		{"empty entry", good + ",,", seal.ErrRingSyntax, 2},
		{"trailing comma", good + ",", seal.ErrRingSyntax, 2},
		{"id not a number", "k1:" + b64, seal.ErrRingSyntax, 1},
		{"negative id", "-1:" + b64, seal.ErrRingSyntax, 1},
		{"id too large", "4294967296:" + b64, seal.ErrRingSyntax, 1},
		{"std alphabet", "1:" + base64.RawStdEncoding.EncodeToString(secret(1)), seal.ErrRingSyntax, 1}, // holds a '+'
		{"std alphabet padded", "1:" + base64.StdEncoding.EncodeToString(secret(1)), seal.ErrRingSyntax, 1},
		{"bad padding", "1:" + b64 + "==", seal.ErrRingSyntax, 1},
		{"stray bits", "1:" + b64[:42] + "B", seal.ErrRingSyntax, 1},
		{"short secret", "1:" + base64.RawURLEncoding.EncodeToString(secret(1)[:31]), seal.ErrKeyLength, 1},
		{"duplicate", good + "," + good, seal.ErrDuplicateKey, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := seal.ParseRing(c.spec)
			if r != nil || !errors.Is(err, c.want) {
				t.Fatalf("ParseRing = %v, %v; want %v", r, err, c.want)
			}
			var re *seal.RingError
			if !errors.As(err, &re) || re.Entry != c.entry {
				t.Fatalf("error %v: want a *RingError about entry %d", err, c.entry)
			}
			msg := err.Error()
			if l := leaks(msg, 1); l != "" {
				t.Fatalf("error %q shows %s", msg, l)
			}
			for _, e := range strings.Split(c.spec, ",") {
				if _, s, ok := strings.Cut(e, ":"); ok && len(s) >= 8 && strings.Contains(msg, s) {
					t.Fatalf("error %q repeats the entry's secret text", msg)
				}
			}
		})
	}
}

// Every way of printing a ring or a key shows IDs and the write key, and
// no secret.
func TestRingAndKeyAreRedacted(t *testing.T) {
	r := ringOf(t, 2, 1, 2)
	k := seal.Key{ID: 1, Secret: secret(1)}
	type holder struct {
		Ring  *seal.Ring
		Key   seal.Key
		Keys  []seal.Key
		Value seal.Ring
	}
	h := holder{Ring: r, Key: k, Keys: []seal.Key{k, {ID: 2, Secret: secret(2)}}, Value: *r}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range []any{r, *r, k, &k, h, &h, h.Keys} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	out = append(out, fmt.Sprint(r), fmt.Sprintln(k), r.String(), k.String(), r.GoString(), k.GoString())
	var logs bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(hd).Info("ring", "ring", r, "key", k, "holder", h, "keys", h.Keys)
	}
	out = append(out, logs.String())
	for _, s := range out {
		if l := leaks(s, 1, 2); l != "" {
			t.Fatalf("%q shows %s", s, l)
		}
	}
	if got := fmt.Sprintf("%+v", r); got != "seal.Ring{write: 2, keys: [1 2]}" {
		t.Fatalf("%%+v of a ring = %q", got)
	}
	for _, want := range []string{`"write":2`, `"keys":[1,2]`, "ring.write=2", `"id":1`, `"Ring":{"write":2,"keys":[1,2]}`, `{"id":2,"secret":"[redacted]"}`} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("log output lacks %s:\n%s", want, logs.String())
		}
	}
}

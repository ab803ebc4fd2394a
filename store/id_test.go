package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/store"
)

func TestIDValidate(t *testing.T) {
	valid := []string{"a", "Z", "0", "-", "_", "aZ09-_", strings.Repeat("x", store.MaxIDLen)}
	for _, s := range valid {
		if err := store.ID(s).Validate(); err != nil {
			t.Errorf("%q: %v, want valid", s, err)
		}
	}
	invalid := []string{"", " ", "a b", "a/b", "a.b", "a=b", "é", "a\x00", "\xff", "a+b", strings.Repeat("x", store.MaxIDLen+1)}
	for _, s := range invalid {
		err := store.ID(s).Validate()
		if !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("%q: %v, want ErrInvalidID", s, err)
		}
		if _, err := store.ParseID(s); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("ParseID(%q): %v, want ErrInvalidID", s, err)
		}
	}
	// Every byte outside the alphabet is rejected, every byte inside accepted.
	for c := 0; c < 256; c++ {
		in := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
		if got := store.ID([]byte{byte(c)}).Validate() == nil; got != in {
			t.Errorf("byte %#02x: valid=%v, want %v", c, got, in)
		}
	}
}

func TestNewID(t *testing.T) {
	seen := map[store.ID]bool{}
	for range 1000 {
		id := store.NewID()
		if len(id) != 43 {
			t.Fatalf("NewID() = %q: %d bytes, want 43", id, len(id))
		}
		if err := id.Validate(); err != nil {
			t.Fatalf("NewID() = %q: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestErrorMessagesAreBounded(t *testing.T) {
	err := store.ID(strings.Repeat("x", 1<<20)).Validate()
	if len(err.Error()) > 200 {
		t.Fatalf("error message is %d bytes: it must not echo the input", len(err.Error()))
	}
}

func BenchmarkIDValidate(b *testing.B) {
	id := store.NewID()
	for b.Loop() {
		_ = id.Validate()
	}
}

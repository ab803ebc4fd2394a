package store_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

func TestAmbiguous(t *testing.T) {
	if store.Ambiguous(nil) != nil {
		t.Fatal("Ambiguous(nil) != nil")
	}
	base := fmt.Errorf("write: %w", io.ErrUnexpectedEOF)
	err := store.Ambiguous(base)
	if !store.IsAmbiguous(err) || !errors.Is(err, store.ErrAmbiguous) {
		t.Fatal("an ambiguous error is not recognised")
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal("Ambiguous hides the cause from errors.Is")
	}
	if store.Ambiguous(err) != err {
		t.Fatal("Ambiguous wraps twice")
	}
	if store.IsAmbiguous(base) || store.IsAmbiguous(store.ErrNotFound) {
		t.Fatal("a definite error reported as ambiguous")
	}
}

func TestLimits(t *testing.T) {
	var l store.Limits
	if err := l.CheckTTL(store.DefaultMaxTTL); err != nil {
		t.Fatalf("the default maximum TTL is rejected: %v", err)
	}
	for _, ttl := range []time.Duration{0, -1, store.DefaultMaxTTL + 1} {
		if err := l.CheckTTL(ttl); !errors.Is(err, store.ErrInvalidTTL) {
			t.Errorf("CheckTTL(%v) = %v, want ErrInvalidTTL", ttl, err)
		}
	}
	small := store.Limits{MaxStateSize: 4}
	if err := small.CheckState(make([]byte, 4)); err != nil {
		t.Fatalf("state at the limit rejected: %v", err)
	}
	if err := small.CheckState(make([]byte, 5)); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("state over the limit: %v, want ErrTooLarge", err)
	}
	if err := store.CheckLimit(-1); !errors.Is(err, store.ErrInvalidLimit) {
		t.Fatalf("CheckLimit(-1) = %v", err)
	}
	// Validation order: ID, then TTL, then size.
	if err := small.CheckWrite("bad id", make([]byte, 5), 0); !errors.Is(err, store.ErrInvalidID) {
		t.Fatalf("CheckWrite reports %v first, want the ID", err)
	}
	if err := small.CheckWrite("ok", make([]byte, 5), 0); !errors.Is(err, store.ErrInvalidTTL) {
		t.Fatalf("CheckWrite reports %v second, want the TTL", err)
	}
}

func TestInstantAndExpiry(t *testing.T) {
	now := time.Date(2000, 1, 1, 0, 0, 0, 1999, time.FixedZone("X", 3600))
	got := store.Instant(now)
	if want := time.Date(1999, 12, 31, 23, 0, 0, 1000, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Instant = %v, want %v in UTC", got, want)
	}
	if exp := store.Expiry(got, time.Second+999); !exp.Equal(got.Add(time.Second)) {
		t.Fatalf("Expiry = %v, want the sum truncated to µs", exp)
	}
	// Before 1970 truncation still rounds towards the past.
	pre := time.Date(1960, 1, 1, 0, 0, 0, 1500, time.UTC)
	if got := store.Instant(pre); !got.Equal(time.Date(1960, 1, 1, 0, 0, 0, 1000, time.UTC)) {
		t.Fatalf("Instant(1960…1.5µs) = %v", got)
	}
}

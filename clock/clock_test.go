package clock_test

import (
	"fmt"
	"testing"
	"time"

	bclock "github.com/benbjohnson/clock"

	"github.com/hourglass-go/hourglass/clock"
)

func TestSimMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	s := clock.NewSim(start)
	if got := s.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	if got := s.Now(); !got.Equal(start) {
		t.Fatalf("second Now() = %v, want %v: a sim clock must not drift", got, start)
	}
	s.Add(time.Microsecond)
	if got, want := s.Now(), start.Add(time.Microsecond); !got.Equal(want) {
		t.Fatalf("after Add(1µs) Now() = %v, want %v", got, want)
	}
	s.Add(-time.Hour)
	if got, want := s.Now(), start.Add(time.Microsecond-time.Hour); !got.Equal(want) {
		t.Fatalf("after Add(-1h) Now() = %v, want %v", got, want)
	}
	far := time.Date(2100, 6, 1, 12, 0, 0, 5, time.FixedZone("X", 3600))
	s.Set(far)
	if got := s.Now(); !got.Equal(far) || got.Location() != time.UTC {
		t.Fatalf("after Set Now() = %v (%v), want %v in UTC", got, got.Location(), far)
	}
}

func TestSimReadsEpoch(t *testing.T) {
	s := clock.NewSim(time.Unix(0, 0))
	if got := s.Now().UnixNano(); got != 0 {
		t.Fatalf("Now().UnixNano() = %d, want 0", got)
	}
}

// A benbjohnson/clock Mock is a Clock: users who already inject one keep it.
func TestBenbjohnsonMockIsAClock(t *testing.T) {
	m := bclock.NewMock()
	m.Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	var c clock.Clock = m
	if got := c.Now().Year(); got != 2030 {
		t.Fatalf("Now().Year() = %d, want 2030", got)
	}
}

func ExampleSim() {
	c := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c.Add(90 * time.Second)
	fmt.Println(c.Now().Format(time.RFC3339))
	// Output: 2026-01-01T00:01:30Z
}

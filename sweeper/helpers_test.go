package sweeper_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

var t0 = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// backlog returns a memstore on a Sim holding expired records that expired
// at t0+1s and live ones that expire an hour later, with the clock at t0+1s.
func backlog(t *testing.T, expired, live int) (*memstore.Store, *clock.Sim) {
	t.Helper()
	ctx := t.Context()
	clk := clock.NewSim(t0)
	ms := memstore.New(memstore.Options{Clock: clk})
	for i := range expired {
		if err := ms.Create(ctx, idOf("x", i), nil, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for i := range live {
		if err := ms.Create(ctx, idOf("l", i), nil, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Second)
	return ms, clk
}

// Tests that start a sweeper run in a synctest bubble (synctest.Test), not
// for its fake time (the clock is a Sim) but for its deadlock detection: a
// sweeper that missed a wake-up would leave settle blocked forever, and the
// bubble fails the test at once instead of at go test's timeout.

// settle returns once the sweeper is waiting on clk again, that is, once it
// has done everything the last move of the clock let it do. The sweeper is
// the clock's only waiter.
func settle(t *testing.T, clk *clock.Sim) {
	t.Helper()
	if err := clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
}

// advance lets the sweeper reach its wait, moves the clock to the wait's
// deadline, lets the sweeper act on it and returns the new reading.
func advance(t *testing.T, clk *clock.Sim) time.Time {
	t.Helper()
	settle(t, clk)
	next, ok := clk.Next()
	if !ok {
		t.Fatal("nothing waits on the clock")
	}
	clk.Set(next)
	settle(t, clk)
	return next
}

// wantNext checks the sweeper's pending deadline.
func wantNext(t *testing.T, clk *clock.Sim, want time.Time) {
	t.Helper()
	if next, ok := clk.Next(); !ok || !next.Equal(want) {
		t.Fatalf("next wake-up (%v, %v), want (%v, true)", next, ok, want)
	}
}

// logBuffer collects slog text output, without timestamps, safely across
// goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the records logged so far, one per line.
func (b *logBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSuffix(b.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// flaky is a store whose DeleteExpired fails when fail says so. It embeds
// the interface, not memstore's type, so that store.Sweep cannot reach past
// it to a backend Sweep method.
type flaky struct {
	store.Store
	fail func(call int) error

	mu    sync.Mutex
	calls int
}

func (f *flaky) DeleteExpired(ctx context.Context, limit int) (int, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.mu.Unlock()
	if err := f.fail(call); err != nil {
		return 0, err
	}
	return f.Store.DeleteExpired(ctx, limit)
}

func (f *flaky) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func wantStats(t *testing.T, got, want sweeperStats) {
	t.Helper()
	if got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// sweeperStats is the comparable part of sweeper.Stats.
type sweeperStats struct{ Runs, Errors, Steps, Removed int }

func idOf(prefix string, i int) store.ID { return store.ID(fmt.Sprintf("%s%07d", prefix, i)) }

// wantLines checks the log, line for line.
func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

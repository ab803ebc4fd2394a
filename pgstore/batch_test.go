package pgstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// The hand-written text[] encoder (RevokeAll's except) must agree with
// pgx's, byte for byte; an empty array is sent as array_send sends '{}'
// (no dimensions), where pgx sends one dimension of length 0.
func TestTextArrayCodecMatchesPgx(t *testing.T) {
	var empty args
	if got := empty.textArray(nil).list()[0]; !slices.Equal(got, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25}) {
		t.Errorf("the empty array encoded as %x", got)
	}
	for _, ids := range [][]store.ID{{"a"}, {"a", "bc", store.ID(strings.Repeat("x", store.MaxIDLen))}} {
		var a args
		got := a.textArray(ids).list()[0]
		strs := make([]string, len(ids))
		for i, id := range ids {
			strs[i] = string(id)
		}
		want, err := typeMap.Encode(oidTextArray, pgtype.BinaryFormatCode, strs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: encoded %x, pgx encodes %x", ids, got, want)
		}
	}
}

// The owner operations' statements, batches included, are prepared again
// when the server dropped them behind pgx's back.
func TestOwnerStatementsDeallocatedBehindPgx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := onePool(t, nil)
	clk := clock.NewSim(t0)
	s := newStoreOn(t, pool, Options{Clock: clk})
	deallocate := func() {
		t.Helper()
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		if _, err := c.Conn().PgConn().Exec(ctx, "DEALLOCATE ALL").ReadAll(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(ctx, "anon", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"create owned", func() error { return s.CreateOwned(ctx, "a", "alice", nil, time.Hour, 0) }},
		{"create capped", func() error { return s.CreateOwned(ctx, "b", "alice", nil, time.Hour, 5) }},
		{"cycle", func() error { return s.Cycle(ctx, "anon", "c", "", nil, time.Hour, 0) }},
		{"cycle capped", func() error { return s.Cycle(ctx, "c", "d", "alice", nil, time.Hour, 5) }},
		{"list", func() error { _, err := s.List(ctx, "alice"); return err }},
		{"touch", func() error { clk.Add(time.Second); _, err := s.Touch(ctx, "a", time.Hour, 0); return err }},
		{"revoke", func() error { return s.Revoke(ctx, "alice", store.HandleOf("b")) }},
		{"revoke all", func() error { _, err := s.RevokeAll(ctx, "alice", "a"); return err }},
	}
	for _, step := range steps {
		if err := step.do(); err != nil { // prepares the statements
			t.Fatalf("%s: %v", step.name, err)
		}
		deallocate()
		if err := step.do(); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrDuplicateID) {
			t.Errorf("%s after DEALLOCATE ALL: %v", step.name, err)
		}
	}
	got, err := s.List(ctx, "alice")
	if err != nil || len(got) != 1 || got[0].Handle != store.HandleOf("a") {
		t.Errorf("List = %v, %v; want a alone", got, err)
	}
}

// A tracer sees each statement of a batch, with its outcome and without
// arguments.
func TestTracerSeesBatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rec := &traceRecorder{}
	pool := siblingPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = rec })
	s := newStoreOn(t, pool, Options{Clock: clock.NewSim(t0)})
	if err := s.CreateOwned(ctx, "secret-id", "secret-owner", []byte("secret-state"), time.Hour, 2); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{s.sql.begin.sql, s.sql.ownerLock.sql, s.sql.createRoomy.sql, s.sql.commit.sql} // room under the cap
	n := len(rec.starts)
	if n < len(want) || len(rec.ends) != n {
		t.Fatalf("%d starts and %d ends traced", n, len(rec.ends))
	}
	for i, w := range want {
		j := n - len(want) + i // Migrate's statements come first
		if rec.starts[j].SQL != w || rec.starts[j].Args != nil {
			t.Errorf("trace %d: %q with %v, want %q without arguments", j, rec.starts[j].SQL, rec.starts[j].Args, w)
		}
		if rec.ends[j].Err != nil {
			t.Errorf("trace %d ended with %v", j, rec.ends[j].Err)
		}
		if strings.Contains(rec.starts[j].SQL, "secret") {
			t.Errorf("a traced statement carries session data: %q", rec.starts[j].SQL)
		}
	}
}

package pgstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/store"
)

// dump lists every row of f's table, for comparing before and after.
func (f *fixture) dump() []string {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT id || '|' || encode(state, 'hex') || '|' || expires::text || '|' || coalesce(owner, '-')
		FROM `+f.s.Table()+` ORDER BY id COLLATE "C"`)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// ownerWrites are the operations on alice's sessions that must lock her
// row "a1" (live, extendable by Touch, at a1Version): each runs into
// whatever holds it.
func ownerWrites(ctx context.Context, s *Store) map[string]func() error {
	return map[string]func() error{
		// At the cap (alice has a1 and a2): the login must lock her rows.
		"CreateOwned capped": func() error { return s.CreateOwned(ctx, "n1", "alice", nil, time.Hour, 2) },
		"Cycle":              func() error { return s.Cycle(ctx, "a1", "n2", "", nil, time.Hour, 0) },
		"Cycle owned":        func() error { return s.Cycle(ctx, "a1", "n2", "bob", nil, time.Hour, 0) },
		"Cycle capped":       func() error { return s.Cycle(ctx, "plain", "n3", "alice", nil, time.Hour, 3) },
		"Revoke":             func() error { return s.Revoke(ctx, "alice", store.HandleOf("a1")) },
		"RevokeAll":          func() error { _, err := s.RevokeAll(ctx, "alice"); return err },
		"Touch":              func() error { _, err := s.Touch(ctx, "a1", 2*time.Hour, 0); return err },
		"UpdateIf":           func() error { _, err := s.UpdateIf(ctx, "a1", a1Version, nil, time.Hour); return err },
		"ChangeIDIf":         func() error { _, err := s.ChangeIDIf(ctx, "a1", "n5", a1Version, nil); return err },
	}
}

// a1Version is the version ownedFixture creates a1 at.
var a1Version = store.FirstVersion("a1", "alice", []byte("a1"), t0.Add(time.Hour))

func ownedFixture(t *testing.T) *fixture {
	f := newFixture(t)
	for _, id := range []store.ID{"a1", "a2"} {
		if err := f.s.CreateOwned(f.ctx, id, "alice", []byte(id), time.Hour, 0); err != nil {
			t.Fatal(err)
		}
	}
	f.mustCreate("plain", "p", time.Hour)
	return f
}

// A batch the server cancels (statement_timeout) while a step waits is
// rolled back whole, the advisory lock its first step took included: the
// error is definite, nothing is half-written, and the same operations
// succeed once the row is free.
func TestOwnerWritesTimedOutChangeNothing(t *testing.T) {
	t.Parallel()
	f := ownedFixture(t)
	before := f.dump()
	release := lockRow(t, f, "a1")
	slow := siblingPool(t, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = "150"
	})
	s := newStoreOn(t, slow, Options{Clock: f.clk, Table: f.table})
	for op, run := range ownerWrites(f.ctx, s) {
		err := run()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "57014" || store.IsAmbiguous(err) {
			t.Errorf("%s on a locked row: %v, want a definite query_canceled (57014)", op, err)
		}
	}
	if after := f.dump(); !slices.Equal(before, after) {
		t.Fatalf("the timed-out operations changed the table:\nbefore %v\nafter  %v", before, after)
	}
	// A login with room under the cap locks no row: the held row does not
	// stop it.
	if err := s.CreateOwned(f.ctx, "n4", "alice", nil, time.Hour, 5); err != nil {
		t.Errorf("CreateOwned with room beside a locked row: %v", err)
	}
	release()
	if err := s.CreateOwned(f.ctx, "n1", "alice", nil, time.Hour, 3); err != nil {
		t.Fatalf("CreateOwned once the row is free: %v", err)
	}
	if n, err := s.RevokeAll(f.ctx, "alice"); err != nil || n != 3 {
		t.Fatalf("RevokeAll once the row is free: %d, %v", n, err)
	}
}

// A batch cancelled by its context while the server works on it is
// ambiguous, and final when it is returned: the table is then either as
// before or as after, and stays so.
func TestOwnerWriteCancelledInFlightIsAmbiguous(t *testing.T) {
	t.Parallel()
	f := ownedFixture(t)
	before := f.dump()
	release := lockRow(t, f, "a1")
	ctx, cancel := context.WithTimeout(f.ctx, 200*time.Millisecond)
	defer cancel()
	err := f.s.CreateOwned(ctx, "n1", "alice", nil, time.Hour, 1)
	if !store.IsAmbiguous(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CreateOwned cancelled in flight: %v, want ambiguous and DeadlineExceeded", err)
	}
	settled := f.dump()
	release()
	if after := f.dump(); !slices.Equal(after, settled) {
		t.Fatalf("the outcome changed after the error was returned:\n%v\nthen\n%v", settled, after)
	}
	// The lock was never taken past the cancel: the outcome is "not
	// applied".
	if !slices.Equal(settled, before) {
		t.Fatalf("a cancelled CreateOwned changed the table:\nbefore %v\nafter  %v", before, settled)
	}
}

// waitingOn waits until n backends of the pool named app wait on a lock of
// the given kind ("advisory", "tuple", "transactionid").
func waitingOn(t *testing.T, f *fixture, app, event string, n int) {
	t.Helper()
	waitForLockWaiters(t, f, n, "application_name = $1 AND wait_event = $2", app, event)
}

// Operations that add to an owner's sessions, or read them to change them,
// take turns per owner: while a capped login waits on one of alice's rows,
// another login of hers (even without a cap) and her RevokeAll wait for
// it, and bob's login does not. An uncapped login slipping in between the
// capped one's reading of her sessions and its commit could leave her over
// the cap at a point a List could see.
func TestOwnerOperationsTakeTurnsPerOwner(t *testing.T) {
	t.Parallel()
	f := ownedFixture(t)
	app := randomName("turns_")
	pool := siblingPool(t, func(cfg *pgxpool.Config) {
		cfg.MaxConns = 8
		cfg.ConnConfig.RuntimeParams["application_name"] = app
	})
	s := newStoreOn(t, pool, Options{Clock: f.clk, Table: f.table})
	release := lockRow(t, f, "a1")
	capped := async(func() error { return s.CreateOwned(f.ctx, "c1", "alice", []byte("c1"), 2*time.Hour, 2) })
	waitingOn(t, f, app, "transactionid", 1) // the prelock, on a1
	uncapped := async(func() error { return s.CreateOwned(f.ctx, "c2", "alice", []byte("c2"), 3*time.Hour, 0) })
	cycled := async(func() error { return s.Cycle(f.ctx, "plain", "c3", "alice", []byte("c3"), 4*time.Hour, 0) })
	revoked := async(func() error { _, err := s.RevokeAll(f.ctx, "alice", "c3"); return err })
	waitingOn(t, f, app, "advisory", 3)
	if err := s.CreateOwned(f.ctx, "b1", "bob", nil, time.Hour, 1); err != nil {
		t.Fatalf("bob's login beside alice's: %v", err)
	}
	release()
	// The capped login went first: with a1 and a2 live, cap 2 evicts a1.
	if err := <-capped; err != nil {
		t.Fatal(err)
	}
	for _, done := range []chan error{uncapped, cycled, revoked} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(f.ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// What is left depends on the order of the last three (RevokeAll
	// spares c3, before or after it came).
	if len(got) == 0 || len(got) > 3 || !slices.ContainsFunc(got, func(o store.OwnedSession) bool { return o.Handle == store.HandleOf("c3") }) {
		t.Fatalf("alice's sessions: %v", got)
	}
	if _, err := s.Load(f.ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a1 survived the capped login: %v", err)
	}
}

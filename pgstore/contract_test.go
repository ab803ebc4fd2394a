package pgstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// One test per row of the contract table (shared/SEMANTICS.md). Time moves
// only through the simulated clock.

func TestCreateAndLoad(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "state-a", time.Hour)
	f.wantRecord("a", "state-a", t0.Add(time.Hour))

	// Empty and nil states are both stored as empty, never as NULL.
	f.mustCreate("empty", "", time.Hour)
	if err := f.s.Create(f.ctx, "nil", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, id := range []store.ID{"empty", "nil"} {
		rec, err := f.s.Load(f.ctx, id)
		if err != nil || len(rec.State) != 0 {
			t.Fatalf("Load(%s) = %q, %v; want an empty state", id, rec.State, err)
		}
	}
	f.wantNotFound("absent")

	// The caller owns what Load returns.
	rec, _ := f.s.Load(f.ctx, "a")
	rec.State[0] = 'X'
	f.wantRecord("a", "state-a", t0.Add(time.Hour))
}

// Live while now < expires, expired from expires on, with no gap; the clock
// reading is truncated to whole microseconds first.
func TestExpiryBoundary(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "s", 10*time.Second)
	expires := t0.Add(10 * time.Second)

	f.clk.Set(expires.Add(-time.Microsecond))
	f.wantRecord("a", "s", expires)
	f.clk.Set(expires.Add(-time.Nanosecond)) // truncates to expires-1µs: still live
	f.wantRecord("a", "s", expires)
	f.clk.Set(expires)
	f.wantNotFound("a")
	f.clk.Set(expires.Add(time.Nanosecond))
	f.wantNotFound("a")

	// The clock may go back (an NTP step): the record is live again,
	// because nothing removed it.
	f.clk.Set(expires.Add(-time.Microsecond))
	f.wantRecord("a", "s", expires)
}

func TestSubMicrosecondTruncation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// now = t0+999ns truncates to t0; expires = t0+1.5µs truncates to t0+1µs.
	f.clk.Set(t0.Add(999 * time.Nanosecond))
	f.mustCreate("a", "s", 1500*time.Nanosecond)
	f.wantRecord("a", "s", t0.Add(time.Microsecond))
	f.clk.Set(t0.Add(time.Microsecond))
	f.wantNotFound("a")

	// A TTL shorter than the resolution expires at once: the record is
	// written already expired, and a second Create replaces it.
	f.clk.Set(t0.Add(5 * time.Microsecond))
	f.mustCreate("b", "first", 999*time.Nanosecond)
	f.wantNotFound("b")
	f.mustCreate("b", "second", time.Second)
	f.wantRecord("b", "second", t0.Add(5*time.Microsecond+time.Second))
	if n := f.rows(); n != 2 {
		t.Fatalf("%d rows, want 2 (a expired, b replaced in place)", n)
	}
}

func TestCreateOverLiveAndExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "old", time.Minute)
	wantErr(t, "Create over a live record", f.s.Create(f.ctx, "a", []byte("new"), time.Hour), store.ErrDuplicateID)
	f.wantRecord("a", "old", t0.Add(time.Minute))

	f.clk.Set(t0.Add(time.Minute)) // a expires exactly now
	f.mustCreate("a", "new", time.Hour)
	f.wantRecord("a", "new", t0.Add(time.Minute+time.Hour))
	if n := f.rows(); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "v1", time.Minute)
	f.clk.Add(30 * time.Second)
	wantErr(t, "Update live", f.s.Update(f.ctx, "a", []byte("v2"), time.Hour), nil)
	f.wantRecord("a", "v2", t0.Add(30*time.Second+time.Hour))
	wantErr(t, "Update with a nil state", f.s.Update(f.ctx, "a", nil, time.Hour), nil)
	f.wantRecord("a", "", t0.Add(30*time.Second+time.Hour))

	// Absent: nothing is inserted.
	wantErr(t, "Update absent", f.s.Update(f.ctx, "b", []byte("x"), time.Hour), store.ErrNotFound)
	f.wantNotFound("b")

	// Expired: never brought back, not even physically rewritten.
	f.mustCreate("c", "c1", time.Second)
	f.clk.Add(time.Second)
	wantErr(t, "Update expired", f.s.Update(f.ctx, "c", []byte("c2"), time.Hour), store.ErrNotFound)
	f.wantNotFound("c")
	f.clk.Add(-time.Microsecond) // c's last live instant: the old record is untouched
	f.wantRecord("c", "c1", t0.Add(30*time.Second+time.Second))
}

func TestUpdateTTL(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("a", "keep", time.Minute)
	f.clk.Add(59 * time.Second)
	wantErr(t, "UpdateTTL live", f.s.UpdateTTL(f.ctx, "a", 10*time.Minute), nil)
	f.wantRecord("a", "keep", t0.Add(59*time.Second+10*time.Minute))
	// Shortening works too: the expiry is set, not extended.
	wantErr(t, "UpdateTTL shorter", f.s.UpdateTTL(f.ctx, "a", time.Second), nil)
	f.wantRecord("a", "keep", t0.Add(60*time.Second))

	wantErr(t, "UpdateTTL absent", f.s.UpdateTTL(f.ctx, "b", time.Hour), store.ErrNotFound)
	f.wantNotFound("b")
	f.clk.Set(t0.Add(60 * time.Second))
	wantErr(t, "UpdateTTL expired", f.s.UpdateTTL(f.ctx, "a", time.Hour), store.ErrNotFound)
	f.wantNotFound("a")
}

func TestDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("live", "s", time.Minute)
	f.mustCreate("expired", "s", time.Second)
	f.clk.Add(time.Second)

	wantErr(t, "Delete live", f.s.Delete(f.ctx, "live"), nil)
	f.wantNotFound("live")
	wantErr(t, "Delete again", f.s.Delete(f.ctx, "live"), store.ErrNotFound)
	wantErr(t, "Delete absent", f.s.Delete(f.ctx, "never"), store.ErrNotFound)

	// Expired: reported as not found, but removed all the same.
	wantErr(t, "Delete expired", f.s.Delete(f.ctx, "expired"), store.ErrNotFound)
	if n := f.rows(); n != 0 {
		t.Fatalf("%d rows left, want 0: Delete must remove an expired record", n)
	}
	if n, err := f.s.DeleteExpired(f.ctx, 0); n != 0 || err != nil {
		t.Fatalf("DeleteExpired = %d, %v; want 0", n, err)
	}
}

func TestChangeID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	exp := t0.Add(time.Hour)

	f.mustCreate("old", "s", time.Hour)
	wantErr(t, "ChangeID to an absent ID", f.s.ChangeID(f.ctx, "old", "new"), nil)
	f.wantNotFound("old")
	f.wantRecord("new", "s", exp)
	if n := f.rows(); n != 1 {
		t.Fatalf("%d rows, want 1: nothing may be left at old", n)
	}

	wantErr(t, "ChangeID from an absent ID", f.s.ChangeID(f.ctx, "nobody", "other"), store.ErrNotFound)
	f.wantNotFound("other")

	f.mustCreate("taken", "t", 2*time.Hour)
	wantErr(t, "ChangeID onto a live ID", f.s.ChangeID(f.ctx, "new", "taken"), store.ErrDuplicateID)
	f.wantRecord("new", "s", exp)
	f.wantRecord("taken", "t", t0.Add(2*time.Hour))

	wantErr(t, "ChangeID(live, itself)", f.s.ChangeID(f.ctx, "new", "new"), store.ErrDuplicateID)
	f.wantRecord("new", "s", exp)
	wantErr(t, "ChangeID(absent, itself)", f.s.ChangeID(f.ctx, "nobody", "nobody"), store.ErrNotFound)

	// An expired source is not live: ErrNotFound, even onto a live target.
	f.mustCreate("short", "x", time.Second)
	f.clk.Add(time.Second)
	wantErr(t, "ChangeID from an expired ID", f.s.ChangeID(f.ctx, "short", "fresh"), store.ErrNotFound)
	wantErr(t, "ChangeID from expired onto live", f.s.ChangeID(f.ctx, "short", "taken"), store.ErrNotFound)
	wantErr(t, "ChangeID(expired, itself)", f.s.ChangeID(f.ctx, "short", "short"), store.ErrNotFound)
	f.wantRecord("taken", "t", t0.Add(2*time.Hour))
}

// The target holds an expired record: its row takes the session in place
// and the source's row goes, in one statement whose parts must run in
// their order. Repeated, because a wrong order would show only now and
// then.
func TestChangeIDOntoExpiredTarget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 50; i++ {
		f.clk.Set(t0)
		if _, err := f.pool.Exec(f.ctx, "TRUNCATE "+f.s.Table()); err != nil {
			t.Fatal(err)
		}
		f.mustCreate("target", "stale", time.Second)
		f.mustCreate("source", "live", time.Hour)
		f.clk.Set(t0.Add(time.Second)) // target expires exactly now
		if err := f.s.ChangeID(f.ctx, "source", "target"); err != nil {
			t.Fatalf("round %d: ChangeID onto an expired target: %v", i, err)
		}
		f.wantRecord("target", "live", t0.Add(time.Hour))
		f.wantNotFound("source")
		if n := f.rows(); n != 1 {
			t.Fatalf("round %d: %d rows, want 1", i, n)
		}
	}
}

// A ChangeID that fails leaves an expired record at the target alone: it is
// still there for DeleteExpired to count, as in the model.
func TestFailedChangeIDKeepsExpiredTarget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustCreate("target", "stale", time.Second)
	f.mustCreate("gone-source", "x", time.Second)
	f.clk.Add(time.Second)
	wantErr(t, "ChangeID from expired onto expired", f.s.ChangeID(f.ctx, "gone-source", "target"), store.ErrNotFound)
	wantErr(t, "ChangeID from absent onto expired", f.s.ChangeID(f.ctx, "absent", "target"), store.ErrNotFound)
	if n, err := f.s.DeleteExpired(f.ctx, 0); n != 2 || err != nil {
		t.Fatalf("DeleteExpired = %d, %v; want both expired records still there", n, err)
	}
}

func TestDeleteExpiredOrderAndLimits(t *testing.T) {
	t.Parallel()
	// Expiries (seconds after t0) and IDs; ties are broken by byte order,
	// in which '-' < '0' < 'B' < 'Z' < '_' < 'a'.
	records := []struct {
		id  store.ID
		ttl time.Duration
	}{
		{"a", 1 * time.Second}, {"B", 1 * time.Second}, {"_", 1 * time.Second},
		{"-", 2 * time.Second}, {"Z", 2 * time.Second}, {"0", 2 * time.Second},
		{"first", 500 * time.Millisecond},
		{"live", time.Hour},
	}
	wantOrder := []store.ID{"first", "B", "_", "a", "-", "0", "Z"}

	for _, limit := range []int{1, 3, 4, 7, 8, 100, 0} {
		f := newFixture(t)
		for _, r := range records {
			f.mustCreate(r.id, "s", r.ttl)
		}
		f.clk.Add(2 * time.Second) // everything but "live" has expired
		n, err := f.s.DeleteExpired(f.ctx, limit)
		if err != nil {
			t.Fatal(err)
		}
		want := len(wantOrder)
		if limit > 0 && limit < want {
			want = limit
		}
		if n != want {
			t.Fatalf("DeleteExpired(%d) = %d, want %d", limit, n, want)
		}
		// The survivors are exactly the tail of the order.
		var left []store.ID
		rows, err := f.pool.Query(f.ctx, "SELECT id FROM "+f.s.Table()+" WHERE id <> 'live' ORDER BY expires, id COLLATE \"C\"")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			left = append(left, store.ID(id))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if got, wantLeft := join(left), join(wantOrder[want:]); got != wantLeft {
			t.Fatalf("DeleteExpired(%d) left %s, want %s", limit, got, wantLeft)
		}
		f.wantRecord("live", "s", t0.Add(time.Hour))
		// Nothing expired is left after a pass without limit.
		if n, err := f.s.DeleteExpired(f.ctx, 0); n != len(wantOrder)-want || err != nil {
			t.Fatalf("second DeleteExpired(0) = %d, %v; want %d", n, err, len(wantOrder)-want)
		}
	}
}

func TestDeleteExpiredEmptyAndBoundary(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if n, err := f.s.DeleteExpired(f.ctx, 0); n != 0 || err != nil {
		t.Fatalf("DeleteExpired on an empty table = %d, %v", n, err)
	}
	f.mustCreate("a", "s", time.Second)
	f.clk.Add(time.Second - time.Microsecond)
	if n, _ := f.s.DeleteExpired(f.ctx, 0); n != 0 {
		t.Fatalf("removed %d records 1µs before they expire", n)
	}
	f.clk.Add(time.Microsecond)
	if n, _ := f.s.DeleteExpired(f.ctx, 0); n != 1 {
		t.Fatalf("removed %d records at their expiry, want 1", n)
	}
}

// Invalid arguments are rejected before anything is sent: the store here is
// on a pool that cannot connect, and counts its attempts.
func TestValidationNeverReachesTheServer(t *testing.T) {
	t.Parallel()
	pool, attempts := unreachablePool(t)
	s, err := New(pool, Options{Limits: store.Limits{MaxStateSize: 4, MaxTTL: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	long := store.ID(strings.Repeat("a", store.MaxIDLen+1))
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"Create empty ID", s.Create(ctx, "", nil, time.Second), store.ErrInvalidID},
		{"Create bad byte", s.Create(ctx, "a.b", nil, time.Second), store.ErrInvalidID},
		{"Create long ID", s.Create(ctx, long, nil, time.Second), store.ErrInvalidID},
		{"Create zero TTL", s.Create(ctx, "a", nil, 0), store.ErrInvalidTTL},
		{"Create negative TTL", s.Create(ctx, "a", nil, -time.Second), store.ErrInvalidTTL},
		{"Create TTL over max", s.Create(ctx, "a", nil, time.Hour+time.Nanosecond), store.ErrInvalidTTL},
		{"Create too large", s.Create(ctx, "a", []byte("12345"), time.Second), store.ErrTooLarge},
		{"Create ID before TTL", s.Create(ctx, "", nil, 0), store.ErrInvalidID},
		{"Create TTL before size", s.Create(ctx, "a", []byte("12345"), 0), store.ErrInvalidTTL},
		{"Update bad ID", s.Update(ctx, "a b", nil, time.Second), store.ErrInvalidID},
		{"Update bad TTL", s.Update(ctx, "a", nil, 0), store.ErrInvalidTTL},
		{"Update too large", s.Update(ctx, "a", []byte("12345"), time.Second), store.ErrTooLarge},
		{"UpdateTTL bad ID", s.UpdateTTL(ctx, "", time.Second), store.ErrInvalidID},
		{"UpdateTTL bad TTL", s.UpdateTTL(ctx, "a", 2*time.Hour), store.ErrInvalidTTL},
		{"Delete bad ID", s.Delete(ctx, "é"), store.ErrInvalidID},
		{"ChangeID bad old", s.ChangeID(ctx, "", "b"), store.ErrInvalidID},
		{"ChangeID bad new", s.ChangeID(ctx, "a", "b/c"), store.ErrInvalidID},
		{"ChangeID bad both", s.ChangeID(ctx, "x y", "b/c"), store.ErrInvalidID},
	}
	add := func(name string, err, want error) {
		cases = append(cases, struct {
			name string
			err  error
			want error
		}{name, err, want})
	}
	_, err = s.UpdateIf(ctx, "a b", 0, []byte("12345"), 0)
	add("UpdateIf bad ID", err, store.ErrInvalidID)
	_, err = s.UpdateIf(ctx, "a", 0, []byte("12345"), 0)
	add("UpdateIf version 0", err, store.ErrInvalidVersion)
	_, err = s.UpdateIf(ctx, "a", 1, []byte("12345"), 0)
	add("UpdateIf bad TTL", err, store.ErrInvalidTTL)
	_, err = s.UpdateIf(ctx, "a", 1, []byte("12345"), store.KeepTTL)
	add("UpdateIf too large", err, store.ErrTooLarge)
	_, err = s.ChangeIDIf(ctx, "", "b c", 0, []byte("12345"))
	add("ChangeIDIf bad old", err, store.ErrInvalidID)
	_, err = s.ChangeIDIf(ctx, "a", "b c", 0, []byte("12345"))
	add("ChangeIDIf bad new", err, store.ErrInvalidID)
	_, err = s.ChangeIDIf(ctx, "a", "a", 0, []byte("12345"))
	add("ChangeIDIf version 0", err, store.ErrInvalidVersion)
	_, err = s.ChangeIDIf(ctx, "a", "b", 1, []byte("12345"))
	add("ChangeIDIf too large", err, store.ErrTooLarge)
	_, err = s.Scan(ctx, "a.b", 0)
	add("Scan bad after", err, store.ErrInvalidID)
	_, err = s.Scan(ctx, "", 0)
	add("Scan limit 0", err, store.ErrInvalidLimit)
	_, loadErr := s.Load(ctx, "\x00")
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"Load bad ID", loadErr, store.ErrInvalidID})
	n, limitErr := s.DeleteExpired(ctx, -1)
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"DeleteExpired negative", limitErr, store.ErrInvalidLimit})
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
		if store.IsAmbiguous(c.err) {
			t.Errorf("%s: a validation error must be definite", c.name)
		}
	}
	if n != 0 {
		t.Errorf("DeleteExpired(-1) = %d", n)
	}
	if got := attempts.Load(); got != 0 {
		t.Fatalf("%d connection attempts during validation, want 0", got)
	}
	// The same pool does fail once something is sent: the check above is
	// not vacuous.
	if err := s.Create(ctx, "a", nil, time.Second); err == nil || errors.Is(err, store.ErrInvalidID) {
		t.Fatalf("valid Create on an unreachable server: %v, want a connection error", err)
	}
	if attempts.Load() == 0 {
		t.Fatal("no connection attempt for a valid Create")
	}
}

func join(ids []store.ID) string {
	s := "["
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += string(id)
	}
	return s + "]"
}

package model_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const us = time.Microsecond

// at returns the instant d after t0.
func at(d time.Duration) time.Time { return t0.Add(d) }

// world builds a model holding "live" (expires t0+10s) and "dead" (expired
// at t0+1s), observed at t0+5s.
func world(t *testing.T) (*model.Model, time.Time) {
	t.Helper()
	m := model.New(store.Limits{MaxStateSize: 16, MaxTTL: time.Hour})
	must(t, m.Create(t0, "live", []byte("L"), 10*time.Second))
	must(t, m.Create(t0, "dead", []byte("D"), time.Second))
	return m, at(5 * time.Second)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, got, want error) {
	t.Helper()
	if want == nil && got != nil || want != nil && !errors.Is(got, want) {
		t.Fatalf("error = %v, want %v", got, want)
	}
}

// dump renders every physically held record, so a test can state the whole
// effect of an operation, including "none".
func dump(m *model.Model) string {
	var b strings.Builder
	for _, e := range m.Entries() {
		fmt.Fprintf(&b, "%s=%s@%s ", e.ID, e.State, e.Expires.Sub(t0))
	}
	return strings.TrimSpace(b.String())
}

const initial = "dead=D@1s live=L@10s"

func TestTable(t *testing.T) {
	tests := []struct {
		name  string
		op    func(m *model.Model, now time.Time) error
		err   error
		after string // records held afterwards
	}{
		// Create
		{"create/live id is duplicate", func(m *model.Model, now time.Time) error { return m.Create(now, "live", []byte("x"), time.Second) }, store.ErrDuplicateID, initial},
		{"create/expired id is replaced", func(m *model.Model, now time.Time) error { return m.Create(now, "dead", []byte("x"), time.Second) }, nil, "dead=x@6s live=L@10s"},
		{"create/absent id", func(m *model.Model, now time.Time) error { return m.Create(now, "new", []byte("x"), time.Second) }, nil, "dead=D@1s live=L@10s new=x@6s"},
		// Load
		{"load/live", func(m *model.Model, now time.Time) error {
			r, err := m.Load(now, "live")
			if err == nil && (string(r.State) != "L" || !r.Expires.Equal(at(10*time.Second))) {
				return fmt.Errorf("loaded %q@%v", r.State, r.Expires)
			}
			return err
		}, nil, initial},
		{"load/expired", func(m *model.Model, now time.Time) error { _, err := m.Load(now, "dead"); return err }, store.ErrNotFound, initial},
		{"load/absent", func(m *model.Model, now time.Time) error { _, err := m.Load(now, "nope"); return err }, store.ErrNotFound, initial},
		// Update
		{"update/live", func(m *model.Model, now time.Time) error { return m.Update(now, "live", []byte("y"), time.Second) }, nil, "dead=D@1s live=y@6s"},
		{"update/expired never resurrects", func(m *model.Model, now time.Time) error { return m.Update(now, "dead", []byte("y"), time.Second) }, store.ErrNotFound, initial},
		{"update/absent", func(m *model.Model, now time.Time) error { return m.Update(now, "nope", []byte("y"), time.Second) }, store.ErrNotFound, initial},
		// UpdateTTL
		{"update-ttl/live", func(m *model.Model, now time.Time) error { return m.UpdateTTL(now, "live", time.Minute) }, nil, "dead=D@1s live=L@1m5s"},
		{"update-ttl/expired", func(m *model.Model, now time.Time) error { return m.UpdateTTL(now, "dead", time.Minute) }, store.ErrNotFound, initial},
		{"update-ttl/absent", func(m *model.Model, now time.Time) error { return m.UpdateTTL(now, "nope", time.Minute) }, store.ErrNotFound, initial},
		// Delete
		{"delete/live", func(m *model.Model, now time.Time) error { return m.Delete(now, "live") }, nil, "dead=D@1s"},
		{"delete/expired is removed but not found", func(m *model.Model, now time.Time) error { return m.Delete(now, "dead") }, store.ErrNotFound, "live=L@10s"},
		{"delete/absent", func(m *model.Model, now time.Time) error { return m.Delete(now, "nope") }, store.ErrNotFound, initial},
		// ChangeID
		{"change-id/old absent", func(m *model.Model, now time.Time) error { return m.ChangeID(now, "nope", "x") }, store.ErrNotFound, initial},
		{"change-id/old expired", func(m *model.Model, now time.Time) error { return m.ChangeID(now, "dead", "x") }, store.ErrNotFound, initial},
		{"change-id/new live", func(m *model.Model, now time.Time) error {
			must(t, m.Create(now, "other", []byte("O"), time.Second))
			return m.ChangeID(now, "live", "other")
		}, store.ErrDuplicateID, "dead=D@1s live=L@10s other=O@6s"},
		{"change-id/old == new", func(m *model.Model, now time.Time) error { return m.ChangeID(now, "live", "live") }, store.ErrDuplicateID, initial},
		{"change-id/new expired is replaced", func(m *model.Model, now time.Time) error { return m.ChangeID(now, "live", "dead") }, nil, "dead=L@10s"},
		{"change-id/new absent", func(m *model.Model, now time.Time) error { return m.ChangeID(now, "live", "moved") }, nil, "dead=D@1s moved=L@10s"},
		// DeleteExpired
		{"delete-expired/negative limit", func(m *model.Model, now time.Time) error { _, err := m.DeleteExpired(now, -1); return err }, store.ErrInvalidLimit, initial},
		{"delete-expired/all", func(m *model.Model, now time.Time) error {
			n, err := m.DeleteExpired(now, 0)
			if err == nil && n != 1 {
				return fmt.Errorf("removed %d, want 1", n)
			}
			return err
		}, nil, "live=L@10s"},
		// Validation comes first and has no effect.
		{"invalid id", func(m *model.Model, now time.Time) error { return m.Create(now, "no spaces", nil, time.Second) }, store.ErrInvalidID, initial},
		{"invalid ttl zero", func(m *model.Model, now time.Time) error { return m.Update(now, "live", nil, 0) }, store.ErrInvalidTTL, initial},
		{"invalid ttl too long", func(m *model.Model, now time.Time) error { return m.UpdateTTL(now, "live", time.Hour+1) }, store.ErrInvalidTTL, initial},
		{"state too large", func(m *model.Model, now time.Time) error { return m.Update(now, "live", make([]byte, 17), time.Second) }, store.ErrTooLarge, initial},
		{"invalid new id on change-id", func(m *model.Model, now time.Time) error { return m.ChangeID(now, "live", "") }, store.ErrInvalidID, initial},
		{"invalid id on delete", func(m *model.Model, now time.Time) error { return m.Delete(now, "live!") }, store.ErrInvalidID, initial},
		{"invalid id on load", func(m *model.Model, now time.Time) error {
			_, err := m.Load(now, store.ID(strings.Repeat("a", 129)))
			return err
		}, store.ErrInvalidID, initial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, now := world(t)
			wantErr(t, tt.op(m, now), tt.err)
			if got := dump(m); got != tt.after {
				t.Fatalf("records after = %q, want %q", got, tt.after)
			}
		})
	}
}

// The boundary: live while now < expires, expired from expires on, no gap.
func TestExpiryBoundary(t *testing.T) {
	m := model.New(store.Limits{})
	must(t, m.Create(t0, "s", []byte("v"), time.Second))
	exp := at(time.Second)
	if _, err := m.Load(exp.Add(-us), "s"); err != nil {
		t.Fatalf("1µs before expiry: %v, want live", err)
	}
	wantErr(t, func() error { _, err := m.Load(exp, "s"); return err }(), store.ErrNotFound)
	if n, _ := m.DeleteExpired(exp.Add(-us), 0); n != 0 {
		t.Fatalf("reclaimed %d records 1µs before expiry", n)
	}
	if n, _ := m.DeleteExpired(exp, 0); n != 1 {
		t.Fatalf("reclaimed %d records at expiry, want 1", n)
	}
}

// expires = (now + ttl) truncated to whole microseconds.
func TestExpiryTruncated(t *testing.T) {
	m := model.New(store.Limits{})
	now := store.Instant(t0.Add(3 * us))
	must(t, m.Create(now, "s", nil, time.Second+999*time.Nanosecond))
	r, err := m.Load(now, "s")
	must(t, err)
	if want := at(time.Second + 3*us); !r.Expires.Equal(want) {
		t.Fatalf("expires = %v, want %v", r.Expires, want)
	}
}

// Reclaim order is earliest expiry first, ties by ID in byte order, and the
// limit counts exactly.
func TestDeleteExpiredOrder(t *testing.T) {
	for _, limit := range []int{1, 2, 3, 4, 5, 6} {
		m := model.New(store.Limits{})
		// "B" < "Z" < "_" < "a" in bytes; a locale collation would differ.
		for _, id := range []store.ID{"a", "_", "Z", "B"} {
			must(t, m.Create(t0, id, nil, 2*time.Second))
		}
		must(t, m.Create(t0, "z-first", nil, time.Second))
		must(t, m.Create(t0, "live", nil, time.Minute))
		n, err := m.DeleteExpired(at(3*time.Second), limit)
		must(t, err)
		order := []store.ID{"z-first", "B", "Z", "_", "a", "live"}
		wantN := min(limit, 5)
		if n != wantN {
			t.Fatalf("limit %d: removed %d, want %d", limit, n, wantN)
		}
		for i, id := range order {
			_, held := m.Get(id)
			if held != (i >= wantN) {
				t.Fatalf("limit %d: %s held=%v; reclaim order must be %v", limit, id, held, order)
			}
		}
	}
}

// The model must not keep the caller's slice: later mutation is invisible.
func TestStateIsCopied(t *testing.T) {
	m := model.New(store.Limits{})
	b := []byte("abc")
	must(t, m.Create(t0, "s", b, time.Second))
	b[0] = 'X'
	r, err := m.Load(t0, "s")
	must(t, err)
	if string(r.State) != "abc" {
		t.Fatalf("state = %q after caller mutated its slice", r.State)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	m, now := world(t)
	c := m.Clone()
	must(t, c.Delete(now, "live"))
	if !m.Equal(m.Clone()) || m.Equal(c) {
		t.Fatal("Clone shares state with the original, or Equal is wrong")
	}
}

func ExampleModel() {
	m := model.New(store.Limits{})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = m.Create(now, "s1", []byte("cart=3"), time.Minute)
	fmt.Println(m.Update(now.Add(time.Minute), "s1", []byte("cart=4"), time.Minute))
	// Output: hourglass: session not found
}

func TestSweepStep(t *testing.T) {
	m := model.New(store.Limits{})
	// e1 and e2 share an expiry; e0 expires before them and e3 after.
	must(t, m.Create(t0, "e2", nil, 2*us))
	must(t, m.Create(t0, "e1", nil, 2*us))
	must(t, m.Create(t0, "e0", nil, 1*us))
	must(t, m.Create(t0, "e3", nil, 3*us))
	must(t, m.Create(t0, "live", nil, time.Hour))
	now := at(10 * us)
	ids := func(es []model.Entry) string {
		var s []string
		for _, e := range es {
			s = append(s, string(e.ID))
		}
		return strings.Join(s, ",")
	}
	first := m.SweepStep(now, nil, 2)
	if got := ids(first); got != "e0,e1" {
		t.Fatalf("first step removed %s, want e0,e1", got)
	}
	// A record written behind the resume point is left by a step that
	// resumes there, taken by one from the start.
	must(t, m.Create(t0.Add(-time.Hour), "late", nil, us))
	from := first[len(first)-1].Expires
	c := m.Clone()
	if got := ids(m.SweepStep(now, &from, 2)); got != "e2,e3" {
		t.Fatalf("resumed step removed %s, want e2,e3 (ties with the resume point included)", got)
	}
	if got := ids(c.SweepStep(now, nil, 2)); got != "late,e2" {
		t.Fatalf("step from the start removed %s, want late,e2", got)
	}
	if got := dump(m); got != "late=@-59m59.999999s live=@1h0m0s" {
		t.Fatalf("left %q", got)
	}
}

package pgstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// twin runs each operation on a pgstore table and on the reference model
// at the same clock reading, and checks that they give the same answer and
// then hold the same records, expired ones included: every row of the
// contract's table, errors and all, with its effects.
type twin struct {
	*fixture
	m *model.Model
}

func newTwin(t *testing.T, limits store.Limits) *twin {
	t.Helper()
	clk := clock.NewSim(t0)
	pool := testPool(t)
	table := uniqueTable()
	f := &fixture{t: t, ctx: context.Background(), clk: clk, pool: pool, table: table,
		s: newStoreOn(t, pool, Options{Clock: clk, Table: table, Limits: limits})}
	return &twin{fixture: f, m: model.New(limits)}
}

func (w *twin) now() time.Time { return store.Instant(w.clk.Now()) }

// entries reads every row of the table, as the model lists its records.
func (w *twin) entries() []model.Entry {
	w.t.Helper()
	rows, err := w.pool.Query(w.ctx, `SELECT id, state, expires, coalesce(owner, ''), version FROM `+w.s.Table()+` ORDER BY id COLLATE "C"`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []model.Entry
	for rows.Next() {
		var e model.Entry
		var id, owner string
		var version int64
		if err := rows.Scan(&id, &e.State, &e.Expires, &owner, &version); err != nil {
			w.t.Fatal(err)
		}
		e.ID, e.Owner, e.Version = store.ID(id), store.Owner(owner), uint64(version)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// same checks that the answers agree (the same error, message included,
// or none) and that the table holds what the model holds.
func (w *twin) same(what string, got, want error) {
	w.t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		w.t.Fatalf("%s: pgstore said %v, the model %v", what, got, want)
	}
	w.sameState(what)
}

func (w *twin) sameState(what string) {
	w.t.Helper()
	got, want := w.entries(), w.m.Entries()
	if !slices.EqualFunc(got, want, func(a, b model.Entry) bool { return a.ID == b.ID && a.Record.Equal(b.Record) }) {
		w.t.Fatalf("after %s:\npgstore holds %s\nthe model    %s", what, formatEntries(got), formatEntries(want))
	}
}

func formatEntries(es []model.Entry) string {
	s := "{"
	for i, e := range es {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s: %q until %v owner %q v%d", e.ID, e.State, e.Expires.Format(time.TimeOnly+".000000"), e.Owner, e.Version)
	}
	return s + "}"
}

func (w *twin) create(id store.ID, state string, ttl time.Duration) error {
	w.t.Helper()
	got := w.s.Create(w.ctx, id, []byte(state), ttl)
	w.same(fmt.Sprintf("Create(%s)", id), got, w.m.Create(w.now(), id, []byte(state), ttl))
	return got
}

func (w *twin) createOwned(id store.ID, owner store.Owner, state string, ttl time.Duration, cap int) error {
	w.t.Helper()
	got := w.s.CreateOwned(w.ctx, id, owner, []byte(state), ttl, cap)
	want := w.m.CreateOwned(w.now(), id, owner, []byte(state), ttl, cap)
	w.same(fmt.Sprintf("CreateOwned(%s, %q, %v, cap %d)", id, owner, ttl, cap), got, want)
	return got
}

func (w *twin) cycle(old, new store.ID, owner store.Owner, state string, ttl time.Duration, cap int) error {
	w.t.Helper()
	got := w.s.Cycle(w.ctx, old, new, owner, []byte(state), ttl, cap)
	want := w.m.Cycle(w.now(), old, new, owner, []byte(state), ttl, cap)
	w.same(fmt.Sprintf("Cycle(%s, %s, %q, cap %d)", old, new, owner, cap), got, want)
	return got
}

func (w *twin) update(id store.ID, state string, ttl time.Duration) error {
	w.t.Helper()
	got := w.s.Update(w.ctx, id, []byte(state), ttl)
	w.same(fmt.Sprintf("Update(%s)", id), got, w.m.Update(w.now(), id, []byte(state), ttl))
	return got
}

func (w *twin) updateTTL(id store.ID, ttl time.Duration) error {
	w.t.Helper()
	got := w.s.UpdateTTL(w.ctx, id, ttl)
	w.same(fmt.Sprintf("UpdateTTL(%s)", id), got, w.m.UpdateTTL(w.now(), id, ttl))
	return got
}

func (w *twin) changeID(old, new store.ID) error {
	w.t.Helper()
	got := w.s.ChangeID(w.ctx, old, new)
	w.same(fmt.Sprintf("ChangeID(%s, %s)", old, new), got, w.m.ChangeID(w.now(), old, new))
	return got
}

func (w *twin) delete(id store.ID) error {
	w.t.Helper()
	got := w.s.Delete(w.ctx, id)
	w.same(fmt.Sprintf("Delete(%s)", id), got, w.m.Delete(w.now(), id))
	return got
}

func (w *twin) load(id store.ID) (store.Record, error) {
	w.t.Helper()
	got, err := w.s.Load(w.ctx, id)
	want, wantErr := w.m.Load(w.now(), id)
	w.same(fmt.Sprintf("Load(%s)", id), err, wantErr)
	if !got.Equal(want) {
		w.t.Fatalf("Load(%s) = %+v, the model %+v", id, got, want)
	}
	return got, err
}

func (w *twin) list(owner store.Owner) []store.OwnedSession {
	w.t.Helper()
	got, err := w.s.List(w.ctx, owner)
	want, wantErr := w.m.List(w.now(), owner)
	w.same(fmt.Sprintf("List(%q)", owner), err, wantErr)
	if (got == nil) != (want == nil) || !slices.EqualFunc(got, want, func(a, b store.OwnedSession) bool {
		return a.Handle == b.Handle && a.Expires.Equal(b.Expires) && a.Expires.Location() == time.UTC
	}) {
		w.t.Fatalf("List(%q) = %v, the model %v", owner, got, want)
	}
	return got
}

func (w *twin) revoke(owner store.Owner, h store.Handle) error {
	w.t.Helper()
	got := w.s.Revoke(w.ctx, owner, h)
	w.same(fmt.Sprintf("Revoke(%q, %s)", owner, h), got, w.m.Revoke(w.now(), owner, h))
	return got
}

func (w *twin) revokeAll(owner store.Owner, except ...store.ID) int {
	w.t.Helper()
	got, err := w.s.RevokeAll(w.ctx, owner, except...)
	want, wantErr := w.m.RevokeAll(w.now(), owner, except...)
	w.same(fmt.Sprintf("RevokeAll(%q, %v)", owner, except), err, wantErr)
	if got != want {
		w.t.Fatalf("RevokeAll(%q, %v) = %d, the model %d", owner, except, got, want)
	}
	return got
}

func (w *twin) touch(id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	w.t.Helper()
	got, err := w.s.Touch(w.ctx, id, ttl, resolution)
	want, wantErr := w.m.Touch(w.now(), id, ttl, resolution)
	w.same(fmt.Sprintf("Touch(%s, %v, %v)", id, ttl, resolution), err, wantErr)
	if !got.Equal(want) || (err == nil && got.Expires.Location() != time.UTC) {
		w.t.Fatalf("Touch(%s, %v, %v) = %+v, the model %+v", id, ttl, resolution, got, want)
	}
	return got, err
}

func (w *twin) updateIf(id store.ID, version uint64, state string, ttl time.Duration) (uint64, error) {
	w.t.Helper()
	got, err := w.s.UpdateIf(w.ctx, id, version, []byte(state), ttl)
	want, wantErr := w.m.UpdateIf(w.now(), id, version, []byte(state), ttl)
	w.same(fmt.Sprintf("UpdateIf(%s, v%d, %v)", id, version, ttl), err, wantErr)
	if got != want {
		w.t.Fatalf("UpdateIf(%s, v%d) = v%d, the model v%d", id, version, got, want)
	}
	return got, err
}

func (w *twin) changeIDIf(old, new store.ID, version uint64, state string) (uint64, error) {
	w.t.Helper()
	got, err := w.s.ChangeIDIf(w.ctx, old, new, version, []byte(state))
	want, wantErr := w.m.ChangeIDIf(w.now(), old, new, version, []byte(state))
	w.same(fmt.Sprintf("ChangeIDIf(%s, %s, v%d)", old, new, version), err, wantErr)
	if got != want {
		w.t.Fatalf("ChangeIDIf(%s, %s, v%d) = v%d, the model v%d", old, new, version, got, want)
	}
	return got, err
}

func (w *twin) scan(after store.ID, limit int) ([]store.ID, error) {
	w.t.Helper()
	got, err := w.s.Scan(w.ctx, after, limit)
	want, wantErr := w.m.Scan(w.now(), after, limit)
	w.same(fmt.Sprintf("Scan(%q, %d)", after, limit), err, wantErr)
	if (got == nil) != (want == nil) || !slices.Equal(got, want) {
		w.t.Fatalf("Scan(%q, %d) = %q, the model %q", after, limit, got, want)
	}
	return got, err
}

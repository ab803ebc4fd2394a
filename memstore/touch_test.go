package memstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

// slide calls Touch(id, ttl, res) and, on success, expects the record it
// returns to expire at t0+exp and to be exactly what Load then returns.
func slide(id store.ID, ttl, res, exp time.Duration, want error) step {
	return step{fmt.Sprintf("Touch(%s, %v, res %v)", id, ttl, res), func(t *testing.T, f *fixture) {
		rec, err := f.s.Touch(ctx, id, ttl, res)
		wantErr(t, "Touch", err, want)
		if err != nil {
			return
		}
		if !rec.Expires.Equal(t0.Add(exp)) || rec.Expires.Location() != time.UTC {
			t.Fatalf("Touch(%q) expires %v, want %v UTC", id, rec.Expires, t0.Add(exp))
		}
		got, err := f.s.Load(ctx, id)
		if err != nil || !got.Equal(rec) {
			t.Fatalf("Touch(%q) returned %+v, then Load = %+v, %v", id, rec, got, err)
		}
	}}
}

func TestTouch(t *testing.T) {
	const min = time.Minute
	runScenarios(t, memstore.Options{}, []scenario{
		{"forward by exactly the resolution: written", []step{
			createOwned("a", "u", "v", 10*min, 0, nil), at(min),
			slide("a", 10*min, min, 11*min, nil), owned("a", "v", 11*min, "u"),
		}},
		{"forward by a microsecond less than the resolution: not written", []step{
			createOwned("a", "u", "v", 10*min, 0, nil), at(min - us),
			slide("a", 10*min, min, 10*min, nil), owned("a", "v", 10*min, "u"),
		}},
		{"never shortens", []step{
			create("a", "v", time.Hour, nil), at(min),
			slide("a", 10*min, 0, time.Hour, nil), load("a", "v", time.Hour),
		}},
		{"resolution 0: any move forward is written, none is not", []step{
			create("a", "v", sec, nil), at(us),
			slide("a", sec, 0, sec+us, nil), slide("a", sec, 0, sec+us, nil),
		}},
		{"sub-microsecond clock and TTL truncated", []step{
			create("a", "v", sec, nil), at(sec/2 + 999),
			slide("a", sec+999, 0, sec+sec/2, nil),
		}},
		{"live just before expiry", []step{
			create("a", "v", sec, nil), at(sec - us), slide("a", sec, 0, 2*sec-us, nil),
		}},
		{"expired at the boundary: not found, never revived", []step{
			create("a", "v", sec, nil), at(sec),
			slide("a", time.Hour, 0, 0, store.ErrNotFound),
			missing("a"), holds(1), at(0), load("a", "v", sec),
		}},
		{"absent", []step{slide("a", sec, 0, 0, store.ErrNotFound), holds(0)}},
		{"a written expiry moves the record in reclaim and list order", []step{
			createOwned("a", "u", "", sec, 0, nil), createOwned("b", "u", "", 2*sec, 0, nil),
			slide("a", 3*sec, 0, 3*sec, nil), list("u", listed{"b", 2 * sec}, listed{"a", 3 * sec}),
			at(2 * sec), reclaim(1, 1, nil), missing("b"), load("a", "", 3*sec),
		}},
	})
}

// TestTouchStateIsCopied checks that Touch hands out a copy of the state.
func TestTouchStateIsCopied(t *testing.T) {
	f := newFixture(t, memstore.Options{})
	f.mustCreate(t, "a", "v", sec)
	rec, err := f.s.Touch(ctx, "a", sec, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec.State[0] = 'X'
	f.wantLoad(t, "a", "v", sec)
}

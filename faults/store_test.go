package faults_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// plain is a store.Store and nothing more: memstore with every optional
// method hidden.
type plain struct{ store.Store }

// keyed is a backend with every optional capability and a stored ID of its
// own. UpdateIf, ChangeIDIf and Scan only count their calls and answer a
// fixed value: the test is about what the wrapper does around them.
type keyed struct {
	*memstore.Store
	calls int
}

func (k *keyed) StoredID(id store.ID) store.ID { return "k" + id }

func (k *keyed) UpdateIf(context.Context, store.ID, uint64, []byte, time.Duration) (uint64, error) {
	k.calls++
	return 7, nil
}

func (k *keyed) ChangeIDIf(context.Context, store.ID, store.ID, uint64, []byte) (uint64, error) {
	k.calls++
	return 8, nil
}

func (k *keyed) Scan(context.Context, store.ID, int) ([]store.ID, error) {
	k.calls++
	return []store.ID{"a", "b"}, nil
}

func TestWrapShowsTheBackendsCapabilities(t *testing.T) {
	mem := memstore.New(memstore.Options{Clock: clock.NewSim(t0)})
	for _, s := range []store.Store{plain{mem}, mem, &keyed{Store: mem}} {
		if got, want := view.Has(faults.Wrap(s, faults.New())), view.Has(s); got != want {
			t.Errorf("Wrap(%T) has capabilities %04b, want %04b", s, got, want)
		}
	}
}

func TestWrapForwardsStoredID(t *testing.T) {
	mem := memstore.New(memstore.Options{Clock: clock.NewSim(t0)})
	in := faults.New()
	w := faults.Wrap(&keyed{Store: mem}, in)
	// A fault armed for the next operation must not be spent on StoredID,
	// which is not one.
	in.Arm(faults.FailBefore, 0)
	ctx := in.Begin(t.Context())
	if got := store.StoredID(w, "x"); got != "kx" {
		t.Errorf("StoredID through the wrapper = %q, want %q", got, "kx")
	}
	if got := store.StoredID(faults.Wrap(mem, in), "x"); got != "x" {
		t.Errorf("StoredID over a plain backend = %q, want the ID", got)
	}
	if err := w.Create(ctx, "x", nil, time.Minute); !errors.Is(err, faults.ErrInjected) {
		t.Errorf("Create after StoredID: %v, want the armed fault", err)
	}
	if k := in.End(); k != faults.FailBefore {
		t.Errorf("fired %v, want fail-before", k)
	}
}

// TestWrapFaultsVersionsAndScan runs UpdateIf, ChangeIDIf and Scan under
// each store-level fault and checks each is faulted as every other
// operation: fail-before and fail-lost never reach the backend, fail-after
// does, and only fail-before is definite.
func TestWrapFaultsVersionsAndScan(t *testing.T) {
	ops := []struct {
		name string
		call func(context.Context, store.Store) (any, error)
		want any
	}{
		{"UpdateIf", func(ctx context.Context, s store.Store) (any, error) {
			return s.(store.Versioner).UpdateIf(ctx, "a", 1, nil, time.Minute)
		}, uint64(7)},
		{"ChangeIDIf", func(ctx context.Context, s store.Store) (any, error) {
			return s.(store.Versioner).ChangeIDIf(ctx, "a", "b", 1, nil)
		}, uint64(8)},
		{"Scan", func(ctx context.Context, s store.Store) (any, error) {
			ids, err := s.(store.Scanner).Scan(ctx, "", 10)
			return ids, err
		}, []store.ID{"a", "b"}},
	}
	faultsAndEffects := []struct {
		kind      faults.Kind
		calls     int
		ambiguous bool
	}{
		{0, 1, false},
		{faults.FailBefore, 0, false},
		{faults.FailAfter, 1, true},
		{faults.FailLost, 0, true},
		{faults.NetRefuse, 0, false},
		{faults.NetDrop, 1, true},
	}
	for _, op := range ops {
		for _, fe := range faultsAndEffects {
			k := &keyed{Store: memstore.New(memstore.Options{Clock: clock.NewSim(t0)})}
			in := faults.New()
			w := faults.Wrap(k, in)
			if view.Has(w) != view.Has(k) {
				t.Fatalf("Wrap hides capabilities of the backend")
			}
			if fe.kind != 0 {
				in.Arm(fe.kind, 0)
			}
			got, err := op.call(in.Begin(t.Context()), w)
			fired := in.End()
			if fired != fe.kind {
				t.Errorf("%s under %v: fired %v", op.name, fe.kind, fired)
			}
			if k.calls != fe.calls {
				t.Errorf("%s under %v: the backend was called %d times, want %d", op.name, fe.kind, k.calls, fe.calls)
			}
			if fe.kind == 0 {
				if err != nil || !equal(got, op.want) {
					t.Errorf("%s without a fault = %v, %v; want %v", op.name, got, err, op.want)
				}
				continue
			}
			if !errors.Is(err, faults.ErrInjected) || store.IsAmbiguous(err) != fe.ambiguous {
				t.Errorf("%s under %v: error %v, want ErrInjected, ambiguous %v", op.name, fe.kind, err, fe.ambiguous)
			}
			if !isZero(got) {
				t.Errorf("%s under %v returned %v with its error, want the zero value", op.name, fe.kind, got)
			}
		}
	}
}

func equal(a, b any) bool {
	if x, ok := a.([]store.ID); ok {
		return slices.Equal(x, b.([]store.ID))
	}
	return a == b
}

func isZero(v any) bool {
	switch v := v.(type) {
	case uint64:
		return v == 0
	case []store.ID:
		return v == nil
	}
	return false
}

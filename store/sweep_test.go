package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hourglass-go/hourglass/store"
)

// backlog is a store whose only working operation is DeleteExpired, over
// a count of expired records; it can fail a given call.
type backlog struct {
	store.Store
	expired int
	calls   []int
	failAt  int // 1-based call that fails, 0: none
}

var errStep = errors.New("step failed")

func (b *backlog) DeleteExpired(_ context.Context, limit int) (int, error) {
	b.calls = append(b.calls, limit)
	if len(b.calls) == b.failAt {
		return 0, errStep
	}
	n := min(limit, b.expired)
	b.expired -= n
	return n, nil
}

// sweeper has a Sweep of its own, which store.Sweep must prefer.
type sweeper struct{ backlog }

func (s *sweeper) Sweep(context.Context, int) (int, error) { return 42, nil }

func TestSweepFallsBackOnDeleteExpired(t *testing.T) {
	for _, c := range []struct {
		expired, batch int
		calls          []int
	}{
		{7, 3, []int{3, 3, 3}},
		{6, 3, []int{3, 3, 3}}, // a full last step needs one more to see the end
		{0, 5, []int{5}},
		{2, 5, []int{5}},
	} {
		b := &backlog{expired: c.expired}
		n, err := store.Sweep(context.Background(), b, c.batch)
		if n != c.expired || err != nil || len(b.calls) != len(c.calls) {
			t.Errorf("%d expired, batch %d: Sweep = %d, %v after calls %v; want %d after %v", c.expired, c.batch, n, err, b.calls, c.expired, c.calls)
		}
	}
}

func TestSweepReportsCompletedStepsOnFailure(t *testing.T) {
	b := &backlog{expired: 10, failAt: 3}
	n, err := store.Sweep(context.Background(), b, 4)
	if n != 8 || !errors.Is(err, errStep) {
		t.Fatalf("Sweep failing at its third step = %d, %v; want 8 and the step's error", n, err)
	}
}

func TestSweepRejectsBatchBelowOne(t *testing.T) {
	for _, batch := range []int{0, -1} {
		b := &backlog{expired: 3}
		if n, err := store.Sweep(context.Background(), b, batch); n != 0 || !errors.Is(err, store.ErrInvalidLimit) || len(b.calls) != 0 {
			t.Errorf("Sweep(%d) = %d, %v after %d calls; want ErrInvalidLimit and no call", batch, n, err, len(b.calls))
		}
	}
}

func TestSweepPrefersTheBackendsOwn(t *testing.T) {
	s := &sweeper{backlog{expired: 3}}
	if n, err := store.Sweep(context.Background(), s, 1); n != 42 || err != nil || len(s.calls) != 0 {
		t.Fatalf("Sweep on a Sweeper = %d, %v after %d DeleteExpired calls; want its own answer", n, err, len(s.calls))
	}
}

package pgsim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// The bugs below pass every fault-free run: only a fault exposes them. Each
// is a mistake a real store makes, written over pgstore so that everything
// else is correct.

// twoStepChangeID moves a session with two statements and no transaction:
// check the target, delete the old row, insert the new one. A failure
// between the last two loses the session.
type twoStepChangeID struct {
	*pgstore.Store
	h   *Harness
	clk clock.Clock
}

func (m twoStepChangeID) ChangeID(ctx context.Context, old, new store.ID) error {
	now := store.Instant(m.clk.Now())
	t := pgx.Identifier{m.h.table}.Sanitize()
	var live bool
	if err := m.h.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+t+" WHERE id = $1 AND expires > $2)", string(new), now).Scan(&live); err != nil {
		return store.Ambiguous(err)
	}
	if live {
		return store.ErrDuplicateID
	}
	var state []byte
	var expires time.Time
	err := m.h.pool.QueryRow(ctx, "DELETE FROM "+t+" WHERE id = $1 AND expires > $2 RETURNING state, expires", string(old), now).Scan(&state, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return store.Ambiguous(err)
	}
	if _, err := m.h.pool.Exec(ctx, "INSERT INTO "+t+" (id, state, expires) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires",
		string(new), state, expires); err != nil {
		return store.Ambiguous(err)
	}
	return nil
}

// retriesAmbiguous retries a Create that failed ambiguously: if the first
// attempt committed, the retry meets its own session.
type retriesAmbiguous struct{ *pgstore.Store }

func (m retriesAmbiguous) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	err := m.Store.Create(ctx, id, state, ttl)
	if store.IsAmbiguous(err) {
		// A retry loop backs off before it tries again. Without the pause
		// the retry, on a fresh connection, could beat the dropped request
		// to the row on a loaded machine (CI saw it once in five runs),
		// and the bug would not show.
		time.Sleep(100 * time.Millisecond)
		err = m.Store.Create(ctx, id, state, ttl)
	}
	return err
}

// hidesAmbiguity reports every failure as definite, applied or not.
type hidesAmbiguity struct{ *pgstore.Store }

func (m hidesAmbiguity) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	err := m.Store.Update(ctx, id, state, ttl)
	if store.IsAmbiguous(err) {
		return errors.New(err.Error()) // the bug: the "may have been applied" is lost
	}
	return err
}

// txUpdate updates in an explicit transaction and, when trustSafe is set,
// believes pgconn.SafeToRetry: pgx reports a COMMIT whose answer was lost as
// "conn closed" and safe to retry, although it may have committed.
type txUpdate struct {
	*pgstore.Store
	h         *Harness
	clk       clock.Clock
	trustSafe bool
}

func (m txUpdate) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	now := store.Instant(m.clk.Now())
	err := pgx.BeginFunc(ctx, m.h.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE "+pgx.Identifier{m.h.table}.Sanitize()+" SET state = $2, expires = $3 WHERE id = $1 AND expires > $4",
			string(id), state, store.Expiry(now, ttl), now)
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return err
	})
	switch {
	case err == nil, errors.Is(err, store.ErrNotFound):
		return err
	case m.trustSafe && pgconn.SafeToRetry(err):
		return fmt.Errorf("update failed, safe to retry: %w", err)
	}
	return store.Ambiguous(err)
}

type mutantCase struct {
	name  string
	wrap  func(h *Harness, s *pgstore.Store, clk clock.Clock) store.Store
	fixed func(h *Harness, s *pgstore.Store, clk clock.Clock) store.Store // the same code without the bug; nil: pgstore
	trace string
}

var mutantCases = []mutantCase{
	{
		name: "change-id in two statements",
		wrap: func(h *Harness, s *pgstore.Store, clk clock.Clock) store.Store { return twoStepChangeID{s, h, clk} },
		// The third statement is the insert: the old row is gone already.
		trace: "create a \"w1\" 1m\nfault net-refuse 3\nchange-id a b\nload a\nload b\n",
	},
	{
		name:  "create retried after an ambiguous failure",
		wrap:  func(h *Harness, s *pgstore.Store, clk clock.Clock) store.Store { return retriesAmbiguous{s} },
		trace: "load z\nfault net-drop\ncreate a \"w1\" 1m\nload a\n",
	},
	{
		name:  "applied write reported as a definite failure",
		wrap:  func(h *Harness, s *pgstore.Store, clk clock.Clock) store.Store { return hidesAmbiguity{s} },
		trace: "create a \"w1\" 1m\nfault net-drop\nupdate a \"w2\" 1m\nload a\n",
	},
	{
		name:  "SafeToRetry trusted after a lost COMMIT acknowledgement",
		wrap:  func(h *Harness, s *pgstore.Store, clk clock.Clock) store.Store { return txUpdate{s, h, clk, true} },
		fixed: func(h *Harness, s *pgstore.Store, clk clock.Clock) store.Store { return txUpdate{s, h, clk, false} },
		// Statements: BEGIN, UPDATE, COMMIT. The third one's answer is lost.
		trace: "create a \"w1\" 1m\nfault net-drop 3\nupdate a \"w2\" 1m\nload a\n",
	},
}

func (h *Harness) factoryWith(wrap func(h *Harness, s *pgstore.Store, clk clock.Clock) store.Store) sim.Factory {
	if wrap == nil {
		return h.Factory
	}
	return h.wrapped(func(s *pgstore.Store, _ *pgxpool.Pool, clk clock.Clock) store.Store { return wrap(h, s, clk) })
}

// Each planted bug is caught under its fault, and the same trace passes on
// the correct code: the fault, not the trace, exposes the bug.
func TestFaultOnlyBugsCaught(t *testing.T) {
	h := harness(t)
	ctx := context.Background()
	for _, c := range mutantCases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := sim.ParseTrace(strings.NewReader("start 2026-01-01T00:00:00Z\n" + c.trace))
			if err != nil {
				t.Fatal(err)
			}
			res, err := sim.Run(ctx, tr, h.factoryWith(c.wrap))
			if err != nil {
				t.Fatal(err)
			}
			if res.Divergence == nil {
				t.Fatalf("the planted bug was not caught (fired %v, outcomes %+v):\n%s", res.Faults, res.Outcomes, tr)
			}
			t.Logf("caught:\n%s", res.Divergence)

			res, err = sim.Run(ctx, tr, h.factoryWith(c.fixed))
			if err != nil {
				t.Fatal(err)
			}
			if res.Divergence != nil {
				t.Fatalf("the correct store fails the same trace: %v", res.Divergence)
			}
			noFault := strings.NewReader("start 2026-01-01T00:00:00Z\n" + c.trace)
			tr, _ = sim.ParseTrace(noFault)
			var ops []sim.Op
			for _, op := range tr.Ops {
				if _, ok := op.(sim.Fault); !ok {
					ops = append(ops, op)
				}
			}
			tr.Ops = ops
			if res, err = sim.Run(ctx, tr, h.factoryWith(c.wrap)); err != nil || res.Divergence != nil {
				t.Fatalf("without the fault the buggy store passes, as it should: %v %v", err, res.Divergence)
			}
		})
	}
}

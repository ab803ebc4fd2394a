package redissim

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/redisstore"
	"github.com/hourglass-go/hourglass/store"
)

// runStore is one client's store for the current run: it finds the
// client's current connections at every call, since a server fault
// replaces them, and bounds the operation a Timeout fault is armed for.
type runStore struct {
	h   *Harness
	c   *client
	clk clock.Clock
}

func (h *Harness) runStore(c *client, clk clock.Clock) *runStore {
	return &runStore{h: h, c: c, clk: clk}
}

var (
	_ store.Store              = (*runStore)(nil)
	_ store.Toucher            = (*runStore)(nil)
	_ store.Versioner          = (*runStore)(nil)
	_ store.CapabilityReporter = (*runStore)(nil)
)

// Instance implements sim.Instancer: the same client reading another clock.
func (r *runStore) Instance(clk clock.Clock) store.Store { return r.h.runStore(r.c, clk) }

// Capabilities are redisstore's own.
func (r *runStore) Capabilities() store.Capabilities { return r.c.cur.Load().Capabilities() }

// with runs f on the client's current store.
func with[T any](r *runStore, ctx context.Context, f func(context.Context, *redisstore.Store) (T, error)) (T, error) {
	s, err := r.h.store(r.c, r.clk)
	if err != nil {
		var zero T
		return zero, err
	}
	ctx, cancel := r.h.opContext(ctx)
	defer cancel()
	return f(ctx, s)
}

type none struct{}

func (r *runStore) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	_, err := with(r, ctx, func(ctx context.Context, s *redisstore.Store) (none, error) {
		return none{}, s.Create(ctx, id, state, ttl)
	})
	return err
}

func (r *runStore) Load(ctx context.Context, id store.ID) (store.Record, error) {
	return with(r, ctx, func(ctx context.Context, s *redisstore.Store) (store.Record, error) { return s.Load(ctx, id) })
}

func (r *runStore) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	_, err := with(r, ctx, func(ctx context.Context, s *redisstore.Store) (none, error) {
		return none{}, s.Update(ctx, id, state, ttl)
	})
	return err
}

func (r *runStore) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	_, err := with(r, ctx, func(ctx context.Context, s *redisstore.Store) (none, error) {
		return none{}, s.UpdateTTL(ctx, id, ttl)
	})
	return err
}

func (r *runStore) Delete(ctx context.Context, id store.ID) error {
	_, err := with(r, ctx, func(ctx context.Context, s *redisstore.Store) (none, error) { return none{}, s.Delete(ctx, id) })
	return err
}

func (r *runStore) ChangeID(ctx context.Context, old, new store.ID) error {
	_, err := with(r, ctx, func(ctx context.Context, s *redisstore.Store) (none, error) {
		return none{}, s.ChangeID(ctx, old, new)
	})
	return err
}

func (r *runStore) DeleteExpired(ctx context.Context, limit int) (int, error) {
	return with(r, ctx, func(ctx context.Context, s *redisstore.Store) (int, error) { return s.DeleteExpired(ctx, limit) })
}

func (r *runStore) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	return with(r, ctx, func(ctx context.Context, s *redisstore.Store) (store.Record, error) {
		return s.Touch(ctx, id, ttl, resolution)
	})
}

func (r *runStore) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	return with(r, ctx, func(ctx context.Context, s *redisstore.Store) (uint64, error) {
		return s.UpdateIf(ctx, id, version, state, ttl)
	})
}

func (r *runStore) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	return with(r, ctx, func(ctx context.Context, s *redisstore.Store) (uint64, error) {
		return s.ChangeIDIf(ctx, old, new, version, state)
	})
}

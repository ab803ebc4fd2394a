package hashid_test

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// modelStore is the reference model behind the store interfaces, reading
// the same simulated clock as the backend beside it, so that a test can run
// one list of calls on both and compare every answer.
type modelStore struct {
	m   *model.Model
	clk *clock.Sim
}

func (s modelStore) now() time.Time { return store.Instant(s.clk.Now()) }

func (s modelStore) StoredID(id store.ID) store.ID { return s.m.StoredID(id) }

func (s modelStore) Create(_ context.Context, id store.ID, state []byte, ttl time.Duration) error {
	return s.m.Create(s.now(), id, state, ttl)
}

func (s modelStore) Load(_ context.Context, id store.ID) (store.Record, error) {
	return s.m.Load(s.now(), id)
}

func (s modelStore) Update(_ context.Context, id store.ID, state []byte, ttl time.Duration) error {
	return s.m.Update(s.now(), id, state, ttl)
}

func (s modelStore) UpdateTTL(_ context.Context, id store.ID, ttl time.Duration) error {
	return s.m.UpdateTTL(s.now(), id, ttl)
}

func (s modelStore) Delete(_ context.Context, id store.ID) error { return s.m.Delete(s.now(), id) }

func (s modelStore) ChangeID(_ context.Context, old, new store.ID) error {
	return s.m.ChangeID(s.now(), old, new)
}

func (s modelStore) DeleteExpired(_ context.Context, limit int) (int, error) {
	return s.m.DeleteExpired(s.now(), limit)
}

func (s modelStore) CreateOwned(_ context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return s.m.CreateOwned(s.now(), id, owner, state, ttl, cap)
}

func (s modelStore) Cycle(_ context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return s.m.Cycle(s.now(), old, new, owner, state, ttl, cap)
}

func (s modelStore) List(_ context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	return s.m.List(s.now(), owner)
}

func (s modelStore) Revoke(_ context.Context, owner store.Owner, h store.Handle) error {
	return s.m.Revoke(s.now(), owner, h)
}

func (s modelStore) RevokeAll(_ context.Context, owner store.Owner, except ...store.ID) (int, error) {
	return s.m.RevokeAll(s.now(), owner, except...)
}

func (s modelStore) Touch(_ context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	return s.m.Touch(s.now(), id, ttl, resolution)
}

func (s modelStore) UpdateIf(_ context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	return s.m.UpdateIf(s.now(), id, version, state, ttl)
}

func (s modelStore) ChangeIDIf(_ context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	return s.m.ChangeIDIf(s.now(), old, new, version, state)
}

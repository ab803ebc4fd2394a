package memstore

import (
	"bytes"
	"context"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Touch loads the live session under id and, in the same step, extends its
// expiry to now+ttl if that is later by resolution or more; otherwise it
// writes nothing. It never shortens a session and never revives an expired
// one (store.ErrNotFound). It returns the record as it is afterwards, its
// state a fresh copy and its version one more if it wrote. A negative
// resolution is store.ErrInvalidTTL. It locks one shard, as Load does.
func (s *Store) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, err
	}
	if err := s.limits.CheckTouch(id, ttl, resolution); err != nil {
		return store.Record{}, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	now := s.now()
	e, ok := sh.byID[id]
	if !ok || !e.liveAt(now) {
		sh.mu.Unlock()
		return store.Record{}, store.ErrNotFound
	}
	if next, ok := store.Extends(now, e.expires, ttl, resolution); ok {
		e.expires = next
		e.version++ // a Touch that writes nothing leaves the version as it is
		sh.heap.rekey(e)
	}
	rec := e.record()
	sh.mu.Unlock()
	rec.State = bytes.Clone(rec.State) // outside the lock: see Load
	return rec, nil
}

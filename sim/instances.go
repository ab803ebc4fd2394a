package sim

import (
	"context"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/view"
	"github.com/hourglass-go/hourglass/store"
)

// Instances makes s an Instancer: open returns another instance on s's data
// reading the given clock (memstore.Store.WithClock, say). The capabilities
// of s, its store.Sweeper, its stored IDs (store.Keyer) and its optional
// operations (store.Owners, store.Toucher, store.Versioner, store.Scanner)
// if it has them, pass through.
func Instances(s store.Store, open func(clock.Clock) store.Store) store.Store {
	return instancesView(&instances{Store: s, open: open}, view.Has(s))
}

type instances struct {
	store.Store
	open func(clock.Clock) store.Store
}

var _ view.Full = (*instances)(nil)

func (i *instances) Instance(clk clock.Clock) store.Store { return i.open(clk) }
func (i *instances) Capabilities() store.Capabilities     { return store.CapabilitiesOf(i.Store) }
func (i *instances) StoredID(id store.ID) store.ID        { return store.StoredID(i.Store, id) }

// Sweep reaches s's own store.Sweeper, which embedding alone would hide.
func (i *instances) Sweep(ctx context.Context, batch int) (int, error) {
	return store.Sweep(ctx, i.Store, batch)
}

func (i *instances) CreateOwned(ctx context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return i.Store.(store.Owners).CreateOwned(ctx, id, owner, state, ttl, cap)
}
func (i *instances) Cycle(ctx context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return i.Store.(store.Owners).Cycle(ctx, old, new, owner, state, ttl, cap)
}
func (i *instances) List(ctx context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	return i.Store.(store.Owners).List(ctx, owner)
}
func (i *instances) Revoke(ctx context.Context, owner store.Owner, h store.Handle) error {
	return i.Store.(store.Owners).Revoke(ctx, owner, h)
}
func (i *instances) RevokeAll(ctx context.Context, owner store.Owner, except ...store.ID) (int, error) {
	return i.Store.(store.Owners).RevokeAll(ctx, owner, except...)
}
func (i *instances) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	return i.Store.(store.Toucher).Touch(ctx, id, ttl, resolution)
}
func (i *instances) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	return i.Store.(store.Versioner).UpdateIf(ctx, id, version, state, ttl)
}
func (i *instances) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	return i.Store.(store.Versioner).ChangeIDIf(ctx, old, new, version, state)
}
func (i *instances) Scan(ctx context.Context, after store.ID, limit int) ([]store.ID, error) {
	return i.Store.(store.Scanner).Scan(ctx, after, limit)
}

// instancesBase is view.Base and the second instances.
type instancesBase interface {
	view.Base
	Instancer
}

// instancesView shows w with the optional operations in c only, as
// view.Of does, and its Instancer, which view.Of would hide: a wrapper
// that claimed store.Owners for a backend without it would make a missing
// capability a failure in the middle of a run.
func instancesView(w *instances, c view.Set) store.Store {
	type (
		b = instancesBase
		o = view.OwnerOps
		t = view.TouchOps
		v = view.VersionOps
		s = view.ScanOps
	)
	switch c & (view.Owners | view.Toucher | view.Versioner | view.Scanner) {
	case 0:
		return struct{ b }{w}
	case view.Owners:
		return struct {
			b
			o
		}{w, w}
	case view.Toucher:
		return struct {
			b
			t
		}{w, w}
	case view.Owners | view.Toucher:
		return struct {
			b
			o
			t
		}{w, w, w}
	case view.Versioner:
		return struct {
			b
			v
		}{w, w}
	case view.Owners | view.Versioner:
		return struct {
			b
			o
			v
		}{w, w, w}
	case view.Toucher | view.Versioner:
		return struct {
			b
			t
			v
		}{w, w, w}
	case view.Owners | view.Toucher | view.Versioner:
		return struct {
			b
			o
			t
			v
		}{w, w, w, w}
	case view.Scanner:
		return struct {
			b
			s
		}{w, w}
	case view.Owners | view.Scanner:
		return struct {
			b
			o
			s
		}{w, w, w}
	case view.Toucher | view.Scanner:
		return struct {
			b
			t
			s
		}{w, w, w}
	case view.Owners | view.Toucher | view.Scanner:
		return struct {
			b
			o
			t
			s
		}{w, w, w, w}
	case view.Versioner | view.Scanner:
		return struct {
			b
			v
			s
		}{w, w, w}
	case view.Owners | view.Versioner | view.Scanner:
		return struct {
			b
			o
			v
			s
		}{w, w, w, w}
	case view.Toucher | view.Versioner | view.Scanner:
		return struct {
			b
			t
			v
			s
		}{w, w, w, w}
	default:
		return w
	}
}

package bench

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/store"
)

// The checks that pgstore has the capabilities measured here.
var (
	_ store.Owners  = (*pgstore.Store)(nil)
	_ store.Toucher = (*pgstore.Store)(nil)
)

// ownedStore is what the owner benchmarks measure.
type ownedStore interface {
	store.Owners
	store.Toucher
	Table() string
}

// ownerColumn is the column of pgstore's table that holds the owner.
const ownerColumn = "owner"

// newOwnedStore is pgstore on its default table, created by Migrate.
func newOwnedStore(ctx context.Context, pool *pgxpool.Pool) (ownedStore, error) {
	pg, err := pgstore.New(pool, pgstore.Options{Clock: clock.Real()})
	if err != nil {
		return nil, err
	}
	return pg, pg.Migrate(ctx)
}

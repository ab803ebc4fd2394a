package pgstore

import (
	"context"
	"fmt"
)

// Migrate creates the session table and its index if they do not exist, then
// checks that the table (new or old) has the shape this package needs. It
// is idempotent and safe to call from several processes at once: they queue
// on an advisory lock, since concurrent CREATE TABLE IF NOT EXISTS can still
// collide in PostgreSQL's catalogs.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate %s: %w", s.sql.table, err)
	}
	return s.checkShape(ctx, "migrate")
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockKey); err != nil {
		return err
	}
	// Without arguments pgx uses the simple protocol, which accepts the
	// several statements of the migration in one go.
	if _, err := tx.Exec(ctx, s.sql.migrate); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

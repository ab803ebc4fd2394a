package pgstore

import (
	"context"
	"errors"
	"fmt"
)

// Migrate creates the session table and its indexes if they do not exist,
// or brings a table made by an earlier version of this package up to date
// in place, then checks that the table has the shape this package needs.
// The upgrade adds what the table lacks of the owner column (NULL in every
// row) and its index, and the version column (1 in every row), so a table
// of any earlier version, with or without owners, is brought all the way.
// It is idempotent and safe to call from several processes at once: they
// queue on an advisory lock, since concurrent CREATE TABLE IF NOT EXISTS
// can still collide in PostgreSQL's catalogs.
//
// A table that exists is checked first, under that lock: if it is neither
// the shape this package needs nor an earlier version's, Migrate fails
// with ErrTableShape having changed nothing. A table that is already up to
// date is not altered at all, so calling Migrate at every start takes no
// lock that would queue the store's traffic. Upgrading a large table adds
// the columns without rewriting it (the version's default is a constant,
// which PostgreSQL keeps in the catalog), but building the owner index
// scans the table while blocking writes to it (the index itself is empty,
// as no row has an owner yet); to avoid that, build it beforehand with
// CREATE INDEX CONCURRENTLY under the name MigrationSQL gives it.
//
// Upgrade every instance before relying on versions: an instance of an
// earlier version writes sessions without adding to their version, so a
// conditional write of a new one could miss its change.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		if errors.Is(err, ErrTableShape) {
			return err
		}
		return fmt.Errorf("pgstore: migrate %s: %w", s.sql.table, scrub(err))
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
	relkind, found, err := s.readShape(ctx, tx)
	if err != nil {
		return err
	}
	if relkind != "" {
		if err := s.shapeError("migrate", shapeProblems(relkind, found, true)); err != nil {
			return err
		}
		var indexes int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE i.indrelid = to_regclass($1) AND c.relname = ANY ($2)`, s.sql.table, s.sql.indexes).Scan(&indexes); err != nil {
			return err
		}
		if hasAddedColumns(found) && indexes == len(s.sql.indexes) {
			return nil // up to date: nothing to lock the table for
		}
	}
	// Without arguments pgx uses the simple protocol, which accepts the
	// several statements of the migration in one go.
	if _, err := tx.Exec(ctx, s.sql.migrate); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// hasAddedColumns reports whether the table has every column Migrate adds
// to an earlier version's.
func hasAddedColumns(found map[string]column) bool {
	for _, w := range wantColumns {
		if _, ok := found[w.name]; w.added && !ok {
			return false
		}
	}
	return true
}

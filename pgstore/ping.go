package pgstore

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Ping checks that the database answers and that the session table exists
// with the shape this package needs, so that a readiness probe fails on a
// missing migration or a hand-made table that would misbehave, not only on a
// dead connection. The error wraps ErrTableMissing or ErrTableShape, and
// lists every difference found.
func (s *Store) Ping(ctx context.Context) error {
	return s.checkShape(ctx, "ping")
}

// column is one row of the shape query.
type column struct {
	relkind, name, typ, collation *string
	notNull, hasDefault, unique   *bool
}

// wantColumns describes the columns the statements rely on. Nullability
// is not checked where the store never writes NULL, as a nullable column
// there only matters to other writers.
var wantColumns = []struct {
	name, typ string
	byteOrder string // if set, must sort and compare as bytes, because of this
	unique    bool   // must carry a unique index of its own, for ON CONFLICT (id)
	// nullable: must be nullable and have no default, because Create
	// stores NULL there (no owner) by not naming it.
	nullable bool
	// notNull: must be NOT NULL, because a NULL there means nothing the
	// statements could answer with.
	notNull string
	// added: a column a table made by an earlier version lacks, which
	// Migrate adds; Ping requires it.
	added bool
}{
	{name: "id", typ: "text", byteOrder: "IDs must sort as bytes", unique: true},
	{name: "state", typ: "bytea"},
	{name: "expires", typ: "timestamp with time zone"},
	{name: "owner", typ: "text", byteOrder: "owners must compare as bytes", nullable: true, added: true},
	{name: "version", typ: "bigint", notNull: "every record has a version", added: true},
}

// querier is what the shape query runs on: a connection, or Migrate's
// transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readShape returns the table's relkind ("" if there is no table) and its
// columns by name.
func (s *Store) readShape(ctx context.Context, q querier) (string, map[string]column, error) {
	rows, err := q.Query(ctx, s.sql.shape, s.sql.table)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	var relkind string
	found := map[string]column{}
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.relkind, &c.name, &c.typ, &c.collation, &c.notNull, &c.hasDefault, &c.unique); err != nil {
			return "", nil, err
		}
		if c.relkind != nil {
			relkind = *c.relkind
		}
		if c.name != nil {
			found[*c.name] = c
		}
	}
	return relkind, found, rows.Err()
}

func (s *Store) checkShape(ctx context.Context, op string) error {
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return err
	}
	defer conn.Release()
	relkind, found, err := s.readShape(ctx, conn)
	if err != nil {
		return readFailed(op, err)
	}
	if relkind == "" {
		return fmt.Errorf("pgstore: %s: %w: %s (run Migrate or MigrationSQL)", op, ErrTableMissing, s.sql.table)
	}
	return s.shapeError(op, shapeProblems(relkind, found, false))
}

// shapeError is nil without problems, else ErrTableShape listing them.
func (s *Store) shapeError(op string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("pgstore: %s: %w: %s: %s", op, ErrTableShape, s.sql.table, strings.Join(problems, "; "))
}

// shapeProblems lists how an existing table differs from what the
// statements need. With upgradable, a table lacking only the columns
// Migrate adds is fine: it is the previous version's.
func shapeProblems(relkind string, found map[string]column, upgradable bool) []string {
	found = maps.Clone(found)
	var problems []string
	if relkind != "r" && relkind != "p" {
		problems = append(problems, fmt.Sprintf("it is not a table (pg_class.relkind %q)", relkind))
	}
	for _, w := range wantColumns {
		c, ok := found[w.name]
		switch {
		case !ok && w.added && upgradable:
			continue
		case !ok && w.added:
			problems = append(problems, fmt.Sprintf("no column %s (want %s; Migrate adds it)", w.name, w.typ))
			continue
		case !ok:
			problems = append(problems, fmt.Sprintf("no column %s (want %s)", w.name, w.typ))
			continue
		}
		delete(found, w.name)
		if *c.typ != w.typ {
			problems = append(problems, fmt.Sprintf("column %s is %s, want %s", w.name, *c.typ, w.typ))
		}
		if w.byteOrder != "" && (c.collation == nil || (*c.collation != "C" && *c.collation != "POSIX")) {
			coll := "none"
			if c.collation != nil {
				coll = *c.collation
			}
			problems = append(problems, fmt.Sprintf(`column %s has collation %q, want "C" (%s)`, w.name, coll, w.byteOrder))
		}
		if w.unique && !*c.unique {
			problems = append(problems, fmt.Sprintf("column %s has no unique index of its own (want PRIMARY KEY)", w.name))
		}
		if w.nullable && *c.notNull {
			problems = append(problems, fmt.Sprintf("column %s is NOT NULL, want nullable (NULL: a session without one)", w.name))
		}
		if w.notNull != "" && !*c.notNull {
			problems = append(problems, fmt.Sprintf("column %s is nullable, want NOT NULL (%s)", w.name, w.notNull))
		}
		if w.nullable && *c.hasDefault {
			problems = append(problems, fmt.Sprintf("column %s has a default or is generated, want neither (a session made by Create has none)", w.name))
		}
	}
	extra := make([]string, 0, len(found))
	for name := range found {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	for _, name := range extra {
		if c := found[name]; *c.notNull && !*c.hasDefault {
			problems = append(problems, fmt.Sprintf("extra column %s is NOT NULL without a default, so inserts fail", name))
		}
	}
	return problems
}

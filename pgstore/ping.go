package pgstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
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

// want describes a column the statements rely on. Nullability is not
// checked: the store never writes NULL, so a nullable column only matters to
// other writers.
var wantColumns = []struct {
	name, typ string
	byteOrder bool // must sort and compare as bytes
	unique    bool // must carry a unique index of its own, for ON CONFLICT (id)
}{
	{name: "id", typ: "text", byteOrder: true, unique: true},
	{name: "state", typ: "bytea"},
	{name: "expires", typ: "timestamp with time zone"},
}

func (s *Store) checkShape(ctx context.Context, op string) error {
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return err
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, s.sql.shape, s.sql.table)
	if err != nil {
		return readFailed(op, err)
	}
	defer rows.Close()
	var relkind string
	found := map[string]column{}
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.relkind, &c.name, &c.typ, &c.collation, &c.notNull, &c.hasDefault, &c.unique); err != nil {
			return readFailed(op, err)
		}
		if c.relkind != nil {
			relkind = *c.relkind
		}
		if c.name != nil {
			found[*c.name] = c
		}
	}
	if err := rows.Err(); err != nil {
		return readFailed(op, err)
	}

	if relkind == "" {
		return fmt.Errorf("pgstore: %s: %w: %s (run Migrate or MigrationSQL)", op, ErrTableMissing, s.sql.table)
	}
	var problems []string
	if relkind != "r" && relkind != "p" {
		problems = append(problems, fmt.Sprintf("it is not a table (pg_class.relkind %q)", relkind))
	}
	for _, w := range wantColumns {
		c, ok := found[w.name]
		if !ok {
			problems = append(problems, fmt.Sprintf("no column %s (want %s)", w.name, w.typ))
			continue
		}
		delete(found, w.name)
		if *c.typ != w.typ {
			problems = append(problems, fmt.Sprintf("column %s is %s, want %s", w.name, *c.typ, w.typ))
		}
		if w.byteOrder && (c.collation == nil || (*c.collation != "C" && *c.collation != "POSIX")) {
			coll := "none"
			if c.collation != nil {
				coll = *c.collation
			}
			problems = append(problems, fmt.Sprintf(`column %s has collation %q, want "C" (IDs must sort as bytes)`, w.name, coll))
		}
		if w.unique && !*c.unique {
			problems = append(problems, fmt.Sprintf("column %s has no unique index of its own (want PRIMARY KEY)", w.name))
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
	if len(problems) > 0 {
		return fmt.Errorf("pgstore: %s: %w: %s: %s", op, ErrTableShape, s.sql.table, strings.Join(problems, "; "))
	}
	return nil
}

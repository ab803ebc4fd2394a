package bench

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// diagImpls are extra implementations, enabled by HOURGLASS_BENCH_DIAG=1,
// that took pgstore apart to find where its gap with scs came from, when
// pgstore still went through pgx.Conn with a conditional upsert for Create
// (BENCHMARKS.md, "Where the gap came from"). They keep those statements,
// sent through pgx, so that the diagnosis can be rerun; pgstore itself now
// sends its statements through pgconn and creates with a plain INSERT.
// All of them work on pgstore's table through the shared pool:
//
//   - sql: pgstore's statements of the time, with the clock reading as
//     parameter, sent straight through the pool with pgx;
//   - sql-noret: the same, with Delete's "RETURNING expires" dropped (so
//     a plain Exec, as scs does);
//   - sql-upsert: the same as sql-noret, with Create replaced by scs's
//     unconditional upsert (no "WHERE s.expires <= $4");
//   - sql-retbool, sql-cte: like sql, with Delete still telling whether
//     the session was live, more cheaply: "RETURNING expires > $2" (a bool
//     instead of a timestamptz), or a data-modifying CTE whose outer
//     SELECT counts the live row, run with Exec so that the command tag's
//     row count is the answer and no row is scanned.
func diagImpls(table string) []impl {
	if os.Getenv("HOURGLASS_BENCH_DIAG") == "" {
		return nil
	}
	var (
		load   = `SELECT state, expires FROM ` + table + ` WHERE id = $1 AND expires > $2`
		update = `UPDATE ` + table + ` SET state = $2, expires = $3 WHERE id = $1 AND expires > $4`
		create = `INSERT INTO ` + table + ` AS s (id, state, expires) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires
WHERE s.expires <= $4`
		deleteRet  = `DELETE FROM ` + table + ` WHERE id = $1 RETURNING expires`
		deleteNo   = `DELETE FROM ` + table + ` WHERE id = $1`
		deleteBool = `DELETE FROM ` + table + ` WHERE id = $1 RETURNING expires > $2`
		deleteCTE  = `WITH d AS (DELETE FROM ` + table + ` WHERE id = $1 RETURNING expires) SELECT FROM d WHERE expires > $2`
		scsCreate  = `INSERT INTO ` + table + ` (id, state, expires) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires`
	)
	now := func() time.Time { return store.Instant(time.Now()) }
	pgsql := impl{
		name:  "sql",
		table: table,
		load: func(ctx context.Context, key string) error {
			var state []byte
			var exp time.Time
			return pool.QueryRow(ctx, load, key, now()).Scan(&state, &exp)
		},
		update: func(ctx context.Context, key string) error {
			n := now()
			_, err := pool.Exec(ctx, update, key, payload, n.Add(ttl), n)
			return err
		},
		create: func(ctx context.Context, key string) error {
			n := now()
			_, err := pool.Exec(ctx, create, key, payload, n.Add(ttl), n)
			return err
		},
		delete: func(ctx context.Context, key string) error {
			var exp time.Time
			return pool.QueryRow(ctx, deleteRet, key).Scan(&exp)
		},
	}
	noret := pgsql
	noret.name = "sql-noret"
	noret.delete = func(ctx context.Context, key string) error {
		_, err := pool.Exec(ctx, deleteNo, key)
		return err
	}
	upsert := noret
	upsert.name = "sql-upsert"
	upsert.create = func(ctx context.Context, key string) error {
		_, err := pool.Exec(ctx, scsCreate, key, payload, now().Add(ttl))
		return err
	}
	retbool := pgsql
	retbool.name = "sql-retbool"
	retbool.delete = func(ctx context.Context, key string) error {
		var live bool
		return pool.QueryRow(ctx, deleteBool, key, now()).Scan(&live)
	}
	cte := pgsql
	cte.name = "sql-cte"
	cte.delete = func(ctx context.Context, key string) error {
		tag, err := pool.Exec(ctx, deleteCTE, key, now())
		if err == nil && tag.RowsAffected() != 1 {
			err = errors.New("sql-cte: session was not live")
		}
		return err
	}
	return []impl{pgsql, noret, upsert, retbool, cte}
}

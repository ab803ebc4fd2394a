package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/hashid"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// The benchmarks of issue 11's targets: what hashed IDs, sealed state and
// conditional updates cost on PostgreSQL, each beside plain pgstore in the
// same run. Every implementation has a table of its own holding the same
// sessions (the same IDs, 512-byte states), so that none of them sees
// another's dead rows:
//
//   - pgstore: plain pgstore, the baseline;
//   - hashid: hashid over pgstore (the table holds SHA-256 of each ID);
//   - seal: seal over pgstore (XChaCha20-Poly1305, 557-byte blobs);
//   - hashid+seal: both, hashid outermost, as the README recommends;
//   - updateif (BenchmarkLayersUpdate only): pgstore's UpdateIf at the
//     version the session is at, tracked by the benchmark (each run's
//     sessions are touched by it alone), against Update.
//
// BENCH=Layers ROUNDS=10 RATIOS='-base pgstore -vs hashid,seal,hashid+seal,updateif' ./run.sh

func BenchmarkLayersLoad(b *testing.B) {
	runOver(b, layerImpls(b), func(ctx context.Context, im impl, next func() string) error {
		return im.load(ctx, next())
	})
}

func BenchmarkLayersUpdate(b *testing.B) {
	runOver(b, layerImpls(b), func(ctx context.Context, im impl, next func() string) error {
		return im.update(ctx, next())
	})
}

var (
	layersOnce sync.Once
	layersList []impl
	layersErr  error
)

func layerImpls(b *testing.B) []impl {
	layersOnce.Do(func() { layersList, layersErr = setupLayers(context.Background()) })
	if layersErr != nil {
		b.Fatal(layersErr)
	}
	return layersList
}

// layerRing is a fixed key ring: the benchmark measures sealing, not key
// management.
func layerRing() (*seal.Ring, error) {
	return seal.NewRing(1, seal.Key{ID: 1, Secret: []byte("hourglass benchmark key, 32 b...")})
}

func setupLayers(ctx context.Context) ([]impl, error) {
	ring, err := layerRing()
	if err != nil {
		return nil, err
	}
	limits := store.Limits{}
	inner := store.Limits{MaxStateSize: store.DefaultMaxStateSize + seal.Overhead}
	table := func(name string) (*pgstore.Store, error) {
		pg, err := pgstore.New(pool, pgstore.Options{Clock: clock.Real(), Table: name, Limits: inner})
		if err != nil {
			return nil, err
		}
		if err := pg.Migrate(ctx); err != nil {
			return nil, err
		}
		return pg, nil
	}
	type layered struct {
		name  string
		wrap  func(pg *pgstore.Store) (store.Store, *seal.Layer, error)
		table string
	}
	sealed := func(pg store.Store, ns string) (*seal.Layer, error) {
		return seal.New(pg, ring, seal.Options{Namespace: ns, Limits: limits})
	}
	kinds := []layered{
		{"pgstore", func(pg *pgstore.Store) (store.Store, *seal.Layer, error) { return pg, nil, nil }, "hg_layers_plain"},
		{"hashid", func(pg *pgstore.Store) (store.Store, *seal.Layer, error) {
			s, err := hashid.New(pg, hashid.Options{})
			return s, nil, err
		}, "hg_layers_hashid"},
		{"seal", func(pg *pgstore.Store) (store.Store, *seal.Layer, error) {
			l, err := sealed(pg, "hg_layers_seal")
			if err != nil {
				return nil, nil, err
			}
			return l.Store(), l, nil
		}, "hg_layers_seal"},
		{"hashid+seal", func(pg *pgstore.Store) (store.Store, *seal.Layer, error) {
			l, err := sealed(pg, "hg_layers_both")
			if err != nil {
				return nil, nil, err
			}
			s, err := hashid.New(l.Store(), hashid.Options{})
			return s, l, err
		}, "hg_layers_both"},
		{"updateif", func(pg *pgstore.Store) (store.Store, *seal.Layer, error) { return pg, nil, nil }, "hg_layers_cond"},
	}
	var out []impl
	for _, k := range kinds {
		pg, err := table(k.table)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.name, err)
		}
		s, sl, err := k.wrap(pg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.name, err)
		}
		if err := fillLayered(ctx, k.table, s, sl); err != nil {
			return nil, fmt.Errorf("%s: filling: %w", k.name, err)
		}
		if _, err := pool.Exec(ctx, "ALTER TABLE "+pg.Table()+" SET (autovacuum_enabled = off)"); err != nil {
			return nil, err
		}
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+pg.Table()); err != nil {
			return nil, err
		}
		im := impl{
			name:  k.name,
			table: pg.Table(),
			load: func(ctx context.Context, key string) error {
				rec, err := s.Load(ctx, store.ID(key))
				if err == nil && len(rec.State) != payloadSize {
					err = fmt.Errorf("%d bytes of state, want %d", len(rec.State), payloadSize)
				}
				return err
			},
			update: func(ctx context.Context, key string) error {
				return s.Update(ctx, store.ID(key), payload, ttl)
			},
		}
		if k.name == "updateif" {
			im.update = conditionalUpdate(pg)
		}
		out = append(out, im)
	}
	if r, err := strconv.Atoi(os.Getenv("HOURGLASS_BENCH_ROUND")); err == nil && r%2 == 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// fillLayered copies the benchmark's sessions into table as s stores them:
// under s's stored IDs, with states sealed by sl when there is one (for the
// ID the seal layer is given, which under hashid is the stored ID).
func fillLayered(ctx context.Context, table string, s store.Store, sl *seal.Layer) error {
	expires := time.Now().Add(ttl)
	rows := make([][]any, len(keys))
	for i, k := range keys {
		stored := store.StoredID(s, store.ID(k))
		state := payload
		if sl != nil {
			var err error
			if state, err = sl.Seal(stored, payload); err != nil {
				return err
			}
		}
		rows[i] = []any{string(stored), state, expires}
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{table}, []string{"id", "state", "expires"}, pgx.CopyFromRows(rows))
	return err
}

// conditionalUpdate is UpdateIf at the version each session is at: the
// benchmark alone writes this table, so it knows every version (1 after
// the fill, one more after each update).
func conditionalUpdate(pg *pgstore.Store) func(ctx context.Context, key string) error {
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		index[k] = i
	}
	versions := make([]atomic.Uint64, len(keys))
	for i := range versions {
		versions[i].Store(1)
	}
	return func(ctx context.Context, key string) error {
		v := &versions[index[key]]
		cur := v.Load()
		next, err := pg.UpdateIf(ctx, store.ID(key), cur, payload, ttl)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("updateif: conflict at version %d (two clients on one session?)", cur)
		}
		if err == nil {
			v.CompareAndSwap(cur, next)
		}
		return err
	}
}

// runOver is run over the implementations list instead of impls.
func runOver(b *testing.B, list []impl, o op) {
	saved := impls
	impls = list
	defer func() { impls = saved }()
	run(b, o)
}

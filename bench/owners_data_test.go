package bench

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/bench/internal/benchenv"
	"github.com/hourglass-go/hourglass/store"
)

// The owner benchmarks' data: ownedSessions sessions, perOwner for each of
// owners owners. Session i belongs to owner i % owners, so an owner's
// sessions lie far apart in the table, as sessions made at different times
// do, rather than on one page. The owners are split in three: the read
// part is only read (and touched, which keeps every session), the create
// part gets CreateOwned (each one evicts one: its owner keeps perOwner),
// and the revoke part is used up by RevokeAll, one owner per operation.
const (
	ownedSessions = 1_000_000
	owners        = 100_000
	perOwner      = ownedSessions / owners
	readOwners    = 70_000 // [0, readOwners)
	createOwners  = 10_000 // [readOwners, readOwners+createOwners)
	revokeFirst   = readOwners + createOwners
	ownerCap      = perOwner // CreateOwned's cap: every create evicts one

	// The loaded sessions expire between 20 and 30 minutes after the load,
	// session i at loadedAt + 20min + i×spread: all live for the whole run,
	// an owner's ten a minute apart (so "oldest" is well defined), and all
	// earlier than now+idleTimeout, so that a Touch with resolution 0
	// always moves them.
	loadedMin    = 20 * time.Minute
	loadedSpread = 600 * time.Microsecond
)

// ownedEnv is the owner benchmarks' server: a throwaway cluster of its own
// with PostgreSQL's default durability, which the other benchmarks' cluster
// turns off. They need it because what they compare is writes against
// reads: with fsync off a commit costs next to nothing, and that would hide
// exactly what Touch's resolution saves.
type ownedEnv struct {
	env  *benchenv.Env
	pool *pgxpool.Pool
	pg   ownedStore
	scs  *pgxstore.PostgresStore

	ids    []string // ids[i] is session i's ID
	owners []store.Owner

	// revokeOrder is the revoke part's owners in a random order; next is
	// where the following RevokeAll starts in it.
	revokeOrder []int
	revokeNext  int

	loadedAt time.Time // the instant the loaded expiries count from
}

// durableSettings undo pgcluster's speed-over-safety defaults: these are
// PostgreSQL's own defaults.
var durableSettings = map[string]string{
	"fsync":              "on",
	"synchronous_commit": "on",
	"full_page_writes":   "on",
	"shared_buffers":     "128MB",
}

// envOwnedSettings names the environment variable whose "name=value,..."
// overrides durableSettings, for diagnosis only (how much of a figure is
// the wait for the WAL flush: synchronous_commit=off). The configuration
// lines print what the server ran with.
const envOwnedSettings = "HOURGLASS_BENCH_OWNED_SETTINGS"

// ownedSettings is durableSettings with envOwnedSettings applied.
func ownedSettings() (map[string]string, error) {
	out := maps.Clone(durableSettings)
	v := os.Getenv(envOwnedSettings)
	if v == "" {
		return out, nil
	}
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s=%q: want name=value,...", envOwnedSettings, v)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return out, nil
}

var (
	ownedOnce sync.Once
	owned     *ownedEnv
	ownedErr  error
)

// ownedSetup starts the cluster and loads the data once per process; every
// owner benchmark, and each of its runs, shares them.
func ownedSetup() (*ownedEnv, error) {
	ownedOnce.Do(func() {
		start := time.Now()
		owned, ownedErr = newOwnedEnv(context.Background())
		if ownedErr != nil {
			closeOwned()
			return
		}
		var fsync, syncCommit, fpw, sb string
		err := owned.pool.QueryRow(context.Background(), `SELECT current_setting('fsync'),
			current_setting('synchronous_commit'), current_setting('full_page_writes'),
			current_setting('shared_buffers')`).Scan(&fsync, &syncCommit, &fpw, &sb)
		if err != nil {
			ownedErr = err
			return
		}
		// benchfmt configuration lines, kept by benchstat with the results.
		fmt.Printf("owned-server: %s\n", owned.env.Describe())
		fmt.Printf("owned-durability: fsync=%s synchronous_commit=%s full_page_writes=%s shared_buffers=%s\n",
			fsync, syncCommit, fpw, sb)
		fmt.Printf("owned-setup: %d sessions of %d bytes over %d owners in each table\n",
			ownedSessions, payloadSize, owners)
		// Not a configuration line: it differs from round to round, and
		// benchstat would then keep each round's results apart.
		fmt.Fprintf(os.Stderr, "owner benchmarks: cluster started and data loaded in %v\n",
			time.Since(start).Round(time.Second))
	})
	return owned, ownedErr
}

// closeOwned stops the owner benchmarks' cluster, if one was started.
func closeOwned() {
	if owned == nil {
		return
	}
	if owned.pool != nil {
		owned.pool.Close()
	}
	if owned.env != nil {
		owned.env.Close()
	}
	owned = nil
}

func newOwnedEnv(ctx context.Context) (*ownedEnv, error) {
	if payload == nil {
		return nil, errors.New("payload not set up")
	}
	e := &ownedEnv{}
	owned = e // so that closeOwned cleans up after a failure
	settings, err := ownedSettings()
	if err != nil {
		return nil, err
	}
	if e.env, err = benchenv.Setup(ctx, settings); err != nil {
		return nil, err
	}
	if e.pool, err = e.env.Pool(ctx, maxConns); err != nil {
		return nil, err
	}
	if e.pg, err = newOwnedStore(ctx, e.pool); err != nil {
		return nil, err
	}
	if _, err := e.pool.Exec(ctx, scsTableDDL); err != nil {
		return nil, err
	}
	e.scs = pgxstore.NewWithCleanupInterval(e.pool, 0)

	e.ids = make([]string, ownedSessions)
	for i := range e.ids {
		e.ids[i] = sessionID(i)
	}
	e.owners = make([]store.Owner, owners)
	for k := range e.owners {
		e.owners[k] = ownerName(k)
	}
	e.revokeOrder = make([]int, 0, owners-revokeFirst)
	for k := revokeFirst; k < owners; k++ {
		e.revokeOrder = append(e.revokeOrder, k)
	}
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(e.revokeOrder), func(i, j int) {
		e.revokeOrder[i], e.revokeOrder[j] = e.revokeOrder[j], e.revokeOrder[i]
	})

	e.loadedAt = store.Instant(time.Now())
	if err := e.load(ctx); err != nil {
		return nil, err
	}
	for _, t := range []string{e.pg.Table(), "sessions"} {
		if _, err := e.pool.Exec(ctx, "ALTER TABLE "+t+" SET (autovacuum_enabled = off)"); err != nil {
			return nil, err
		}
		if _, err := e.pool.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return nil, err
		}
	}
	// The load wrote more WAL than max_wal_size: without this, the
	// checkpoint it triggered would still be writing during the first runs.
	if _, err := e.pool.Exec(ctx, "CHECKPOINT"); err != nil {
		return nil, err
	}
	return e, e.check(ctx)
}

// The bulk load: every row computed by the server from generate_series,
// the same sessions in both tables. sessionID and ownerName are the same
// functions in Go, for the benchmarks to pick their arguments. $1 is the
// state, $2 the load's instant, $3 and $4 the first and last owner loaded.
var (
	idSQL      = `translate(rtrim(encode(sha256(convert_to('hourglass-bench/' || i, 'UTF8')), 'base64'), '='), '+/', '-_')`
	ownerSQL   = `'user-' || (i % ` + strconv.Itoa(owners) + `)`
	expiresSQL = `$2::timestamptz + ` + interval(loadedMin) + ` + i * ` + interval(loadedSpread)
	rowsSQL    = ` FROM generate_series(0, ` + strconv.Itoa(ownedSessions-1) + `) i WHERE i % ` +
		strconv.Itoa(owners) + ` BETWEEN $3 AND $4`
)

// interval is d as an SQL interval literal.
func interval(d time.Duration) string {
	return "interval '" + strconv.FormatInt(d.Microseconds(), 10) + " microseconds'"
}

// sessionID is session i's ID: 43 characters of base64url, like store.NewID.
func sessionID(i int) string {
	sum := sha256.Sum256([]byte("hourglass-bench/" + strconv.Itoa(i)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ownerName is owner k.
func ownerName(k int) store.Owner { return store.Owner("user-" + strconv.Itoa(k)) }

// pgstoreInsert fills pgstore's table with the sessions of owners lo..hi,
// leaving any already there.
func (e *ownedEnv) pgstoreInsert(ctx context.Context, lo, hi int) error {
	_, err := e.pool.Exec(ctx, `INSERT INTO `+e.pg.Table()+` (id, state, expires, `+ownerColumn+`)
SELECT `+idSQL+`, $1::bytea, `+expiresSQL+`, `+ownerSQL+rowsSQL+`
ON CONFLICT (id) DO NOTHING`, payload, e.loadedAt, lo, hi)
	return err
}

// load fills both tables at once, on two connections.
func (e *ownedEnv) load(ctx context.Context) error {
	var wg sync.WaitGroup
	var errPG, errSCS error
	wg.Add(2)
	go func() {
		defer wg.Done()
		errPG = e.pgstoreInsert(ctx, 0, owners-1)
	}()
	go func() {
		defer wg.Done()
		_, errSCS = e.pool.Exec(ctx, `INSERT INTO sessions (token, data, expiry)
SELECT `+idSQL+`, $1::bytea, `+expiresSQL+rowsSQL, payload, e.loadedAt, 0, owners-1)
	}()
	wg.Wait()
	return errors.Join(errPG, errSCS)
}

// check makes sure the load and the Go side agree: both tables hold every
// session, the IDs are the ones sessionID computes, and an owner's list is
// its ten sessions, oldest first.
func (e *ownedEnv) check(ctx context.Context) error {
	for _, t := range []string{e.pg.Table(), "sessions"} {
		var n int
		if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return err
		}
		if n != ownedSessions {
			return fmt.Errorf("%s holds %d rows, want %d", t, n, ownedSessions)
		}
	}
	for _, i := range []int{0, ownedSessions - 1} {
		if _, err := e.pg.Load(ctx, store.ID(e.ids[i])); err != nil {
			return fmt.Errorf("pgstore: session %d: %w", i, err)
		}
		if _, found, err := e.scs.FindCtx(ctx, e.ids[i]); err != nil || !found {
			return fmt.Errorf("scs: session %d: found %v, %v", i, found, err)
		}
	}
	const k = owners - 1
	list, err := e.pg.List(ctx, e.owners[k])
	if err != nil {
		return err
	}
	if len(list) != perOwner {
		return fmt.Errorf("owner %d has %d sessions, want %d", k, len(list), perOwner)
	}
	for j, s := range list {
		if want := store.HandleOf(store.ID(e.ids[k+j*owners])); s.Handle != want {
			return fmt.Errorf("owner %d: session %d of the list is %s, want %s", k, j, s.Handle, want)
		}
	}
	return nil
}

// takeRevoked returns the next n owners of the revoke part, each with its
// perOwner sessions. When the part is used up it is loaded again, before
// the run starts.
func (e *ownedEnv) takeRevoked(ctx context.Context, n int) ([]int, error) {
	if n > len(e.revokeOrder) {
		return nil, fmt.Errorf("a run of %d RevokeAlls needs more than the %d owners of the revoke part: lower -benchtime", n, len(e.revokeOrder))
	}
	if e.revokeNext+n > len(e.revokeOrder) {
		// The same rows as the first load, expiries included.
		if err := e.pgstoreInsert(ctx, revokeFirst, owners-1); err != nil {
			return nil, err
		}
		e.revokeNext = 0
	}
	out := e.revokeOrder[e.revokeNext : e.revokeNext+n]
	e.revokeNext += n
	return out, nil
}

// pickSessions returns n sessions of the read part, at random.
func pickSessions(n int) []int {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	out := make([]int, n)
	for i := range out {
		r := rng.IntN(readOwners * perOwner)
		out[i] = r%readOwners + r/readOwners*owners // owner r%readOwners, its (r/readOwners)-th
	}
	return out
}

// pickOwners returns n owners in [lo, lo+count), at random.
func pickOwners(n, lo, count int) []int {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	out := make([]int, n)
	for i := range out {
		out[i] = lo + rng.IntN(count)
	}
	return out
}

// walPosition is the server's current WAL insert position, in bytes.
func (e *ownedEnv) walPosition(ctx context.Context) (int64, error) { return walPosition(ctx, e.pool) }

// walPosition is pool's server's current WAL insert position, in bytes:
// two readings around a run give the WAL it wrote.
func walPosition(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var pos int64
	err := pool.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::int8").Scan(&pos)
	return pos, err
}

package memstore

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// DefaultShards is the shard count used when Options.Shards is zero. It is a
// constant rather than a function of GOMAXPROCS so that a store is laid out
// the same way on every machine. Critical sections are short (a map access
// and a heap repair), so 64 locks make it rare for two goroutines to want the
// same one at the core counts servers have, while DeleteExpired, which takes
// them all, stays cheap.
const DefaultShards = 64

// maxShards bounds Options.Shards: past it, more locks only make
// DeleteExpired slower.
const maxShards = 1 << 16

// Options configure a Store. The zero value is valid: the system clock, the
// default limits and DefaultShards.
type Options struct {
	// Clock is read exactly once by each operation that passes validation.
	// Nil means clock.Real().
	Clock clock.Clock
	// Limits bound what the store accepts; zero fields mean store's defaults.
	Limits store.Limits
	// Shards is the number of independently locked parts of the keyspace,
	// rounded up to a power of two and capped at 65536. Zero or negative
	// means DefaultShards. One shard serialises every operation.
	Shards int
}

// Store is an in-memory store.Store. It is safe for concurrent use, and
// every method is atomic and linearizable. Create one with New; the zero
// value is not usable.
type Store struct {
	clock  clock.Clock
	limits store.Limits
	mask   uint64 // len(shards)-1; shards is a power of two
	shards []paddedShard

	// mergeBuf is DeleteExpired's scratch space, kept to spare it an
	// allocation per call. Only a caller holding every shard lock touches it,
	// which makes that caller its only user.
	mergeBuf []mergeItem
}

// Compile-time checks that Store implements the contract and its optional
// owner, sliding-expiry, version and scan capabilities.
var (
	_ store.Store     = (*Store)(nil)
	_ store.Owners    = (*Store)(nil)
	_ store.Toucher   = (*Store)(nil)
	_ store.Versioner = (*Store)(nil)
	_ store.Scanner   = (*Store)(nil)
)

// New returns an empty store configured by opts.
func New(opts Options) *Store {
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real()
	}
	n := opts.Shards
	if n <= 0 {
		n = DefaultShards
	}
	n = min(n, maxShards)
	p := 1
	for p < n {
		p <<= 1
	}
	s := &Store{
		clock:    clk,
		limits:   opts.Limits.WithDefaults(),
		mask:     uint64(p - 1),
		shards:   make([]paddedShard, p),
		mergeBuf: make([]mergeItem, 0, p),
	}
	for i := range s.shards {
		s.shards[i].byID = make(map[store.ID]*entry)
		s.shards[i].byOwner = make(map[store.Owner][]*entry)
	}
	return s
}

// Len returns the number of records the store physically holds, live or
// expired: expired records stay until DeleteExpired, Delete or a Create or
// ChangeID onto their ID reclaims them. It is meant for metrics and tests.
// Shards are counted one after another, so under concurrent writes the sum
// is approximate; with no writes in flight it is exact.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i].shard
		sh.mu.Lock()
		n += len(sh.byID)
		sh.mu.Unlock()
	}
	return n
}

// now takes the operation's single clock reading. Callers take it with the
// relevant shard locks held, so that the instant an operation judges liveness
// by is the instant at which it holds the state: along any one shard's lock
// order, the readings of a monotonic clock never go backwards.
func (s *Store) now() time.Time { return store.Instant(s.clock.Now()) }

func (s *Store) shardIndex(id store.ID) int { return int(shardHash(id) & s.mask) }

func (s *Store) shard(id store.ID) *shard { return &s.shards[s.shardIndex(id)].shard }

// Create stores a new session under id with state and ttl, no owner and
// version 1. It fails with store.ErrDuplicateID if a live session has id;
// an expired record under id is replaced.
func (s *Store) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	// Allocate and copy before locking, so the critical section stays a map
	// access and a heap repair; on ErrDuplicateID the work is merely wasted.
	// The ID is cloned too: it is often a slice of a larger string (a Cookie
	// header), which the store would otherwise keep alive for the session's
	// lifetime.
	// The version's hash of the state too (store.SeedVersion); only its
	// last, fixed-size step waits for the clock reading under the lock.
	e := &entry{id: store.ID(strings.Clone(string(id))), state: bytes.Clone(state)}
	seed := store.VersionSeedOf(ctx, id, "", state)
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now()
	e.expires = store.Expiry(now, ttl)
	e.version = seed.At(e.expires)
	if old, ok := sh.byID[id]; ok {
		if old.liveAt(now) {
			return store.ErrDuplicateID
		}
		// A session re-created over an expired record starts at its own
		// first version: a version names a state of one session, not of
		// the ID.
		old.state, old.expires, old.version = e.state, e.expires, e.version
		sh.heap.rekey(old)
		sh.setOwner(old, "") // a Create makes a session with no owner
		return nil
	}
	sh.insert(e)
	return nil
}

// Load returns the live session under id, its version included (what
// UpdateIf and ChangeIDIf take), or store.ErrNotFound. The returned state
// is a fresh copy, the caller's to keep and modify.
func (s *Store) Load(ctx context.Context, id store.ID) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, err
	}
	if err := id.Validate(); err != nil {
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
	rec := e.record()
	sh.mu.Unlock()
	// Every write installs a new slice and none writes into a stored one, so
	// the bytes read here cannot change: copying them needs no lock, and a
	// large state does not hold up the shard while it is copied.
	rec.State = bytes.Clone(rec.State)
	return rec, nil
}

// Update replaces the state and expiry of the live session under id, keeping
// its owner and adding one to its version, or fails with store.ErrNotFound,
// leaving an expired record as it is: an update never brings a session
// back.
func (s *Store) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	_, err := s.replace(id, 0, state, ttl)
	return err
}

// replace is Update and UpdateIf once their arguments are valid: it
// replaces the state of the live session under id, and its expiry (kept
// for store.KeepTTL), if the session is at version (any, for 0, which no
// record has), and returns the new version. The state is copied outside
// the lock, as in Create, so the critical section stays a map access and,
// only if the expiry moves, a heap repair.
func (s *Store) replace(id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	state = bytes.Clone(state)
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now()
	e, ok := sh.byID[id]
	if !ok || !e.liveAt(now) {
		return 0, store.ErrNotFound
	}
	if version != 0 && e.version != version {
		return 0, store.ErrConflict
	}
	e.state = state
	if ttl != store.KeepTTL {
		e.expires = store.Expiry(now, ttl)
		sh.heap.rekey(e)
	}
	e.version++
	return e.version, nil
}

// UpdateTTL sets the expiry of the live session under id to now+ttl, keeping
// its state and owner and adding one to its version, or fails with
// store.ErrNotFound.
func (s *Store) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := id.Validate(); err != nil {
		return err
	}
	if err := s.limits.CheckTTL(ttl); err != nil {
		return err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now()
	e, ok := sh.byID[id]
	if !ok || !e.liveAt(now) {
		return store.ErrNotFound
	}
	e.expires = store.Expiry(now, ttl)
	e.version++
	sh.heap.rekey(e)
	return nil
}

// Delete removes the session under id. It returns store.ErrNotFound if no
// live session had id, and removes an expired record under id all the same.
func (s *Store) Delete(ctx context.Context, id store.ID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := id.Validate(); err != nil {
		return err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now()
	e, ok := sh.byID[id]
	if !ok {
		return store.ErrNotFound
	}
	sh.remove(e)
	if !e.liveAt(now) {
		return store.ErrNotFound
	}
	return nil
}

// ChangeID moves the live session under oldID to newID in one atomic step,
// keeping its state, expiry and owner; its version counts on by one. It
// fails with store.ErrNotFound if oldID is not live, and otherwise with
// store.ErrDuplicateID if newID is live (including when oldID == newID). An
// expired record under newID is replaced.
func (s *Store) ChangeID(ctx context.Context, oldID, newID store.ID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := oldID.Validate(); err != nil {
		return err
	}
	if err := newID.Validate(); err != nil {
		return err
	}
	to := store.ID(strings.Clone(string(newID))) // see Create
	i, j := s.shardIndex(oldID), s.shardIndex(newID)
	s.lockPair(i, j)
	defer s.unlockPair(i, j)
	src, dst := &s.shards[i].shard, &s.shards[j].shard
	now := s.now()
	e, ok := src.byID[oldID]
	if !ok || !e.liveAt(now) {
		return store.ErrNotFound
	}
	if t, ok := dst.byID[newID]; ok {
		if t.liveAt(now) {
			return store.ErrDuplicateID
		}
		dst.remove(t)
	}
	src.remove(e)
	e.id = to
	e.version++ // the moved session counts on from the old one
	dst.insert(e)
	return nil
}

// lockPair locks shards i and j in ascending order, so that two ChangeIDs
// moving sessions in opposite directions cannot deadlock (DeleteExpired takes
// every lock in the same order), and only once if they are the same shard.
func (s *Store) lockPair(i, j int) {
	if i > j {
		i, j = j, i
	}
	s.shards[i].mu.Lock()
	if i != j {
		s.shards[j].mu.Lock()
	}
}

func (s *Store) unlockPair(i, j int) {
	s.shards[i].mu.Unlock()
	if i != j {
		s.shards[j].mu.Unlock()
	}
}

// lockAll locks every shard in ascending order, the order lockPair follows.
func (s *Store) lockAll() {
	for i := range s.shards {
		s.shards[i].mu.Lock()
	}
}

func (s *Store) unlockAll() {
	for i := len(s.shards) - 1; i >= 0; i-- {
		s.shards[i].mu.Unlock()
	}
}

// WithClock returns a view of the same sessions that reads clk instead: the
// in-memory counterpart of a second application server, with its own clock,
// sharing one database. Both views stay linearizable together, since they
// take the same locks; each operation is judged at its own view's clock.
func (s *Store) WithClock(clk clock.Clock) *Store {
	v := &Store{clock: clk, limits: s.limits, mask: s.mask, shards: s.shards, mergeBuf: make([]mergeItem, 0, len(s.shards))}
	return v
}

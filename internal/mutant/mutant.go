// Package mutant is a deliberately plain in-memory session store, one map
// under one mutex, into which a test can plant one realistic bug. It exists
// to prove that the simulator catches the mistakes real backends make: a
// checker that has never been seen to fail proves nothing.
//
// Without a bug it implements the contract exactly, which the simulator
// tests also check, so that every planted bug is the only difference.
package mutant

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// Bug names one planted mistake.
type Bug int

// The bugs. Each is a mistake found in real session stores or easy to make
// writing one.
const (
	None Bug = iota
	// ExpiryOffByOne treats a record as live at its expiry instant (<=
	// instead of <).
	ExpiryOffByOne
	// UpdateResurrects upserts: an update of an expired or absent session
	// writes it back, as scs, tower-sessions and axess do.
	UpdateResurrects
	// ChangeIDResetsExpiry gives the moved record a fresh default expiry.
	ChangeIDResetsExpiry
	// ChangeIDKeepsOld copies the record to the new ID and leaves the old.
	ChangeIDKeepsOld
	// ChangeIDOverwritesLive moves onto a live target instead of refusing.
	ChangeIDOverwritesLive
	// DeleteExpiredIgnoresLimit removes every expired record whatever the
	// limit.
	DeleteExpiredIgnoresLimit
	// DeleteExpiredWrongOrder reclaims by ID only, ignoring expiry.
	DeleteExpiredWrongOrder
	// CreateOverwritesLive replaces a live session instead of reporting a
	// duplicate ID.
	CreateOverwritesLive
	// UpdateTTLExtends adds the TTL to the old expiry instead of to now.
	UpdateTTLExtends
	// NoTruncation keeps nanoseconds in the expiry.
	NoTruncation
	// AliasesState keeps the caller's slice instead of a copy.
	AliasesState
	// DeleteKeepsExpired leaves an expired record behind on Delete.
	DeleteKeepsExpired
	// SweepSkipsTies resumes each step of a sweep strictly after the last
	// expiry the previous step removed, instead of at it: records sharing
	// that expiry but not taken by the step are passed over.
	SweepSkipsTies

	// The race bugs below behave correctly when operations run one at a
	// time: each splits an operation into two steps under the lock, with
	// a gap between them where another client can get in, as a backend
	// that sends two statements does. Only concurrent histories show them.

	// CreateCheckThenInsert checks that no live record has the ID, then
	// inserts, overwriting whatever another Create put there meanwhile.
	CreateCheckThenInsert
	// ChangeIDInsertThenDelete copies the record to the new ID, then
	// deletes the old one: in between the session is live under both.
	ChangeIDInsertThenDelete
	// UpdateCheckThenWrite checks that the session is live, then writes it
	// whole, bringing back a session deleted in between.
	UpdateCheckThenWrite
	// DeleteExpiredStaleSnapshot lists the expired records, then deletes
	// them by ID, including one replaced by a live session in between.
	DeleteExpiredStaleSnapshot
	// UpdateTTLReadModifyWrite reads the record, then writes it back whole
	// with the new expiry, undoing an Update (or a Delete) in between.
	UpdateTTLReadModifyWrite

	// The bugs of the owner operations (store.Owners, store.Toucher)
	// follow, so that every bug above keeps its value: first the ones a
	// sequential run shows, then, from firstOwnerRace, race bugs again.

	// OwnerLostOnChangeID moves the state and expiry but not the owner:
	// the ChangeID written before sessions had owners, copying the columns
	// it knew of, so that a rotated session drops off its user's list and
	// out of reach of "log out everywhere".
	OwnerLostOnChangeID
	// ListIncludesExpired lists the owner's records without the liveness
	// filter (WHERE owner = $1, missing AND expires > now()): the account
	// page shows devices long logged out, and their handles revoke nothing.
	ListIncludesExpired
	// CycleKeepsOld writes the session under the new ID and leaves the old
	// one live: a login that rotates by insert-and-forget, so the ID an
	// attacker planted before login still works after it (session
	// fixation, the very thing Cycle exists to stop).
	CycleKeepsOld
	// TouchResurrects extends whatever record has the ID, expired or not,
	// and returns it (UPDATE ... SET expires = now()+ttl WHERE id = $1,
	// missing AND expires > now()): an idle timeout that a late request
	// undoes.
	TouchResurrects

	// RevokeAllMissesConcurrent lists the owner's session IDs, then
	// deletes those IDs: "log out everywhere" as a SELECT followed by a
	// DELETE ... WHERE id = ANY($1). A session the owner logs in meanwhile
	// survives it, and one whose ID was deleted and reused meanwhile, by
	// anyone, goes with it.
	RevokeAllMissesConcurrent
	// CapCountThenDelete enforces the cap on the owner's sessions in three
	// statements: count (and pick the oldest beyond the cap), delete them,
	// insert the new one. Two logins of one owner both count before either
	// inserts, and the owner ends over its cap (the race modo's session
	// limit has).
	CapCountThenDelete

	// The bugs of versioned records (store.Versioner) follow: first the
	// one a sequential run shows, then, from firstVersionRace, race bugs.

	// VersionNotBumped leaves the version as it is on UpdateTTL: the
	// UPDATE ... SET expires = $2 written before records had versions,
	// so that a conditional write made from a read before the renewal
	// still applies, over a change it never saw the version of.
	VersionNotBumped
	// UpdateIfIgnoresVersion compares the version, then writes whatever
	// the version is by then: UpdateIf as a Load and a plain Update (UPDATE
	// ... WHERE id = $1, missing AND version = $2). Two requests that load
	// one version both save, and the first one's change is lost: the lost
	// update conditional writes exist to prevent.
	UpdateIfIgnoresVersion
	// ChangeIDIfIgnoresVersion is the same mistake in ChangeIDIf: it
	// compares the version, then moves the session and writes its state
	// whatever the version is by then, losing a change made in between.
	ChangeIDIfIgnoresVersion
	numBugs
)

const (
	// firstRace is the first race bug.
	firstRace = CreateCheckThenInsert
	// firstOwner is the first bug of the owner operations, and the end of
	// the first run of race bugs.
	firstOwner = OwnerLostOnChangeID
	// firstOwnerRace is the first race bug of the owner operations.
	firstOwnerRace = RevokeAllMissesConcurrent
	// firstVersion is the first bug of versioned records, and the end of
	// the owners' race bugs.
	firstVersion = VersionNotBumped
	// firstVersionRace is the first race bug of versioned records.
	firstVersionRace = UpdateIfIgnoresVersion
)

var bugNames = [...]string{"none", "expiry-off-by-one", "update-resurrects", "change-id-resets-expiry", "change-id-keeps-old", "change-id-overwrites-live", "delete-expired-ignores-limit", "delete-expired-wrong-order", "create-overwrites-live", "update-ttl-extends", "no-truncation", "aliases-state", "delete-keeps-expired", "sweep-skips-ties",
	"create-check-then-insert", "change-id-insert-then-delete", "update-check-then-write", "delete-expired-stale-snapshot", "update-ttl-read-modify-write",
	"owner-lost-on-change-id", "list-includes-expired", "cycle-keeps-old", "touch-resurrects",
	"revoke-all-misses-concurrent", "cap-count-then-delete",
	"version-not-bumped", "update-if-ignores-version", "change-id-if-ignores-version"}

// Every bug has a name: this fails to compile when one is added without.
var _ [numBugs]string = bugNames

func (b Bug) String() string { return bugNames[b] }

// OfOwners reports whether the bug is in the operations of the optional
// capabilities store.Owners and store.Toucher, which only traces holding
// them (sim.GenConfig.Owners, Touch) can show.
func (b Bug) OfOwners() bool { return firstOwner <= b && b < firstVersion }

// OfVersions reports whether the bug is in the versions of records
// (store.Versioner), which only traces that check them
// (sim.GenConfig.Versions) can show.
func (b Bug) OfVersions() bool { return b >= firstVersion }

// IsRace reports whether the bug shows only when operations overlap.
func (b Bug) IsRace() bool {
	return firstRace <= b && b < firstOwner || firstOwnerRace <= b && b < firstVersion || firstVersionRace <= b && b < numBugs
}

// Bugs lists the plantable bugs that a sequential run shows.
func Bugs() []Bug {
	var out []Bug
	for b := Bug(1); b < numBugs; b++ {
		if !b.IsRace() {
			out = append(out, b)
		}
	}
	return out
}

// RaceBugs lists the bugs that only concurrent operations show.
func RaceBugs() []Bug {
	var out []Bug
	for b := firstRace; b < numBugs; b++ {
		if b.IsRace() {
			out = append(out, b)
		}
	}
	return out
}

// gap releases the lock between the two steps of a racy operation for as
// long as a round trip between two statements would take. A yield alone
// (runtime.Gosched) models no round trip: under the race detector on a
// loaded machine it often found no other client ready to run, and the
// concurrent phase caught ChangeIDIfIgnoresVersion in as few as 17 runs of
// 20; a real backend's second statement waits for the network.
func (s *Store) gap() {
	s.mu.Unlock()
	time.Sleep(roundTrip)
	s.mu.Lock()
}

// roundTrip is a short loopback round trip.
const roundTrip = 20 * time.Microsecond

// Store is the plain store with at most one bug planted.
type Store struct {
	bug    Bug
	clk    clock.Clock
	limits store.Limits
	mu     sync.Mutex
	recs   map[store.ID]store.Record
}

// New returns an empty store with bug planted (None for a correct one).
func New(clk clock.Clock, limits store.Limits, bug Bug) *Store {
	return &Store{bug: bug, clk: clk, limits: limits.WithDefaults(), recs: map[store.ID]store.Record{}}
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Owners    = (*Store)(nil)
	_ store.Toucher   = (*Store)(nil)
	_ store.Versioner = (*Store)(nil)
	_ store.Scanner   = (*Store)(nil)
)

func (s *Store) now() time.Time {
	if s.bug == NoTruncation {
		return s.clk.Now().UTC()
	}
	return store.Instant(s.clk.Now())
}

func (s *Store) expiry(now time.Time, ttl time.Duration) time.Time {
	if s.bug == NoTruncation {
		return now.Add(ttl)
	}
	return store.Expiry(now, ttl)
}

func (s *Store) copyState(b []byte) []byte {
	if s.bug == AliasesState {
		return b
	}
	return slices.Clone(b)
}

func (s *Store) live(now time.Time, id store.ID) (store.Record, bool) {
	r, ok := s.recs[id]
	if !ok {
		return r, false
	}
	if s.bug == ExpiryOffByOne {
		return r, !now.After(r.Expires)
	}
	return r, now.Before(r.Expires)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := s.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, ok := s.live(now, id); ok && s.bug != CreateOverwritesLive {
		return store.ErrDuplicateID
	}
	if s.bug == CreateCheckThenInsert {
		s.gap()
	}
	exp := s.expiry(now, ttl)
	s.recs[id] = store.Record{State: s.copyState(state), Expires: exp, Version: store.VersionSeedOf(ctx, id, "", state).At(exp)}
	return nil
}

// Load implements store.Store.
func (s *Store) Load(_ context.Context, id store.ID) (store.Record, error) {
	if err := id.Validate(); err != nil {
		return store.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.live(s.now(), id)
	if !ok {
		return store.Record{}, store.ErrNotFound
	}
	r.State = slices.Clone(r.State)
	return r, nil
}

// Update implements store.Store.
func (s *Store) Update(_ context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := s.limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.live(now, id) // r is the record held, live or not
	if !ok && s.bug != UpdateResurrects {
		return store.ErrNotFound
	}
	if s.bug == UpdateCheckThenWrite {
		s.gap()
	}
	s.recs[id] = store.Record{State: s.copyState(state), Expires: s.expiry(now, ttl), Owner: r.Owner, Version: r.Version + 1}
	return nil
}

// UpdateTTL implements store.Store.
func (s *Store) UpdateTTL(_ context.Context, id store.ID, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if err := s.limits.CheckTTL(ttl); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.live(now, id)
	if !ok {
		return store.ErrNotFound
	}
	if s.bug == UpdateTTLReadModifyWrite {
		s.gap()
	}
	if s.bug == UpdateTTLExtends {
		r.Expires = s.expiry(r.Expires, ttl)
	} else {
		r.Expires = s.expiry(now, ttl)
	}
	if s.bug != VersionNotBumped {
		r.Version++
	}
	s.recs[id] = r
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(_ context.Context, id store.ID) error {
	if err := id.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.live(s.now(), id); !ok {
		if s.bug != DeleteKeepsExpired {
			delete(s.recs, id)
		}
		return store.ErrNotFound
	}
	delete(s.recs, id)
	return nil
}

// ChangeID implements store.Store.
func (s *Store) ChangeID(_ context.Context, old, new store.ID) error {
	if err := old.Validate(); err != nil {
		return err
	}
	if err := new.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.live(now, old)
	if !ok {
		return store.ErrNotFound
	}
	if _, ok := s.live(now, new); ok && s.bug != ChangeIDOverwritesLive {
		return store.ErrDuplicateID
	}
	if s.bug == OwnerLostOnChangeID {
		r.Owner = ""
	}
	r.Version++
	if s.bug == ChangeIDInsertThenDelete {
		s.recs[new] = r
		s.gap()
		delete(s.recs, old)
		return nil
	}
	if s.bug != ChangeIDKeepsOld {
		delete(s.recs, old)
	}
	if s.bug == ChangeIDResetsExpiry {
		r.Expires = s.expiry(now, 30*time.Minute)
	}
	s.recs[new] = r
	return nil
}

// DeleteExpired implements store.Store.
func (s *Store) DeleteExpired(_ context.Context, limit int) (int, error) {
	if err := store.CheckLimit(limit); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.expired(s.now(), func(time.Time) bool { return true }, s.bug != DeleteExpiredWrongOrder)
	if limit > 0 && len(vs) > limit && s.bug != DeleteExpiredIgnoresLimit {
		vs = vs[:limit]
	}
	if s.bug == DeleteExpiredStaleSnapshot {
		s.gap()
	}
	for _, v := range vs {
		delete(s.recs, v.id)
	}
	return len(vs), nil
}

// victim is an expired record as the cleaners see it.
type victim struct {
	id  store.ID
	exp time.Time
}

// expired lists the records expired at now whose expiry passes keep, in
// reclaim order: by expiry then ID, or by ID alone if byExpiry is false.
// The caller holds s.mu.
func (s *Store) expired(now time.Time, keep func(time.Time) bool, byExpiry bool) []victim {
	var vs []victim
	for id, r := range s.recs {
		if _, ok := s.live(now, id); !ok && keep(r.Expires) {
			vs = append(vs, victim{id, r.Expires})
		}
	}
	slices.SortFunc(vs, func(a, b victim) int {
		if byExpiry {
			if c := a.exp.Compare(b.exp); c != 0 {
				return c
			}
		}
		return strings.Compare(string(a.id), string(b.id))
	})
	return vs
}

// Sweep implements store.Sweeper the way a database backend does: each
// step takes the earliest expired records from where the previous step
// ended, rather than from the start.
func (s *Store) Sweep(_ context.Context, batch int) (int, error) {
	if err := store.CheckBatch(batch); err != nil {
		return 0, err
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	total := 0
	var from *time.Time // nil: from the start
	for {
		n, last := s.sweepStep(now, from, batch)
		total += n
		if n < batch {
			return total, nil
		}
		from = &last
	}
}

// sweepStep removes up to batch expired records at now, earliest first,
// whose expiry is at or after from, and returns how many and the last
// one's expiry.
func (s *Store) sweepStep(now time.Time, from *time.Time, batch int) (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.expired(now, func(exp time.Time) bool {
		if from == nil {
			return true
		}
		if s.bug == SweepSkipsTies {
			return exp.After(*from)
		}
		return !exp.Before(*from)
	}, true)
	if len(vs) > batch {
		vs = vs[:batch]
	}
	for _, v := range vs {
		delete(s.recs, v.id)
	}
	if len(vs) == 0 {
		return 0, time.Time{}
	}
	return len(vs), vs[len(vs)-1].exp
}

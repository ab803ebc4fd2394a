package sim

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// A world is one state the store may be in: the model's records, and the
// sweeps that have started and not yet ended, each somewhere in its steps.
// Worlds are never changed once built; a step makes new ones.
type world struct {
	m      *model.Model
	sweeps []sweepRun // ordered by op
	ghosts []ghost    // records removed by cleanups that have not returned
	open   []int      // DeleteExpired operations started and not returned
	fp     uint64     // fingerprint of all of it
	// blind: the history does not check versions, so records that differ
	// only in their versions are the same (and ghosts keep none).
	blind bool

	// reach memoises closure([w]): the search tries many operations in
	// the same state, and the worlds a state's sweeps can reach are the
	// same for each.
	reach atomic.Pointer[[]*world]
}

// maxMemo bounds the closures worth keeping: the search holds on to every
// state it has seen, and a few large closures kept for each would cost
// more memory than recomputing them costs time.
const maxMemo = 64

// reachable returns closure([w]), kept if it is small.
func (w *world) reachable(limit int, haunt bool) ([]*world, bool) {
	if r := w.reach.Load(); r != nil {
		return *r, len(*r) <= limit
	}
	out, ok := closure([]*world{w}, limit, haunt)
	if ok && len(out) <= maxMemo {
		w.reach.Store(&out)
	}
	return out, ok
}

// sweepRun is a sweep in progress: store.Sweep is a series of atomic steps,
// and other operations run between them, so the checker keeps how far each
// running sweep has got and lets it take its steps at any point before it
// returns.
type sweepRun struct {
	op      int       // the sweep's index in the trace
	now     time.Time // its one clock reading
	batch   int
	removed int
	from    time.Time // where its next step resumes (the latest expiry it removed)
	started bool      // it has removed something: from is set
	done    bool      // a step removed fewer than batch: it has finished
}

// ghost is a record a cleanup (DeleteExpired, a sweep's step) has removed
// while the cleanup has not yet returned. The cleanup took effect at one
// point, but a plain read on another instance, one whose clock still calls
// the record live, may still return it until then: PostgreSQL's reads do
// not wait for the cleanup's row locks, and see the table as it was
// committed when they started. (Making every Load lock its row would turn
// each read into a write.) Only such a read can tell: any other operation
// on the record waits for the cleanup and finds it gone, as the model has
// it; and without skew no read calls an expired record live.
//
// A ghost is kept until no cleanup is running, rather than until the one
// that removed it returns: worlds that differ only in which of several
// running sweeps removed a record would otherwise multiply past what a
// check can follow. It is kept at all only in a history with a second
// instance, the only kind in which a read can call an expired record
// live.
type ghost struct {
	id  store.ID
	rec store.Record
}

func newWorld(m *model.Model, sweeps []sweepRun, blind bool) *world {
	return makeWorld(m, sweeps, nil, nil, blind)
}

// derive is a world with w's ghosts and open cleanups, and m and sweeps.
func (w *world) derive(m *model.Model, sweeps []sweepRun) *world {
	return w.with(m, sweeps, w.ghosts, w.open)
}

// with is a world of the same history as w with the parts given.
func (w *world) with(m *model.Model, sweeps []sweepRun, ghosts []ghost, open []int) *world {
	return makeWorld(m, sweeps, ghosts, open, w.blind)
}

func makeWorld(m *model.Model, sweeps []sweepRun, ghosts []ghost, open []int, blind bool) *world {
	w := &world{m: m, sweeps: sweeps, ghosts: ghosts, open: open, blind: blind}
	var fp uint64
	if blind {
		fp = blindFingerprint(m)
	} else {
		fp = m.Fingerprint()
	}
	for _, r := range sweeps {
		// Mixed in order; the runs are kept sorted by op.
		fp = fp*1099511628211 ^ uint64(r.op)<<32 ^ uint64(r.removed)<<1 ^ uint64(r.from.UnixNano())
		if r.done {
			fp ^= 1
		}
	}
	for _, g := range ghosts {
		fp = fp*1099511628211 ^ uint64(len(g.id))<<32 ^ uint64(g.rec.Expires.UnixNano())
	}
	for _, op := range open {
		fp = fp*1099511628211 ^ uint64(op)
	}
	w.fp = fp
	return w
}

func (w *world) equal(o *world) bool {
	if w.fp != o.fp || !slices.Equal(w.sweeps, o.sweeps) || !slices.Equal(w.open, o.open) ||
		!slices.EqualFunc(w.ghosts, o.ghosts, func(a, b ghost) bool { return a.id == b.id && a.rec.Equal(b.rec) }) {
		return false
	}
	if w.blind {
		return blindEqual(w.m, o.m)
	}
	return w.m.Equal(o.m)
}

// clone copies the world for a step to change: the model and the runs.
func (w *world) clone() (*model.Model, []sweepRun) {
	return w.m.Clone(), slices.Clone(w.sweeps)
}

// haunted adds ghosts for the entries a cleanup removed, if haunt is set,
// kept in order so that equal sets compare equal; without their versions
// if blind, as reads in such a history return none.
func haunted(haunt, blind bool, ghosts []ghost, gone []model.Entry) []ghost {
	if !haunt || len(gone) == 0 {
		return ghosts
	}
	out := slices.Clone(ghosts)
	for _, e := range gone {
		rec := e.Record
		if blind {
			rec.Version = 0
		}
		out = append(out, ghost{id: e.ID, rec: rec})
	}
	slices.SortFunc(out, func(a, b ghost) int {
		if c := strings.Compare(string(a.id), string(b.id)); c != 0 {
			return c
		}
		return a.rec.Expires.Compare(b.rec.Expires)
	})
	return slices.CompactFunc(out, func(a, b ghost) bool { return a.id == b.id && a.rec.Equal(b.rec) })
}

// laid drops the ghosts once no cleanup is running.
func laid(ghosts []ghost, sweeps []sweepRun, open []int) []ghost {
	if len(sweeps) == 0 && len(open) == 0 {
		return nil
	}
	return ghosts
}

// seen reports whether a load at now may have read the record a ghost
// keeps: one whose clock calls it live.
func (w *world) seen(id store.ID, rec store.Record, now time.Time) bool {
	return slices.ContainsFunc(w.ghosts, func(g ghost) bool {
		return g.id == id && g.rec.Equal(rec) && g.rec.LiveAt(now)
	})
}

// listedGhosts reports whether a list of owner's sessions at now is the
// model's list with some ghosts of owner's records added that now calls
// live, in list order (ties and handles by stored ID, as the model's): a
// plain read beside a cleanup, as for seen.
func (w *world) listedGhosts(owner store.Owner, got []store.OwnedSession, now time.Time) bool {
	type cand struct {
		e    model.Entry
		must bool // live in the model: the list cannot leave it out
	}
	var all []cand
	for _, e := range w.m.Entries() {
		if e.Owner == owner && e.LiveAt(now) {
			all = append(all, cand{e, true})
		}
	}
	for _, g := range w.ghosts {
		if g.rec.Owner == owner && g.rec.LiveAt(now) {
			all = append(all, cand{model.Entry{ID: g.id, Record: g.rec}, false})
		}
	}
	key := w.m.StoredID
	slices.SortStableFunc(all, func(a, b cand) int {
		if c := a.e.Expires.Compare(b.e.Expires); c != 0 {
			return c
		}
		return strings.Compare(string(key(a.e.ID)), string(key(b.e.ID)))
	})
	j := 0
	for _, c := range all {
		if j < len(got) && got[j].Handle == store.HandleOf(key(c.e.ID)) && got[j].Expires.Equal(c.e.Expires) {
			j++
		} else if c.must {
			return false
		}
	}
	return j == len(got)
}

// scannedGhosts reports whether a page of Scan(after, limit) at now is the
// model's with some ghosts that now calls live added, in ID order: a plain
// read beside a cleanup, as for seen. The page ends at limit, so a live
// record may be left out only past it.
func (w *world) scannedGhosts(after store.ID, limit int, got []store.ID, now time.Time) bool {
	type cand struct {
		id   store.ID
		must bool // live in the model: the page cannot leave it out
	}
	var all []cand
	for _, e := range w.m.Entries() {
		if e.ID > after && e.LiveAt(now) {
			all = append(all, cand{e.ID, true})
		}
	}
	for _, g := range w.ghosts {
		if g.id > after && g.rec.LiveAt(now) {
			all = append(all, cand{g.id, false})
		}
	}
	// Stable: an ID both live and a ghost keeps its live entry, a must.
	slices.SortStableFunc(all, func(a, b cand) int { return strings.Compare(string(a.id), string(b.id)) })
	all = slices.CompactFunc(all, func(a, b cand) bool { return a.id == b.id })
	j := 0
	for _, c := range all {
		if j == limit {
			break
		}
		if j < len(got) && got[j] == c.id {
			j++
		} else if c.must {
			return false
		}
	}
	return j == len(got)
}

// staleOwned reports whether any record of owner is expired at a sweep's
// reading at: one a step of that sweep could take.
func (w *world) staleOwned(owner store.Owner, at time.Time) bool {
	if owner == "" {
		return false
	}
	return w.m.Any(func(e model.Entry) bool { return e.Owner == owner && !e.LiveAt(at) })
}

// worlds is the checker's state: every world consistent with what the
// backend has said so far along one order of the operations. It is a set:
// no two members are equal.
type worlds struct {
	ws   []*world
	hash uint64
}

func newWorlds(ws []*world) *worlds {
	ws = dedupeWorlds(ws)
	var h uint64
	for _, w := range ws {
		h += w.fp // order-independent: a set
	}
	return &worlds{ws: ws, hash: h}
}

func (s *worlds) equal(o *worlds) bool {
	if s.hash != o.hash || len(s.ws) != len(o.ws) {
		return false
	}
	for _, w := range s.ws {
		if !slices.ContainsFunc(o.ws, w.equal) {
			return false
		}
	}
	return true
}

func (s *worlds) contains(w *world) bool { return slices.ContainsFunc(s.ws, w.equal) }

// inflight reports whether any world has a sweep running.
func (s *worlds) inflight() bool {
	for _, w := range s.ws {
		if len(w.sweeps) > 0 {
			return true
		}
	}
	return false
}

// dedupeWorlds drops worlds equal to an earlier one, keeping order.
func dedupeWorlds(ws []*world) []*world { return distinct(ws, worldFP, (*world).equal) }

func worldFP(w *world) uint64 { return w.fp }

// sweepSteps returns the worlds a world can reach by one step of one of its
// running sweeps. A step resumes where the previous one ended, or, as a
// sweep built on DeleteExpired does, from the start: the two differ only
// when a record was written behind the resume point while the sweep ran,
// and the contract lets a sweep take or leave it.
//
// A step that would remove nothing is not taken: it only ends the sweep.
// A sweep left running can still end that way when it returns, and ended,
// it would differ only in not taking a record written later (by a client
// whose clock is behind): keeping the running world alone halves the
// worlds per sweep, at the price of letting such a record go to a sweep
// that had in fact ended.
func (w *world) sweepSteps(haunt bool) []*world {
	var out []*world
	for k, r := range w.sweeps {
		if r.done {
			continue
		}
		expired := w.m.Expired(r.now)
		froms := []*time.Time{nil}
		if r.started && slices.ContainsFunc(expired, func(e model.Entry) bool { return e.Expires.Before(r.from) }) {
			froms = []*time.Time{&r.from, nil}
		}
		for _, from := range froms {
			if !takes(expired, from) {
				continue
			}
			runs := slices.Clone(w.sweeps)
			m := w.m.Clone() // worlds share models they do not change
			var gone []model.Entry
			runs[k], gone = r.stepGone(m, from)
			out = append(out, w.with(m, runs, haunted(haunt, w.blind, w.ghosts, gone), w.open))
		}
	}
	return out
}

// takes reports whether a step resuming at from (nil: the start) would
// remove any of the records expired at its sweep's reading.
func takes(expired []model.Entry, from *time.Time) bool {
	return slices.ContainsFunc(expired, func(e model.Entry) bool { return from == nil || !e.Expires.Before(*from) })
}

// step takes one step of the sweep on m, resuming at from.
func (r sweepRun) step(m *model.Model, from *time.Time) sweepRun {
	r, _ = r.stepGone(m, from)
	return r
}

// stepGone is step, also returning what the step removed.
func (r sweepRun) stepGone(m *model.Model, from *time.Time) (sweepRun, []model.Entry) {
	gone := m.SweepStep(r.now, from, r.batch)
	r.removed += len(gone)
	if len(gone) > 0 {
		r.from, r.started = gone[len(gone)-1].Expires, true
	}
	r.done = len(gone) < r.batch
	return r, gone
}

// closure adds to ws every world its running sweeps can reach by taking
// steps: before an operation, each running sweep may have taken any number
// of them. It gives up, returning false, past limit worlds.
func closure(ws []*world, limit int, haunt bool) ([]*world, bool) {
	out := slices.Clone(ws)
	seen := newFPSet(worldFP, (*world).equal, len(ws))
	for _, w := range ws {
		seen.add(w)
	}
	for i := 0; i < len(out); i++ {
		for _, n := range out[i].sweepSteps(haunt) {
			if !seen.add(n) {
				continue
			}
			out = append(out, n)
			if len(out) > limit {
				return nil, false
			}
		}
	}
	return out, true
}

// conflicts reports whether the order of op and a step of one of w's
// running sweeps can matter. A step removes only records expired at its
// sweep's clock reading, so an operation commutes with every step unless,
// at the clock reading of some running sweep, it meets an expired record
// that it removes or replaces (Create, Delete, ChangeID's source or
// target), that it reads or renews because its own clock still calls it
// live (another instance's), or it writes a record already expired there;
// an owner's operations, also when one of the owner's records is expired
// there, since they read, count or remove the owner's records. UpdateIf
// and ChangeIDIf are Update and ChangeID for this (the version they
// compare changes with writes, not with removals of records they would
// not find), and Scan is a Load of every ID it may return.
// Reading or failing to update a record expired for both changes nothing
// either way. Steps can wait until an operation that does not commute:
// that keeps the set of worlds small, and loses none, since the worlds
// skipped are the same states reached in another order.
func (w *world) conflicts(p *input) bool {
	if len(w.sweeps) == 0 {
		return false
	}
	now := p.ev.Now
	for _, r := range w.sweeps {
		if r.done {
			continue
		}
		// stale: a record at id that the sweep would take.
		stale := func(id store.ID) (store.Record, bool) {
			rec, ok := w.m.Get(id)
			return rec, ok && !rec.LiveAt(r.now)
		}
		born := func(ttl time.Duration) bool { return !r.now.Before(store.Expiry(now, ttl)) }
		// renews: an update whose clock calls the record live, of one the
		// sweep would take, or to an expiry the sweep would take.
		renews := func(id store.ID, ttl time.Duration) bool {
			rec, ok := w.m.Get(id)
			return ok && rec.LiveAt(now) && (!rec.LiveAt(r.now) || born(ttl))
		}
		switch o := p.op.(type) {
		case Load:
			if rec, ok := stale(o.ID); ok && rec.LiveAt(now) {
				return true
			}
		case Update:
			if renews(o.ID, o.TTL) {
				return true
			}
		case UpdateTTL:
			if renews(o.ID, o.TTL) {
				return true
			}
		case Create:
			if _, ok := stale(o.ID); ok || born(o.TTL) {
				return true
			}
		case Delete:
			if _, ok := stale(o.ID); ok {
				return true
			}
		case ChangeID:
			_, a := stale(o.Old)
			_, b := stale(o.New)
			if a || b {
				return true
			}
		case UpdateIf:
			// Update's, when it sets an expiry; with KeepTTL the
			// record keeps its own, so only a record the sweep would
			// take can tell the orders apart.
			if o.TTL == store.KeepTTL {
				if rec, ok := stale(o.ID); ok && rec.LiveAt(now) {
					return true
				}
			} else if renews(o.ID, o.TTL) {
				return true
			}
		case ChangeIDIf:
			// ChangeID's: it moves the record with its expiry.
			_, a := stale(o.Old)
			_, b := stale(o.New)
			if a || b {
				return true
			}
		case Scan:
			// A read of every ID after o.After: of a record the sweep
			// would take only if its own clock calls it live.
			if w.m.Any(func(e model.Entry) bool { return e.ID > o.After && !e.LiveAt(r.now) && e.LiveAt(now) }) {
				return true
			}
		case Touch:
			// A read, and an update if it extends.
			if rec, ok := stale(o.ID); (ok && rec.LiveAt(now)) || renews(o.ID, o.TTL) {
				return true
			}
		case CreateOwned:
			// Create's, and its owner's records: it counts and evicts
			// them.
			if _, ok := stale(o.ID); ok || born(o.TTL) || w.staleOwned(o.Owner, r.now) {
				return true
			}
		case Cycle:
			_, a := stale(o.Old)
			_, b := stale(o.New)
			if a || b || born(o.TTL) || o.Owner != "" && w.staleOwned(o.Owner, r.now) {
				return true
			}
		case List, Revoke, RevokeAll:
			// They read or remove only the owner's records.
			if w.staleOwned(opOwner(o), r.now) {
				return true
			}
		default:
			return true // DeleteExpired, an owner's operations, anything new: assume it does
		}
	}
	return false
}

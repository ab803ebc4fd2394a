package sim

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// GenConfig shapes the traces Generate makes. The zero value is usable.
type GenConfig struct {
	// Ops is the number of operations before the closing sweep (default 500).
	Ops int
	// Start is where the clock starts (default 2026-01-01T00:00:00Z).
	Start time.Time
	// Limits are the store's limits (default: 64-byte states, 1h TTLs, small
	// enough that the generator reaches both edges).
	Limits store.Limits
	// Faults is the fault profile: which faults precede store operations,
	// how often, and whether the clock misbehaves (default: none).
	Faults faults.Profile
	// Clients is the number of concurrent clients (default 1: a sequential
	// trace, the same one for a seed as before clients existed). With more,
	// each client gets Ops operations on average, every store operation
	// and fault goes to a client the seed picks, and clock operations are
	// barriers between rounds in which all clients run at once.
	Clients int
	// IDs is the size of the pool of IDs operations draw from (default: a
	// size the seed picks, from 1 to 18). Few IDs make clients collide.
	IDs int
	// Owners generates the operations of store.Owners (owned sessions,
	// caps, lists, revocations, cycles), and Touch those of
	// store.Toucher: set them for a backend that has the capability.
	// Without them a seed gives the same trace as before they existed.
	Owners, Touch bool
	// Versions generates the conditional writes of store.Versioner
	// (UpdateIf, ChangeIDIf) and makes the trace check the versions Load
	// and Touch return (Trace.Versions); Scan generates store.Scanner's
	// Scan. Set them for a backend that has the capability. They are drawn
	// after everything else, so without them a seed gives the same trace
	// as before they existed.
	Versions, Scan bool
}

// DefaultStart is where generated traces start the clock unless told otherwise.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultLimits are the limits generated traces use unless told otherwise.
var DefaultLimits = store.Limits{MaxStateSize: 64, MaxTTL: time.Hour}

func (c GenConfig) withDefaults() GenConfig {
	if c.Ops <= 0 {
		c.Ops = 500
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	if c.Limits == (store.Limits{}) {
		c.Limits = DefaultLimits
	}
	c.Limits = c.Limits.WithDefaults()
	c.Clients = min(max(c.Clients, 1), MaxClients)
	c.IDs = min(max(c.IDs, 0), len(idCandidates))
	return c
}

// The kinds of step the generator chooses between, each with a per-seed
// weight.
const (
	gCreate = iota
	gLoad
	gUpdate
	gUpdateTTL
	gDelete
	gChangeID
	gDeleteExpired
	gSweep
	gAdvance
	gAdvanceToExpiry
	gClockBack // clock faults only: an NTP step backwards
	gSkew      // clock faults only: the second instance's clock drifts
	numGen
)

// MaxSkew bounds the disagreement between the two instances' clocks in a
// clock-fault run, in units of the run's TTL scale.
const MaxSkew = 3

// MaxIDs is the largest ID pool GenConfig.IDs can ask for.
const MaxIDs = len(idCandidates)

// idCandidates is the alphabet of IDs a run draws its pool from. It mixes
// cases and punctuation so that byte order differs from any locale's order
// ("B" < "Z" < "_" < "a" in bytes), and holds prefixes of each other.
var idCandidates = [...]store.ID{"a", "b", "c", "A", "B", "Z", "_", "-", "0", "9", "s", "s1", "s10", "s2", "x_y", "x-y", "aa", "ab"}

// invalidIDs are the IDs that must be rejected before a backend sees them.
var invalidIDs = []store.ID{"", "has space", "semi;colon", "quote'", "é", store.ID(strings.Repeat("a", store.MaxIDLen+1)), "nul\x00"}

// swarm is one seed's choice of what to stress (swarm testing: disabling
// some operations entirely makes others' corners reachable).
type swarm struct {
	weights   [numGen]int
	user      [numUserGen]int // the optional capabilities' kinds
	vers      [numVersionGen]int
	owners    []store.Owner
	total     int
	pool      []store.ID
	ttlUnit   time.Duration
	ttlSpan   int
	subMicro  bool    // TTLs with nanosecond parts, to exercise truncation
	badInputs float64 // share of ops with an invalid argument
	second    float64 // share of store ops on the second (skewed) instance
}

// The kinds of step of the optional capabilities, drawn after everything
// else so that a seed without them gives the trace it always gave.
const (
	gCreateOwned = iota
	gCycle
	gList
	gRevoke
	gRevokeAll
	gTouch
	numUserGen
)

// The kinds of step of store.Versioner and store.Scanner, drawn after
// the owners' for the same reason.
const (
	gUpdateIf = iota
	gChangeIDIf
	gScan
	numVersionGen
)

// ownerCandidates are the owners a run draws from: a space, non-ASCII and
// a prefix of another, so that owners are compared as whole byte strings.
var ownerCandidates = [...]store.Owner{"alice", "bob", "Zoë", "alice smith"}

// invalidOwners must be rejected before a backend sees them.
var invalidOwners = []store.Owner{"", store.Owner(strings.Repeat("o", store.MaxOwnerLen+1)), "nul\x00", "\xff\xfe"}

type generator struct {
	cfg   GenConfig
	rng   *rand.Rand
	sw    swarm
	m     *model.Model // shadow state, so the generator can aim at corners
	now   time.Time
	skew  time.Duration // the second instance's clock minus the first's
	write int           // unique state counter: a lost or stale write is visible
	ops   []Op
	// seen holds, for each ID conditional writes were aimed at, the
	// versions the generator found it at, latest last: a stale version
	// that some record really had makes a better near miss than a made-up
	// one, and under concurrency often the version another client's
	// write has not yet replaced.
	seen map[store.ID][]uint64
	// client is the client the current step's operations go to, in a
	// trace of several clients.
	client int
}

// Generate derives a trace from seed. The same seed and config give the same
// trace on every call and every machine.
func Generate(seed uint64, cfg GenConfig) *Trace {
	cfg = cfg.withDefaults()
	g := &generator{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(seed, 0x686f7572676c6173)), // "hourglas"
		m:   model.New(cfg.Limits),
		now: store.Instant(cfg.Start),
	}
	g.sw = g.newSwarm()
	steps := cfg.Ops * cfg.Clients
	g.ops = make([]Op, 0, steps+len(g.sw.pool)+2)
	for range steps {
		if cfg.Clients > 1 {
			g.client = g.rng.IntN(cfg.Clients)
		}
		g.step()
	}
	if cfg.Clients > 1 {
		// A barrier, so that the closing reads see every client's work.
		g.emit(Advance{})
		g.client = 0
	}
	// Close with a sweep that reads every ID, so a wrong final state is
	// observed even if no random read happened to look.
	for _, id := range g.sw.pool {
		g.emit(Load{ID: id})
	}
	if cfg.Scan {
		// And a scan of them all: a session left where it should not
		// be shows in a page, whatever ID it is under.
		g.emit(Scan{Limit: len(idCandidates) + 1})
	}
	g.emit(DeleteExpired{Limit: 0})
	t := &Trace{Seed: seed, Start: cfg.Start.UTC(), Limits: g.cfg.Limits, Versions: cfg.Versions, Ops: g.ops}
	if cfg.Clients > 1 {
		t.Clients = cfg.Clients
	}
	return t
}

// onClient wraps op for the current step's client, in a trace of several.
func (g *generator) onClient(op Op) Op {
	if g.cfg.Clients > 1 {
		return Client{N: g.client, Op: op}
	}
	return op
}

func (g *generator) newSwarm() swarm {
	var sw swarm
	for k := range sw.weights {
		if g.rng.IntN(5) > 0 { // each kind is off in a fifth of the seeds
			sw.weights[k] = 1 + g.rng.IntN(10)
		}
	}
	sw.weights[gAdvance] = max(sw.weights[gAdvance], 1) // time must move
	if !g.cfg.Faults.Clock {
		sw.weights[gClockBack], sw.weights[gSkew] = 0, 0
	} else {
		sw.second = []float64{0.1, 0.3, 0.5}[g.rng.IntN(3)]
	}
	if g.cfg.Clients > 1 {
		// Sweeps are one step in about 30 whatever the other weights are
		// (the others are scaled up so that even a seed with few of them
		// enabled leaves sweeps a small share), or none in a fifth of the
		// seeds, as a cleaner running now and then makes them: a seed
		// that gave them a tenth of the operations would have several
		// clients sweeping at once in every round, and the ways their
		// steps can share the expired records grow past what a check can
		// follow.
		sw.weights[gSweep] = 0
		others := 0
		for k := range sw.weights {
			sw.weights[k] *= 10
			others += sw.weights[k]
		}
		if g.rng.IntN(5) > 0 {
			sw.weights[gSweep] = max(1, others/30)
		}
	}
	for _, w := range sw.weights {
		sw.total += w
	}
	n := g.cfg.IDs
	if n == 0 {
		sizes := []int{1, 2, 3, 4, 6, 8, 12, len(idCandidates)}
		n = sizes[g.rng.IntN(len(sizes))]
	}
	perm := g.rng.Perm(len(idCandidates))
	for _, i := range perm[:n] {
		sw.pool = append(sw.pool, idCandidates[i])
	}
	units := []time.Duration{time.Microsecond, time.Millisecond, time.Second}
	sw.ttlUnit = units[g.rng.IntN(len(units))]
	sw.ttlSpan = []int{1, 3, 10, 100}[g.rng.IntN(4)]
	sw.subMicro = g.rng.IntN(3) == 0
	sw.badInputs = []float64{0, 0, 0.01, 0.05}[g.rng.IntN(4)]
	g.userSwarm(&sw)    // after every other draw: see numUserGen
	g.versionSwarm(&sw) // after those: see numVersionGen
	return sw
}

// versionSwarm draws the weights of store.Versioner's and store.Scanner's
// operations, for a config that asks for them.
func (g *generator) versionSwarm(sw *swarm) {
	if !g.cfg.Versions && !g.cfg.Scan {
		return
	}
	for k := range sw.vers {
		on := k == gScan && g.cfg.Scan || k != gScan && g.cfg.Versions
		if on && g.rng.IntN(5) > 0 {
			sw.vers[k] = 1 + g.rng.IntN(10)
			if g.cfg.Clients > 1 {
				sw.vers[k] *= 10 // as the other kinds were scaled
			}
			sw.total += sw.vers[k]
		}
	}
}

// userSwarm draws the weights of the optional capabilities' operations,
// the owners and the store's cap, for a config that asks for them.
func (g *generator) userSwarm(sw *swarm) {
	if !g.cfg.Owners && !g.cfg.Touch {
		return
	}
	for k := range sw.user {
		on := k == gTouch && g.cfg.Touch || k != gTouch && g.cfg.Owners
		if on && g.rng.IntN(5) > 0 {
			sw.user[k] = 1 + g.rng.IntN(10)
			if g.cfg.Clients > 1 {
				sw.user[k] *= 10 // as the other kinds were scaled
			}
			sw.total += sw.user[k]
		}
	}
	if !g.cfg.Owners {
		return
	}
	n := 1 + g.rng.IntN(len(ownerCandidates))
	for _, i := range g.rng.Perm(len(ownerCandidates))[:n] {
		sw.owners = append(sw.owners, ownerCandidates[i])
	}
	// The store's own cap, which a call's cap 0 falls back on: none in
	// some seeds, tight in others.
	g.cfg.Limits.MaxPerOwner = []int{0, 0, 1, 2, 3}[g.rng.IntN(5)]
	g.m = model.New(g.cfg.Limits)
}

// emit appends op, with a fault before it and on the second instance as the
// run's profile says, and applies it to the shadow model. A fault may leave
// the backend either way, so the shadow assumes the fault-free outcome; it
// only steers the generator and checks nothing.
func (g *generator) emit(op Op) {
	switch o := op.(type) {
	case Advance:
		g.ops = append(g.ops, op)
		g.now = store.Instant(g.now.Add(o.D))
		return
	case Skew:
		g.ops = append(g.ops, op)
		g.skew = o.D
		return
	}
	faulted := false
	if p := g.cfg.Faults; len(p.Kinds) > 0 && g.rng.Float64() < p.Rate {
		// Mostly the operation's first statement; now and then a later one,
		// for backends that send several.
		at := []int{1, 1, 1, 1, 1, 1, 1, 1, 2, 3}[g.rng.IntN(10)]
		g.ops = append(g.ops, g.onClient(Fault{Kind: p.Kinds[g.rng.IntN(len(p.Kinds))], At: at}))
		faulted = true
	}
	g.apply(op)
	if faulted {
		g.readBack(op)
	}
}

// apply appends a store op, on the second instance as the profile says, and
// runs it on the shadow model.
func (g *generator) apply(op Op) {
	now := g.now
	if g.sw.second > 0 && g.rng.Float64() < g.sw.second {
		op = Second{Op: op}
		now = store.Instant(g.now.Add(g.skew))
	}
	g.ops = append(g.ops, g.onClient(op))
	op.expect(g.m, now)
}

// readBack follows a faulted operation with the reads a careful caller makes
// after an ambiguous failure (the contract says to read, not retry). They
// also let the checker drop the possible states the answer rules out, which
// keeps that set small.
func (g *generator) readBack(op Op) {
	switch o := op.(type) {
	case Create:
		g.apply(Load{ID: o.ID})
	case Update:
		g.apply(Load{ID: o.ID})
	case UpdateTTL:
		g.apply(Load{ID: o.ID})
	case Delete:
		g.apply(Load{ID: o.ID})
	case ChangeID:
		g.apply(Load{ID: o.Old})
		g.apply(Load{ID: o.New})
	case DeleteExpired, Sweep:
		// Which expired records went is visible only in a count.
		g.apply(DeleteExpired{Limit: 0})
	case Touch:
		g.apply(Load{ID: o.ID})
	case UpdateIf:
		g.apply(Load{ID: o.ID})
	case ChangeIDIf:
		g.apply(Load{ID: o.Old})
		g.apply(Load{ID: o.New})
	case CreateOwned:
		g.apply(Load{ID: o.ID})
		g.apply(List{Owner: o.Owner})
	case Cycle:
		g.apply(Load{ID: o.Old})
		g.apply(Load{ID: o.New})
		if o.Owner != "" {
			g.apply(List{Owner: o.Owner})
		}
	case Revoke:
		g.apply(List{Owner: o.Owner})
	case RevokeAll:
		g.apply(List{Owner: o.Owner})
	}
}

func (g *generator) step() {
	r := g.rng.IntN(g.sw.total)
	k := 0
	for ; k < numGen && r >= g.sw.weights[k]; k++ {
		r -= g.sw.weights[k]
	}
	if k == numGen {
		for k = 0; k < numUserGen && r >= g.sw.user[k]; k++ {
			r -= g.sw.user[k]
		}
		if k < numUserGen {
			g.userStep(k)
			return
		}
		for k = 0; r >= g.sw.vers[k]; k++ {
			r -= g.sw.vers[k]
		}
		g.versionStep(k)
		return
	}
	switch k {
	case gCreate:
		g.emit(Create{ID: g.id(), State: g.state(), TTL: g.ttl()})
	case gLoad:
		g.emit(Load{ID: g.id()})
	case gUpdate:
		g.emit(Update{ID: g.id(), State: g.state(), TTL: g.ttl()})
	case gUpdateTTL:
		g.emit(UpdateTTL{ID: g.id(), TTL: g.ttl()})
	case gDelete:
		g.emit(Delete{ID: g.id()})
	case gChangeID:
		g.changeID()
	case gDeleteExpired:
		g.deleteExpired()
	case gSweep:
		g.sweep()
	case gAdvance:
		g.emit(Advance{D: time.Duration(g.rng.IntN(2*g.sw.ttlSpan+1)) * g.sw.ttlUnit})
	case gAdvanceToExpiry:
		g.advanceToExpiry()
	case gClockBack:
		g.emit(Advance{D: -time.Duration(1+g.rng.IntN(2*g.sw.ttlSpan)) * g.sw.ttlUnit})
	case gSkew:
		g.emit(Skew{D: time.Duration(g.rng.IntN(2*MaxSkew+1)-MaxSkew) * g.sw.ttlUnit})
	}
}

// id picks from the pool, now and then an invalid one.
func (g *generator) id() store.ID {
	if g.bad() {
		return invalidIDs[g.rng.IntN(len(invalidIDs))]
	}
	return g.sw.pool[g.rng.IntN(len(g.sw.pool))]
}

func (g *generator) bad() bool {
	return g.sw.badInputs > 0 && g.rng.Float64() < g.sw.badInputs
}

// state is unique per write, now and then empty, exactly at the limit or
// one byte over it.
func (g *generator) state() []byte {
	g.write++
	s := "w" + strconv.Itoa(g.write)
	max := g.cfg.Limits.MaxStateSize
	switch r := g.rng.IntN(100); {
	case r == 0 && g.sw.badInputs > 0:
		return []byte(s + strings.Repeat(".", max+1-len(s)))
	case r == 1 && len(s) <= max:
		return []byte(s + strings.Repeat(".", max-len(s)))
	}
	return []byte(s)
}

func (g *generator) ttl() time.Duration {
	if g.bad() {
		return []time.Duration{0, -time.Second, g.cfg.Limits.MaxTTL + time.Microsecond}[g.rng.IntN(3)]
	}
	if g.rng.IntN(200) == 0 {
		return g.cfg.Limits.MaxTTL
	}
	d := time.Duration(1+g.rng.IntN(g.sw.ttlSpan)) * g.sw.ttlUnit
	if g.sw.subMicro {
		d += time.Duration(g.rng.IntN(1000))
	}
	return d
}

// idsBy sorts the pool into live, expired (still held) and absent IDs.
func (g *generator) idsBy() (live, expired, absent []store.ID) {
	for _, id := range g.sw.pool {
		r, ok := g.m.Get(id)
		switch {
		case !ok:
			absent = append(absent, id)
		case r.LiveAt(g.now):
			live = append(live, id)
		default:
			expired = append(expired, id)
		}
	}
	return live, expired, absent
}

func (g *generator) pick(ids []store.ID) store.ID {
	if len(ids) == 0 {
		return g.id()
	}
	return ids[g.rng.IntN(len(ids))]
}

// changeID aims at each row of the contract: target live, expired, absent,
// the same as the source, and a source that is not live.
func (g *generator) changeID() {
	old, new := g.move(true)
	g.emit(ChangeID{Old: old, New: new})
}

// move picks a source and a target for ChangeID or Cycle: a live source,
// and a target that is live, expired, absent or any ID. With self (ChangeID)
// the source is now and then any ID, and the target now and then the source
// itself; Cycle draws without them, as its seeds always have.
func (g *generator) move(self bool) (old, new store.ID) {
	live, expired, absent := g.idsBy()
	old = g.pick(live)
	targets := 4
	if self {
		if g.rng.IntN(4) == 0 {
			old = g.id()
		}
		targets = 5
	}
	switch r := g.rng.IntN(targets); {
	case r == 0:
		new = g.pick(live)
	case r == 1:
		new = g.pick(expired)
	case r == 2:
		new = g.pick(absent)
	case r == 3 && self:
		new = old
	default:
		new = g.id()
	}
	return old, new
}

// deleteExpired picks limits below, at and above the number of expired
// records, and no limit.
func (g *generator) deleteExpired() {
	n := len(g.m.Expired(g.now))
	var limit int
	switch g.rng.IntN(6) {
	case 0:
		limit = 0
	case 1:
		limit = 1
	case 2:
		limit = max(n-1, 1)
	case 3:
		limit = max(n, 1)
	case 4:
		limit = n + 1
	default:
		limit = 1 + g.rng.IntN(n+2)
	}
	if g.bad() {
		limit = -1 - g.rng.IntN(3)
	}
	g.emit(DeleteExpired{Limit: limit})
}

// sweep picks batches that take the expired records in several steps
// (ending inside a run of equal expiries whenever there is one), in one
// step exactly, and in one step with room to spare.
func (g *generator) sweep() {
	n := len(g.m.Expired(g.now))
	batch := []int{1, 1, 2, 3, max(n, 1), n + 1}[g.rng.IntN(6)]
	if g.bad() {
		batch = -g.rng.IntN(3)
	}
	g.emit(Sweep{Batch: batch})
}

// advanceToExpiry lands the clock one microsecond before, exactly on, or one
// after the expiry of a record that is still live, or jumps past all of them.
func (g *generator) advanceToExpiry() {
	live, _, _ := g.idsBy()
	if len(live) == 0 {
		g.emit(Advance{D: g.sw.ttlUnit})
		return
	}
	if g.rng.IntN(10) == 0 { // past every expiry at once
		var last time.Time
		for _, id := range live {
			if r, _ := g.m.Get(id); r.Expires.After(last) {
				last = r.Expires
			}
		}
		g.emit(Advance{D: last.Sub(g.now) + time.Duration(g.rng.IntN(3))*time.Microsecond})
		return
	}
	r, _ := g.m.Get(live[g.rng.IntN(len(live))])
	d := r.Expires.Sub(g.now) + time.Duration(g.rng.IntN(3)-1)*time.Microsecond
	g.emit(Advance{D: d})
}

// userStep emits one operation of the optional capabilities.
func (g *generator) userStep(k int) {
	switch k {
	case gCreateOwned:
		g.emit(CreateOwned{ID: g.id(), Owner: g.owner(), State: g.state(), TTL: g.ttl(), Cap: g.cap()})
	case gCycle:
		old, new := g.move(false)
		owner := g.owner()
		if g.rng.IntN(4) == 0 {
			owner = "" // a cycle that leaves the session with no owner
		}
		g.emit(Cycle{Old: old, New: new, Owner: owner, State: g.state(), TTL: g.ttl(), Cap: g.cap()})
	case gList:
		g.emit(List{Owner: g.owner()})
	case gRevoke:
		owner := g.owner()
		if g.bad() {
			bad := []store.Handle{"00", store.Handle(strings.Repeat("G", store.HandleLen)), store.Handle(strings.ToUpper(string(store.HandleOf("a"))))}
			g.emit(Revoke{Owner: owner, Handle: bad[g.rng.IntN(len(bad))]})
			return
		}
		// Mostly one of the owner's own sessions, live or expired; now
		// and then another's, which must be left alone.
		id := g.pick(g.ownedBy(owner))
		if g.rng.IntN(4) == 0 {
			id = g.id()
		}
		g.emit(Revoke{Owner: owner, ID: id})
	case gRevokeAll:
		owner := g.owner()
		var except []store.ID
		for range g.rng.IntN(3) {
			except = append(except, g.pick(g.ownedBy(owner)))
		}
		g.emit(RevokeAll{Owner: owner, Except: except})
	case gTouch:
		res := []time.Duration{0, 0, g.sw.ttlUnit, time.Duration(g.sw.ttlSpan) * g.sw.ttlUnit / 2, g.cfg.Limits.MaxTTL}[g.rng.IntN(5)]
		if g.bad() {
			res = -g.sw.ttlUnit
		}
		g.emit(Touch{ID: g.id(), TTL: g.ttl(), Resolution: res})
	}
}

// owner picks from the run's owners, now and then an invalid one.
func (g *generator) owner() store.Owner {
	if g.bad() || len(g.sw.owners) == 0 {
		return invalidOwners[g.rng.IntN(len(invalidOwners))]
	}
	return g.sw.owners[g.rng.IntN(len(g.sw.owners))]
}

// cap is a call's cap: mostly the store's (0), else a tight one.
func (g *generator) cap() int {
	if g.bad() {
		return -1 - g.rng.IntN(2)
	}
	return []int{0, 0, 1, 2, 3}[g.rng.IntN(5)]
}

// ownedBy lists the pool's IDs whose record (live or not) owner holds.
func (g *generator) ownedBy(owner store.Owner) []store.ID {
	var out []store.ID
	for _, id := range g.sw.pool {
		if r, ok := g.m.Get(id); ok && r.Owner == owner {
			out = append(out, id)
		}
	}
	return out
}

// versionStep emits one operation of store.Versioner or store.Scanner.
func (g *generator) versionStep(k int) {
	switch k {
	case gUpdateIf:
		// Mostly a live session, as a request that loaded it would.
		live, _, _ := g.idsBy()
		id := g.pick(live)
		if g.rng.IntN(5) == 0 {
			id = g.id()
		}
		ttl := store.KeepTTL
		if g.rng.IntN(3) > 0 {
			ttl = g.ttl()
		}
		g.emit(UpdateIf{ID: id, Version: g.version(id), State: g.state(), TTL: ttl})
	case gChangeIDIf:
		// ChangeID's sources and targets: a live target, the source
		// itself, an expired or absent one.
		old, new := g.move(true)
		g.emit(ChangeIDIf{Old: old, New: new, Version: g.version(old), State: g.state()})
	case gScan:
		g.scan()
	}
}

// version picks the version a conditional write of id passes: mostly the
// one the session is at, as a caller that just read it has; now and then
// one it was at before (a stale read: ErrConflict, or, with clients
// racing, the version the write finds) or is not at yet, and 0, which no
// record has (ErrInvalidVersion).
func (g *generator) version(id store.ID) uint64 {
	cur := uint64(1)
	if r, ok := g.m.Get(id); ok {
		cur = r.Version
	}
	if g.seen == nil {
		g.seen = make(map[store.ID][]uint64)
	}
	if h := g.seen[id]; len(h) == 0 || h[len(h)-1] != cur {
		g.seen[id] = append(h[max(0, len(h)-7):], cur)
	}
	switch r := g.rng.IntN(20); {
	case r == 0:
		return 0
	case r < 3:
		if cur > 1 && g.rng.IntN(2) == 0 {
			return cur - 1
		}
		return cur + 1
	case r < 6:
		h := g.seen[id]
		return h[g.rng.IntN(len(h))]
	}
	return cur
}

// scan picks where a page starts (the beginning, an ID of the pool, any
// other ID) and its length: 1, a few, more than there are, and 0, which
// is invalid.
func (g *generator) scan() {
	var after store.ID
	switch g.rng.IntN(4) {
	case 0:
	case 1:
		after = idCandidates[g.rng.IntN(len(idCandidates))]
	default:
		after = g.id() // now and then an invalid one
	}
	limit := []int{0, 1, 1, 2, 3, len(g.sw.pool) + 1}[g.rng.IntN(6)]
	if g.bad() {
		limit = -1 - g.rng.IntN(2)
	}
	g.emit(Scan{After: after, Limit: limit})
}

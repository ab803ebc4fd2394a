package mutant_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

const sec = time.Second

// backend is what the sequences below call: the mutant, or the model
// behind the same methods.
type backend interface {
	store.Owners
	store.Toucher
	store.Versioner
	store.Scanner
}

// modelStore presents the model as a backend on a clock: each call reads
// the clock once, as a backend's does.
type modelStore struct {
	m   *model.Model
	clk clock.Clock
}

func (s modelStore) now() time.Time { return store.Instant(s.clk.Now()) }

func (s modelStore) Create(_ context.Context, id store.ID, state []byte, ttl time.Duration) error {
	return s.m.Create(s.now(), id, state, ttl)
}
func (s modelStore) Load(_ context.Context, id store.ID) (store.Record, error) {
	return s.m.Load(s.now(), id)
}
func (s modelStore) Update(_ context.Context, id store.ID, state []byte, ttl time.Duration) error {
	return s.m.Update(s.now(), id, state, ttl)
}
func (s modelStore) UpdateTTL(_ context.Context, id store.ID, ttl time.Duration) error {
	return s.m.UpdateTTL(s.now(), id, ttl)
}
func (s modelStore) Delete(_ context.Context, id store.ID) error { return s.m.Delete(s.now(), id) }
func (s modelStore) ChangeID(_ context.Context, old, new store.ID) error {
	return s.m.ChangeID(s.now(), old, new)
}
func (s modelStore) DeleteExpired(_ context.Context, limit int) (int, error) {
	return s.m.DeleteExpired(s.now(), limit)
}
func (s modelStore) CreateOwned(_ context.Context, id store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return s.m.CreateOwned(s.now(), id, owner, state, ttl, cap)
}
func (s modelStore) Cycle(_ context.Context, old, new store.ID, owner store.Owner, state []byte, ttl time.Duration, cap int) error {
	return s.m.Cycle(s.now(), old, new, owner, state, ttl, cap)
}
func (s modelStore) List(_ context.Context, owner store.Owner) ([]store.OwnedSession, error) {
	return s.m.List(s.now(), owner)
}
func (s modelStore) Revoke(_ context.Context, owner store.Owner, h store.Handle) error {
	return s.m.Revoke(s.now(), owner, h)
}
func (s modelStore) RevokeAll(_ context.Context, owner store.Owner, except ...store.ID) (int, error) {
	return s.m.RevokeAll(s.now(), owner, except...)
}
func (s modelStore) Touch(_ context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	return s.m.Touch(s.now(), id, ttl, resolution)
}
func (s modelStore) UpdateIf(_ context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	return s.m.UpdateIf(s.now(), id, version, state, ttl)
}
func (s modelStore) ChangeIDIf(_ context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	return s.m.ChangeIDIf(s.now(), old, new, version, state)
}
func (s modelStore) Scan(_ context.Context, after store.ID, limit int) ([]store.ID, error) {
	return s.m.Scan(s.now(), after, limit)
}

// A step calls a backend on its clock and renders the answer, so that two
// backends' answers compare as strings.
type step func(b backend, clk *clock.Sim) string

func advance(d time.Duration) step {
	return func(_ backend, clk *clock.Sim) string { clk.Add(d); return fmt.Sprintf("clock +%v", d) }
}

func createOwned(id store.ID, owner store.Owner, ttl time.Duration, cap int) step {
	return func(b backend, _ *clock.Sim) string {
		return fmt.Sprintf("CreateOwned(%s, %s, cap %d): %v", id, owner, cap, b.CreateOwned(ctx, id, owner, []byte(id), ttl, cap))
	}
}

func create(id store.ID, ttl time.Duration) step {
	return func(b backend, _ *clock.Sim) string {
		return fmt.Sprintf("Create(%s): %v", id, b.Create(ctx, id, []byte(id), ttl))
	}
}

func changeID(old, new store.ID) step {
	return func(b backend, _ *clock.Sim) string {
		return fmt.Sprintf("ChangeID(%s, %s): %v", old, new, b.ChangeID(ctx, old, new))
	}
}

func cycle(old, new store.ID, owner store.Owner, ttl time.Duration, cap int) step {
	return func(b backend, _ *clock.Sim) string {
		return fmt.Sprintf("Cycle(%s, %s, %s, cap %d): %v", old, new, owner, cap, b.Cycle(ctx, old, new, owner, []byte(new), ttl, cap))
	}
}

func load(id store.ID) step {
	return func(b backend, _ *clock.Sim) string {
		r, err := b.Load(ctx, id)
		return fmt.Sprintf("Load(%s): %s, %v", id, show(r), err)
	}
}

func list(owner store.Owner) step {
	return func(b backend, _ *clock.Sim) string {
		l, err := b.List(ctx, owner)
		var parts []string
		for _, o := range l {
			parts = append(parts, fmt.Sprintf("%s@%v", o.Handle[:6], o.Expires.Sub(t0)))
		}
		return fmt.Sprintf("List(%s): [%s], %v", owner, strings.Join(parts, " "), err)
	}
}

func revokeAll(owner store.Owner, except ...store.ID) step {
	return func(b backend, _ *clock.Sim) string {
		n, err := b.RevokeAll(ctx, owner, except...)
		return fmt.Sprintf("RevokeAll(%s, %v): %d, %v", owner, except, n, err)
	}
}

func revoke(owner store.Owner, id store.ID) step {
	return func(b backend, _ *clock.Sim) string {
		return fmt.Sprintf("Revoke(%s, handle of %s): %v", owner, id, b.Revoke(ctx, owner, store.HandleOf(id)))
	}
}

func touch(id store.ID, ttl, res time.Duration) step {
	return func(b backend, _ *clock.Sim) string {
		r, err := b.Touch(ctx, id, ttl, res)
		return fmt.Sprintf("Touch(%s, %v, %v): %s, %v", id, ttl, res, show(r), err)
	}
}

func show(r store.Record) string {
	if r.Expires.IsZero() {
		return "{}"
	}
	return fmt.Sprintf("{%q +%v %q v%d}", r.State, r.Expires.Sub(t0), r.Owner, r.Version)
}

// play runs steps on a fresh backend and returns its answers.
func play(newBackend func(clock.Clock) backend, steps []step) []string {
	clk := clock.NewSim(t0)
	b := newBackend(clk)
	var out []string
	for _, st := range steps {
		out = append(out, st(b, clk))
	}
	return out
}

func onModel(clk clock.Clock) backend { return modelStore{model.New(store.Limits{}), clk} }

func onMutant(bug mutant.Bug) func(clock.Clock) backend {
	return func(clk clock.Clock) backend { return mutant.New(clk, store.Limits{}, bug) }
}

// firstDifference returns the first answer on which got and want differ,
// or "" if none does.
func firstDifference(got, want []string) string {
	for i := range want {
		if got[i] != want[i] {
			return fmt.Sprintf("step %d: got %s, model %s", i, got[i], want[i])
		}
	}
	return ""
}

// The sequences that show each new sequential bug. Each is as short as the
// bug allows; the correct store gives the model's answers on all of them.
var shows = map[mutant.Bug][]step{
	mutant.OwnerLostOnChangeID: {
		createOwned("a", "u", sec, 0), changeID("a", "b"), load("b"), list("u"),
	},
	mutant.ListIncludesExpired: {
		createOwned("a", "u", sec, 0), createOwned("b", "u", 2*sec, 0), advance(sec), list("u"),
	},
	mutant.CycleKeepsOld: {
		create("anon", sec), cycle("anon", "user", "u", sec, 0), load("anon"),
	},
	mutant.TouchResurrects: {
		create("a", sec), advance(sec), touch("a", sec, 0), load("a"),
	},
}

// ownerRun exercises every owner operation one at a time: caps that evict
// (ties included), a Cycle into a capped owner, Revoke, RevokeAll with
// except, Touch that writes and that does not, and expiry.
var ownerRun = []step{
	createOwned("a", "u", 2*sec, 0), createOwned("b", "u", 2*sec, 0), createOwned("c", "u", 3*sec, 0),
	createOwned("d", "u", 4*sec, 3), list("u"), load("a"), load("b"),
	create("n", sec), cycle("n", "m", "u", 5*sec, 3), list("u"),
	touch("c", 10*sec, sec), touch("c", 3*sec, 0), list("u"),
	revoke("u", "d"), revoke("v", "c"), advance(3 * sec), list("u"),
	createOwned("x", "v", sec, 0), revokeAll("u", "m"), list("u"), list("v"), load("m"),
}

// TestNewBugsShow checks, for each bug of the owner operations that a
// sequential run shows, that its sequence makes the bugged store answer
// differently from the model, and the correct store answer as the model.
func TestNewBugsShow(t *testing.T) {
	for bug, steps := range shows {
		t.Run(bug.String(), func(t *testing.T) {
			if bug.IsRace() || !slices.Contains(mutant.Bugs(), bug) {
				t.Fatalf("%s is not listed as a sequential bug", bug)
			}
			want := play(onModel, steps)
			if d := firstDifference(play(onMutant(mutant.None), steps), want); d != "" {
				t.Fatalf("the correct store differs from the model: %s", d)
			}
			d := firstDifference(play(onMutant(bug), steps), want)
			if d == "" {
				t.Fatalf("the sequence does not show %s:\n%s", bug, strings.Join(want, "\n"))
			}
			t.Log(d)
		})
	}
}

// TestOwnerRunMatchesModel plays ownerRun on the correct store and on the
// two owner race bugs, which, one operation at a time, must all give the
// model's answers.
func TestOwnerRunMatchesModel(t *testing.T) {
	want := play(onModel, ownerRun)
	for _, bug := range []mutant.Bug{mutant.None, mutant.RevokeAllMissesConcurrent, mutant.CapCountThenDelete} {
		if d := firstDifference(play(onMutant(bug), ownerRun), want); d != "" {
			t.Errorf("%s: %s", bug, d)
		}
	}
}

// TestBugLists checks that the sequential and the race lists split the
// bugs between them, every one of them once, and that the new bugs went
// to the right one with the old ones' values unchanged.
func TestBugLists(t *testing.T) {
	seq, race := mutant.Bugs(), mutant.RaceBugs()
	all := append(slices.Clone(seq), race...)
	slices.Sort(all)
	for i, b := range all {
		if b != mutant.Bug(i+1) {
			t.Fatalf("bugs listed: %v, want 1 to %d once each", all, len(all))
		}
	}
	if len(all) != 27 {
		t.Fatalf("%d bugs listed, want 27", len(all))
	}
	for _, b := range []mutant.Bug{mutant.OwnerLostOnChangeID, mutant.ListIncludesExpired, mutant.CycleKeepsOld, mutant.TouchResurrects, mutant.VersionNotBumped} {
		if !slices.Contains(seq, b) {
			t.Errorf("%s missing from Bugs()", b)
		}
	}
	for _, b := range []mutant.Bug{mutant.RevokeAllMissesConcurrent, mutant.CapCountThenDelete, mutant.CreateCheckThenInsert, mutant.UpdateIfIgnoresVersion, mutant.ChangeIDIfIgnoresVersion} {
		if !slices.Contains(race, b) || !b.IsRace() {
			t.Errorf("%s missing from RaceBugs()", b)
		}
	}
	// Which traces can show a bug: the owners' need their operations,
	// the versions' need versions checked.
	for b := mutant.Bug(1); int(b) <= len(all); b++ {
		owners := b >= mutant.OwnerLostOnChangeID && b < mutant.VersionNotBumped
		versions := b >= mutant.VersionNotBumped
		if b.OfOwners() != owners || b.OfVersions() != versions {
			t.Errorf("%s: OfOwners %v, OfVersions %v", b, b.OfOwners(), b.OfVersions())
		}
	}
	// Values the simulator's saved traces and reports were made with.
	if mutant.SweepSkipsTies != 13 || mutant.CreateCheckThenInsert != 14 || mutant.UpdateTTLReadModifyWrite != 18 || mutant.CapCountThenDelete != 24 {
		t.Error("an existing bug changed its value")
	}
	names := map[string]bool{}
	for _, b := range append(all, mutant.None) {
		if s := b.String(); s == "" || names[s] {
			t.Errorf("bug %d has name %q, empty or taken", b, s)
		}
		names[b.String()] = true
	}
}

// TestCapCountThenDeleteRace shows the race: logins of one owner under a
// cap of 1, two at a time, until the owner holds two sessions, which a
// correct store never allows. The gap only lets the scheduler interleave,
// so the bugged store gets many rounds; the correct store must never
// show it in as many.
func TestCapCountThenDeleteRace(t *testing.T) {
	const rounds = 2000
	over := func(bug mutant.Bug) int {
		for round := range rounds {
			s := mutant.New(clock.NewSim(t0), store.Limits{}, bug)
			var wg sync.WaitGroup
			for g := range 2 {
				wg.Go(func() {
					if err := s.CreateOwned(ctx, store.ID(fmt.Sprintf("s%d", g)), "u", nil, sec, 1); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if l, err := s.List(ctx, "u"); err != nil || len(l) != 1 {
				return round
			}
		}
		return -1
	}
	if r := over(mutant.None); r >= 0 {
		t.Fatalf("the correct store left the owner over its cap in round %d", r)
	}
	if r := over(mutant.CapCountThenDelete); r < 0 {
		t.Fatalf("%s never left the owner over its cap in %d rounds", mutant.CapCountThenDelete, rounds)
	} else {
		t.Logf("over the cap in round %d", r)
	}
}

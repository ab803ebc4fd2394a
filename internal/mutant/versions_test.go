package mutant_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/store"
)

func updateTTL(id store.ID, ttl time.Duration) step {
	return func(b backend, _ *clock.Sim) string {
		return fmt.Sprintf("UpdateTTL(%s, %v): %v", id, ttl, b.UpdateTTL(ctx, id, ttl))
	}
}

func update(id store.ID, state string, ttl time.Duration) step {
	return func(b backend, _ *clock.Sim) string {
		return fmt.Sprintf("Update(%s, %q): %v", id, state, b.Update(ctx, id, []byte(state), ttl))
	}
}

func updateIf(id store.ID, version uint64, state string, ttl time.Duration) step {
	return func(b backend, _ *clock.Sim) string {
		v, err := b.UpdateIf(ctx, id, version, []byte(state), ttl)
		return fmt.Sprintf("UpdateIf(%s, v%d, %q, %v): v%d, %v", id, version, state, ttl, v, err)
	}
}

func changeIDIf(old, new store.ID, version uint64, state string) step {
	return func(b backend, _ *clock.Sim) string {
		v, err := b.ChangeIDIf(ctx, old, new, version, []byte(state))
		return fmt.Sprintf("ChangeIDIf(%s, %s, v%d, %q): v%d, %v", old, new, version, state, v, err)
	}
}

func scan(after store.ID, limit int) step {
	return func(b backend, _ *clock.Sim) string {
		ids, err := b.Scan(ctx, after, limit)
		return fmt.Sprintf("Scan(%q, %d): %v, %v", after, limit, ids, err)
	}
}

// firstOf is the first version of a session that create or createOwned
// (which give it its ID as state) makes at t0+at with ttl:
// store.FirstVersion of those fields.
func firstOf(id store.ID, owner store.Owner, at, ttl time.Duration) uint64 {
	return store.FirstVersion(id, owner, []byte(id), store.Expiry(t0.Add(at), ttl))
}

// The first versions of the sessions versionRun creates: "a" at t0, "b"
// at t0 and again at t0+1s, over the expired first one.
var (
	firstA  = firstOf("a", "", 0, 2*sec)
	firstB  = firstOf("b", "", 0, sec)
	firstB2 = firstOf("b", "", sec, sec)
)

// versionRun exercises every versioned operation one at a time: each
// write's version, conditional writes at the version, at a stale one and
// at 0, KeepTTL, ChangeIDIf onto a live target and onto itself, a Touch
// that writes and one that does not, a Cycle, scans from the start, from
// an ID and past expiry, and conditional writes at the version of a
// session that expired and was created again under its ID, which must
// conflict.
var versionRun = []step{
	create("a", 2*sec), load("a"), update("a", "a2", 2*sec), load("a"), updateTTL("a", 3*sec), load("a"),
	updateIf("a", firstA+2, "a4", store.KeepTTL), load("a"), updateIf("a", firstA+2, "stale", sec), updateIf("a", 0, "zero", sec),
	updateIf("zz", 1, "absent", sec), updateIf("a", firstA+3, "a5", 5*sec), load("a"),
	create("b", sec), changeIDIf("a", "b", firstA+4, "onto live"), changeIDIf("a", "a", firstA+4, "onto itself"),
	changeIDIf("a", "c", firstA+3, "stale"), changeIDIf("a", "c", firstA+4, "moved"), load("a"), load("c"),
	touch("c", 10*sec, sec), load("c"), touch("c", 10*sec, sec), load("c"),
	cycle("c", "d", "u", 4*sec, 0), load("d"), changeID("d", "e"), load("e"),
	scan("", 10), scan("b", 1), scan("b", 10), scan("", 0), advance(sec), scan("", 10),
	create("b", sec), load("b"), scan("a", 2),
	updateIf("b", firstB, "earlier b's", sec), changeIDIf("b", "f", firstB, "earlier b's"), updateIf("b", firstB2, "b2", sec), load("b"),
}

// versionRunWrites are the answers of versionRun's conditional writes that
// must succeed, at the versions counted from the first ones: if the run's
// versions were off, they would all conflict, on the model and the store
// alike, and the run would compare nothing but conflicts.
var versionRunWrites = []string{
	fmt.Sprintf(`UpdateIf(a, v%d, "a4", -1ns): v%d, <nil>`, firstA+2, firstA+3),
	fmt.Sprintf(`UpdateIf(a, v%d, "a5", 5s): v%d, <nil>`, firstA+3, firstA+4),
	fmt.Sprintf(`ChangeIDIf(a, c, v%d, "moved"): v%d, <nil>`, firstA+4, firstA+5),
	fmt.Sprintf(`UpdateIf(b, v%d, "earlier b's", 1s): v0, %v`, firstB, store.ErrConflict),
	fmt.Sprintf(`ChangeIDIf(b, f, v%d, "earlier b's"): v0, %v`, firstB, store.ErrConflict),
	fmt.Sprintf(`UpdateIf(b, v%d, "b2", 1s): v%d, <nil>`, firstB2, firstB2+1),
}

// TestVersionRunMatchesModel plays versionRun on the correct store and on
// the version race bugs, which, one operation at a time, must all give
// the model's answers, and on version-not-bumped, which must not.
func TestVersionRunMatchesModel(t *testing.T) {
	want := play(onModel, versionRun)
	for _, w := range versionRunWrites {
		if !slices.Contains(want, w) {
			t.Fatalf("the model did not answer %s:\n%s", w, strings.Join(want, "\n"))
		}
	}
	for _, bug := range []mutant.Bug{mutant.None, mutant.UpdateIfIgnoresVersion, mutant.ChangeIDIfIgnoresVersion} {
		if d := firstDifference(play(onMutant(bug), versionRun), want); d != "" {
			t.Errorf("%s: %s", bug, d)
		}
	}
	// The renewal answers as it should; the read after it shows the
	// version it left.
	d := firstDifference(play(onMutant(mutant.VersionNotBumped), versionRun), want)
	if !strings.HasPrefix(d, "step 5: got Load(a)") {
		t.Fatalf("%s: the run does not show it at the load after UpdateTTL: %q", mutant.VersionNotBumped, d)
	}
	t.Log(d)
}

// raceFirst is the version of the session "a" that twoAtOnce creates.
var raceFirst = store.FirstVersion("a", "", []byte("v1"), t0.Add(sec))

// twoAtOnce runs f and g at once on a fresh store holding session "a" at
// version raceFirst, and returns the store and their errors.
func twoAtOnce(bug mutant.Bug, f, g func(s *mutant.Store) error) (*mutant.Store, error, error) {
	s := mutant.New(clock.NewSim(t0), store.Limits{}, bug)
	if err := s.Create(ctx, "a", []byte("v1"), sec); err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	var ef, eg error
	wg.Go(func() { ef = f(s) })
	wg.Go(func() { eg = g(s) })
	wg.Wait()
	return s, ef, eg
}

// raceRounds is how many rounds a race test gives the scheduler to
// interleave two operations; the correct store must never show the race
// in as many.
const raceRounds = 2000

// TestUpdateIfIgnoresVersionRace shows the lost update: two requests that
// both read the first version save at once, and both saves succeed, which a
// correct store never allows (the second gets ErrConflict).
func TestUpdateIfIgnoresVersionRace(t *testing.T) {
	save := func(state string) func(s *mutant.Store) error {
		return func(s *mutant.Store) error {
			_, err := s.UpdateIf(ctx, "a", raceFirst, []byte(state), sec)
			return err
		}
	}
	lost := func(bug mutant.Bug) int {
		for round := range raceRounds {
			_, e1, e2 := twoAtOnce(bug, save("from 1"), save("from 2"))
			if e1 == nil && e2 == nil {
				return round
			}
			if (e1 == nil) == (e2 == nil) || !errors.Is(e1, store.ErrConflict) && !errors.Is(e2, store.ErrConflict) {
				t.Fatalf("%s: round %d: %v, %v: want one save and one conflict", bug, round, e1, e2)
			}
		}
		return -1
	}
	if r := lost(mutant.None); r >= 0 {
		t.Fatalf("the correct store let two saves of the first version succeed in round %d", r)
	}
	if r := lost(mutant.UpdateIfIgnoresVersion); r < 0 {
		t.Fatalf("%s never lost an update in %d rounds", mutant.UpdateIfIgnoresVersion, raceRounds)
	} else {
		t.Logf("both saves succeeded in round %d", r)
	}
}

// TestChangeIDIfIgnoresVersionRace shows the same for ChangeIDIf: a
// rotation and a save of the first version at once both succeed, and the save is
// lost under the new ID.
func TestChangeIDIfIgnoresVersionRace(t *testing.T) {
	rotate := func(s *mutant.Store) error {
		_, err := s.ChangeIDIf(ctx, "a", "b", raceFirst, []byte("rotated"))
		return err
	}
	save := func(s *mutant.Store) error {
		_, err := s.UpdateIf(ctx, "a", raceFirst, []byte("saved"), sec)
		return err
	}
	lost := func(bug mutant.Bug) int {
		for round := range raceRounds {
			// The save is started first: the goroutine started last
			// tends to run first, and the race needs the rotation to
			// hold the session when the save arrives.
			s, e1, e2 := twoAtOnce(bug, save, rotate)
			if e1 == nil && e2 == nil {
				r, err := s.Load(ctx, "b")
				if err != nil || string(r.State) != "rotated" || r.Version != raceFirst+2 {
					t.Fatalf("%s: round %d: b is %+v, %v", bug, round, r, err)
				}
				return round
			}
		}
		return -1
	}
	if r := lost(mutant.None); r >= 0 {
		t.Fatalf("the correct store let a rotation and a save of the first version both succeed in round %d", r)
	}
	if r := lost(mutant.ChangeIDIfIgnoresVersion); r < 0 {
		t.Fatalf("%s never lost an update in %d rounds", mutant.ChangeIDIfIgnoresVersion, raceRounds)
	} else {
		t.Logf("both succeeded in round %d", r)
	}
}

package sim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

func memFactory(env sim.Env) (store.Store, error) {
	m := memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits})
	return sim.Instances(m, func(c clock.Clock) store.Store { return m.WithClock(c) }), nil
}

// record runs the trace seed generates for clients, and checks it.
func record(t *testing.T, seed uint64, cfg sim.GenConfig, f sim.Factory) (*sim.History, *sim.Checked) {
	t.Helper()
	h, err := sim.Record(context.Background(), sim.Generate(seed, cfg), f)
	if err != nil {
		t.Fatal(err)
	}
	return h, sim.Check(h, sim.CheckOptions{})
}

func TestConcurrentTraceRoundTrip(t *testing.T) {
	for seed := uint64(0); seed < 30; seed++ {
		tr := sim.Generate(seed, sim.GenConfig{Ops: 50, Clients: 1 + int(seed%8), Faults: profile(t, "all")})
		text := tr.String()
		back, err := sim.ParseTrace(strings.NewReader(text))
		if err != nil {
			t.Fatalf("seed %d: parsing own output: %v\n%s", seed, err, text)
		}
		if !reflect.DeepEqual(back, tr) || back.String() != text {
			t.Fatalf("seed %d: trace changed in a round trip", seed)
		}
	}
}

// One client is today's sequential trace, byte for byte. The checksum is of
// the history `simrun -seed 99 -runs 1 -faults all -trace FILE` wrote
// before clients existed (commit 7ac0213): the trace the seed generates and
// what the memory backend answered to it.
func TestOneClientIsTheSequentialTrace(t *testing.T) {
	const before = "7a3bf20b013153a31349f2a6a1ea70811d832bdc7ef002ba263dca4bf9b464c5"
	for _, clients := range []int{0, 1} {
		tr := sim.Generate(99, sim.GenConfig{Clients: clients, Faults: profile(t, "all")})
		res, err := sim.Run(context.Background(), tr, memFactory)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := tr.WriteHistory(&b, res); err != nil {
			t.Fatal(err)
		}
		if sum := fmt.Sprintf("%x", sha256.Sum256(b.Bytes())); sum != before {
			t.Fatalf("Clients: %d: seed 99's history has checksum %s, before clients existed %s", clients, sum, before)
		}
		if strings.Contains(b.String(), "clients") || strings.Contains(b.String(), "\nc0 ") {
			t.Fatalf("Clients: %d: a sequential trace names clients", clients)
		}
	}
}

func profile(t *testing.T, name string) faults.Profile {
	t.Helper()
	p, err := faults.LookupProfile(name, -1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Correct backends pass concurrent histories, with every fault profile:
// no false alarm, and no check that gives up.
func TestConcurrentCorrectBackendsPass(t *testing.T) {
	backends := map[string]sim.Factory{
		"memstore": memFactory,
		"plain":    func(env sim.Env) (store.Store, error) { return mutant.New(env.Clock, env.Limits, mutant.None), nil },
	}
	for name, f := range backends {
		for _, p := range []string{"none", "store", "net", "clock", "all"} {
			t.Run(name+"/"+p, func(t *testing.T) {
				t.Parallel()
				fired := 0
				for seed := uint64(1); seed <= 30; seed++ {
					h, r := record(t, seed, sim.GenConfig{Ops: 150, Clients: 8, Faults: profile(t, p)}, f)
					if r.Verdict != sim.Linearizable {
						t.Fatalf("seed %d: %s\n%s", seed, r, h)
					}
					for _, n := range h.Faults {
						fired += n
					}
				}
				if p != "none" && fired == 0 {
					t.Fatal("no fault fired")
				}
			})
		}
	}
}

// Every race bug passes the sequential simulator, which runs one
// operation at a time, and is caught by concurrent histories within 50
// seeds. The same planted code is the only difference from the correct
// backend, which passes both (TestConcurrentCorrectBackendsPass).
func TestRaceBugsCaughtOnlyConcurrently(t *testing.T) {
	for _, bug := range mutant.RaceBugs() {
		t.Run(bug.String(), func(t *testing.T) {
			t.Parallel()
			f := plain(bug)
			for seed := uint64(1); seed <= 200; seed++ {
				if fl, _, err := sim.CheckSeed(context.Background(), seed, withVersions(users), f); err != nil || fl != nil {
					t.Fatalf("seed %d: the sequential simulator flags a race bug (%v):\n%s", seed, err, fl)
				}
			}
			for seed := uint64(1); seed <= 50; seed++ {
				cfg := sim.GenConfig{Clients: 8}
				if bug.OfOwners() {
					cfg = withUsers(cfg)
				}
				if bug.OfVersions() {
					cfg = withVersions(cfg)
				}
				_, r := record(t, seed, cfg, f)
				if r.Verdict == sim.NotLinearizable {
					t.Logf("caught at seed %d:\n%s", seed, r)
					if r.Part == nil || len(r.Part.Events) > 30 {
						t.Fatalf("no small failing part: %+v", r.Part)
					}
					return
				}
			}
			t.Fatal("not caught in 50 seeds of 8 clients")
		})
	}
}

// A history written and parsed back is the same history, and checking it
// twice gives the same verdict and the same report.
func TestHistoryRoundTripAndDeterministicCheck(t *testing.T) {
	var failing *sim.History
	for seed := uint64(1); seed <= 50 && failing == nil; seed++ {
		h, r := record(t, seed, sim.GenConfig{Ops: 200, Clients: 8, Faults: profile(t, "all")}, plain(mutant.ChangeIDInsertThenDelete))
		text := h.String()
		back, err := sim.ParseHistory(strings.NewReader(text))
		if err != nil {
			t.Fatalf("seed %d: parsing own history: %v", seed, err)
		}
		if back.String() != text {
			t.Fatalf("seed %d: history changed in a round trip", seed)
		}
		if !reflect.DeepEqual(back.Faults, h.Faults) {
			t.Fatalf("seed %d: fault counts %v, parsed back %v", seed, h.Faults, back.Faults)
		}
		again := sim.Check(back, sim.CheckOptions{})
		if again.Verdict != r.Verdict || again.String() != r.String() {
			t.Fatalf("seed %d: the parsed history checks differently:\n%s\n%s", seed, r, again)
		}
		if r.Verdict == sim.NotLinearizable {
			failing = back
		}
		// A history also replays as a trace.
		if _, err := sim.ParseTrace(strings.NewReader(text)); err != nil {
			t.Fatalf("seed %d: a history is not a trace: %v", seed, err)
		}
	}
	if failing == nil {
		t.Fatal("no failing history to check twice")
	}
	a, b := sim.Check(failing, sim.CheckOptions{}), sim.Check(failing, sim.CheckOptions{})
	if a.String() != b.String() {
		t.Fatalf("two checks of one history differ:\n%s\n%s", a, b)
	}
	var h1, h2 bytes.Buffer
	if err := a.WriteHTML(&h1); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteHTML(&h2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(h1.Bytes(), []byte("<html")) || h1.Len() < 1000 {
		t.Fatalf("the HTML view is not a page: %.200s", h1.String())
	}
}

const head = "# hourglass history v1 second-instance\nseed 0\nclients 2\nstart 2026-01-01T00:00:00Z\nlimits state=64 ttl=1h0m0s\n"

func parse(t *testing.T, body string) *sim.History {
	t.Helper()
	h, err := sim.ParseHistory(strings.NewReader(head + body))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func verdict(t *testing.T, body string, opts sim.CheckOptions) *sim.Checked {
	t.Helper()
	return sim.Check(parse(t, body), opts)
}

// Two sweeps that run at once share the expired records step by step:
// each took two of four. No order of the sweeps as single atomic steps
// explains that; their steps interleaved do.
func TestConcurrentSweepsInterleaveTheirSteps(t *testing.T) {
	setup := `c0 create a "1" 1µs  # ok @1-2
c0 create b "2" 2µs  # ok @3-4
c0 create c "3" 3µs  # ok @5-6
c0 create d "4" 4µs  # ok @7-8
advance 1s
`
	if r := verdict(t, setup+"c0 sweep 1  # ok 2 @9-14\nc1 sweep 1  # ok 2 @10-13\n", sim.CheckOptions{}); r.Verdict != sim.Linearizable {
		t.Fatalf("interleaved sweeps: %s", r)
	}
	if r := verdict(t, setup+"c0 sweep 1  # ok 3 @9-14\nc1 sweep 1  # ok 2 @10-13\n", sim.CheckOptions{}); r.Verdict != sim.NotLinearizable {
		t.Fatalf("sweeps that removed five of four records: %s", r)
	}
	// Once one has finished, the other can no longer share.
	if r := verdict(t, setup+"c0 sweep 1  # ok 2 @9-10\nc1 sweep 1  # ok 2 @11-12\n", sim.CheckOptions{}); r.Verdict != sim.NotLinearizable {
		t.Fatalf("a sweep that left two expired records: %s", r)
	}
	// A delete-expired between a sweep's steps.
	if r := verdict(t, setup+"c0 sweep 2  # ok 2 @9-14\nc1 delete-expired 0  # ok 2 @10-11\n", sim.CheckOptions{}); r.Verdict != sim.Linearizable {
		t.Fatalf("a delete-expired between a sweep's steps: %s", r)
	}
}

// An ambiguous write must take effect before it returns, or never: a read
// after it returned that missed it, followed by one that sees it, is a
// write that landed late. CheckOptions.Late allows that.
func TestAmbiguousWritesAreFinal(t *testing.T) {
	const written = `c0 create a "1" 1h  # ok @1-2
c0 fault fail-after
c0 update a "2" 1h  # ambiguous "answer lost" @3-4 fired=fail-after
`
	load := func(state, at string) string {
		return `c1 load a  # ok "` + state + `" expires=2026-01-01T01:00:00Z @` + at + "\n"
	}
	late := written + load("1", "5-6") + load("2", "7-8")
	if r := verdict(t, late, sim.CheckOptions{}); r.Verdict != sim.NotLinearizable {
		t.Fatalf("a write that landed after it was reported ambiguous: %s", r)
	}
	if r := verdict(t, late, sim.CheckOptions{Late: true}); r.Verdict != sim.Linearizable {
		t.Fatalf("with Late, the same history: %s", r)
	}
	// Applied or not, within its interval: either reading after it is fine.
	for _, state := range []string{"1", "2"} {
		if r := verdict(t, written+load(state, "7-8"), sim.CheckOptions{}); r.Verdict != sim.Linearizable {
			t.Fatalf("ambiguous update then a load of %q: %s", state, r)
		}
	}
}

// A failure needs a fault to excuse it: its own, or a server fault that
// another client's operation was under while it ran.
func TestFailuresNeedAFault(t *testing.T) {
	base := "c0 create a \"1\" 1h  # ok @1-2\n"
	if r := verdict(t, base+"c1 update a \"2\" 1h  # failed \"boom\" @3-4\n", sim.CheckOptions{}); r.Verdict != sim.NotLinearizable ||
		!strings.Contains(r.Reason, "no fault in effect") {
		t.Fatalf("a failure with no fault: %s", r)
	}
	crash := "c0 fault crash\nc0 load a  # ok \"1\" expires=2026-01-01T01:00:00Z @3-8 fired=crash\n"
	if r := verdict(t, base+crash+"c1 update a \"2\" 1h  # ambiguous \"conn reset\" @4-5\n", sim.CheckOptions{}); r.Verdict != sim.Linearizable {
		t.Fatalf("a failure during another client's crash: %s", r)
	}
	if r := verdict(t, base+crash+"c1 update a \"2\" 1h  # ambiguous \"conn reset\" @9-10\n", sim.CheckOptions{}); r.Verdict != sim.NotLinearizable {
		t.Fatalf("a failure after the crash was over: %s", r)
	}
}

// A check that runs out of budget says unknown, never linearizable.
func TestCheckThatGivesUpIsUnknown(t *testing.T) {
	h, _ := record(t, 3, sim.GenConfig{Ops: 100, Clients: 4}, memFactory)
	r := sim.Check(h, sim.CheckOptions{MaxSteps: 10})
	if r.Verdict != sim.Unknown || !strings.Contains(r.String(), "unknown") {
		t.Fatalf("a check with 10 steps: %s", r)
	}
}

func TestParseHistoryErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a trace", "# hourglass trace v1\nstart 2026-01-01T00:00:00Z\nload a  # ok\n", "not a history"},
		{"no magic", "seed 0\nstart 2026-01-01T00:00:00Z\n", "not a history"},
		{"flag", "# hourglass history v1 turbo\nstart 2026-01-01T00:00:00Z\n", "unknown history flag"},
		{"no record", head + "c0 load a\n", "no record"},
		{"bad outcome", head + "c0 load a  # fine @1-2\n", "unknown outcome"},
		{"no interval", head + "c0 load a  # not-found\n", "@CALL-RETURN"},
		{"backwards", head + "c0 load a  # not-found @5-2\n", "bad interval"},
		{"zero", head + "c0 load a  # not-found @0-2\n", "bad interval"},
		{"load state", head + "c0 load a  # ok @1-2\n", "needs its state"},
		{"load expiry", head + "c0 load a  # ok \"x\" expires=soon @1-2\n", "bad expiry"},
		{"count", head + "c0 delete-expired 0  # ok -1 @1-2\n", "bad count"},
		{"sweep failure", head + "c0 sweep 1  # failed \"x\" @1-2\n", "removed=N"},
		{"error unquoted", head + "c0 load a  # failed boom @1-2\n", "quoted"},
		{"trailing", head + "c0 load a  # not-found @1-2 extra\n", "bad fault"},
		{"trailing after a fault", head + "c0 fault crash\nc0 load a  # not-found @1-2 fired=crash extra\n", "unexpected"},
		{"fault", head + "c0 load a  # not-found @1-2 fired=lightning\n", "bad fault"},
		{"unarmed fault", head + "c0 load a  # not-found @1-2 fired=crash\n", "no such fault was armed"},
		{"duplicate number", head + "c0 load a  # not-found @1-2\nc1 load a  # not-found @2-3\n", "also belongs"},
		{"overlap", head + "c0 load a  # not-found @1-4\nc0 load a  # not-found @2-3\n", "before its previous operation returned"},
		{"across a barrier", head + "c0 load a  # not-found @1-4\nadvance 1s\nc1 load a  # not-found @2-3\n", "precedes a clock operation"},
		{"client out of range", head + "c2 load a  # not-found @1-2\n", "c0 to c1"},
		{"no client", head + "load a  # not-found @1-2\n", "names its client"},
		{"client on a clock op", head + "c0 advance 1s\n", "belong to no client"},
		{"clients 1", "# hourglass history v1\nclients 1\nstart 2026-01-01T00:00:00Z\n", "from 2 to"},
		{"client in a sequential trace", "# hourglass history v1\nstart 2026-01-01T00:00:00Z\nc0 load a  # not-found @1-2\n", "one client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sim.ParseHistory(strings.NewReader(tt.in))
			var pe *sim.ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want a ParseError mentioning %q", err, tt.want)
			}
		})
	}
}

// FuzzParseHistory: no input makes the parser panic, and whatever it
// accepts prints and parses back the same, and can be checked.
func FuzzParseHistory(f *testing.F) {
	h, err := sim.Record(context.Background(), sim.Generate(1, sim.GenConfig{Ops: 20, Clients: 3, Faults: faults.Profile{Name: "all", Kinds: faults.Kinds(), Clock: true, Rate: 0.2}}), memFactory)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h.String())
	f.Add(head + "c0 sweep 2  # ambiguous removed=2 \"x\" @1-4 \nc1 load a  # ok \"\" expires=2026-01-01T00:00:00Z @2-3\n")
	f.Add(head + "c0 fault crash\nc0 delete-expired 1  # ok 1 @1-2 fired=crash\nadvance -1h\n")
	f.Add(head + "c0 list \"u\"  # ok 1 \"0a\" 2026-01-01T00:00:01Z @1-4\nc1 touch a 1s 0s  # ok \"w\" expires=2026-01-01T00:00:01Z owner \"u v\" @2-3\nc1 revoke-all \"u\" a  # ok 0 @5-6\n")
	vh, err := sim.Record(context.Background(), sim.Generate(2, sim.GenConfig{Ops: 20, Clients: 3, Owners: true, Touch: true, Versions: true, Scan: true}), memFactory)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(vh.String())
	f.Add(head + "versions\nstored-id ab ba\nstored-id \"x y\" \"\"\nc0 update-if a 1 \"w\" keep  # ok version=2 @1-4\nc1 touch a 1s 0s  # ok \"w\" expires=2026-01-01T00:00:01Z owner \"u\" version=3 @2-3\nc1 scan \"\" 2  # ok 2 \"a\" \"b c\" @5-6\nc0 change-id-if a b 0 \"\"  # invalid-version @7-8\nc0 load b  # ok \"\" expires=2026-01-01T00:00:01Z version=18446744073709551615 @9-10\n")
	f.Fuzz(func(t *testing.T, in string) {
		h, err := sim.ParseHistory(strings.NewReader(in))
		if err != nil {
			return
		}
		text := h.String()
		back, err := sim.ParseHistory(strings.NewReader(text))
		if err != nil {
			t.Fatalf("accepted %q but not its own rendering %q: %v", in, text, err)
		}
		if back.String() != text {
			t.Fatalf("round trip changed the history:\n%q\n%q", text, back.String())
		}
		_ = sim.Check(h, sim.CheckOptions{MaxSteps: 10000}).String()
	})
}

func ExampleCheck() {
	// Two clients create the same session at once and both succeed: a
	// Create that checks, then inserts.
	h, err := sim.ParseHistory(strings.NewReader(`# hourglass history v1
seed 0
clients 2
start 2026-01-01T00:00:00Z
c0 create a "from c0" 1m  # ok @1-4
c1 create a "from c1" 1m  # ok @2-3
advance 0s
c0 load a  # ok "from c0" expires=2026-01-01T00:01:00Z @5-6
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := sim.Check(h, sim.CheckOptions{})
	fmt.Println(r.Verdict)
	fmt.Println(r.Reason)
	// Output:
	// not linearizable
	// no order of the operations explains step 1, c1 create a "from c1" 1m0s → ok
}

// A cleanup takes effect at one point, but until it returns a read on an
// instance whose clock still calls a removed record live may return it: a
// PostgreSQL read does not wait for the cleanup's locks (CONTRACT.md).
// Once the cleanup has returned, it may not.
func TestReadsMaySeeWhatARunningCleanupRemoved(t *testing.T) {
	body := `c0 create a "1" 1s  # ok @1-2
skew -1s
c0 delete-expired 0  # ok 1 @10-20
c1 @2 load a  # ok "1" expires=2026-01-01T00:00:01Z @11-12
c1 @2 create a "2" 1s  # ok @13-14
`
	// The first instance reads 2026-01-01T00:00:00Z, the second a second
	// earlier; advance the first past a's expiry.
	body = strings.Replace(body, "skew -1s\n", "advance 1s\nskew -1s\n", 1)
	if r := verdict(t, body, sim.CheckOptions{}); r.Verdict != sim.Linearizable {
		t.Fatalf("a read beside the cleanup that removed its record: %s", r)
	}
	late := strings.Replace(body, "@11-12", "@21-22", 1)
	late = strings.Replace(late, "@13-14", "@23-24", 1)
	if r := verdict(t, late, sim.CheckOptions{}); r.Verdict != sim.NotLinearizable {
		t.Fatalf("a read after the cleanup returned that still found the record: %s", r)
	}
}

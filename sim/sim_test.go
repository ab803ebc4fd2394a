package sim_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

func plain(bug mutant.Bug) sim.Factory {
	return func(env sim.Env) (store.Store, error) {
		return mutant.New(env.Clock, env.Limits, bug), nil
	}
}

func TestTraceRoundTrip(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		tr := sim.Generate(seed, sim.GenConfig{Ops: 300})
		text := tr.String()
		back, err := sim.ParseTrace(strings.NewReader(text))
		if err != nil {
			t.Fatalf("seed %d: parsing own output: %v", seed, err)
		}
		if !reflect.DeepEqual(back, tr) {
			t.Fatalf("seed %d: trace changed in a round trip", seed)
		}
		if again := back.String(); again != text {
			t.Fatalf("seed %d: text changed in a round trip", seed)
		}
	}
}

// The same seed gives the same trace and the same history, byte for byte.
func TestDeterministic(t *testing.T) {
	history := func(seed uint64) []byte {
		tr := sim.Generate(seed, sim.GenConfig{})
		res, err := sim.Run(context.Background(), tr, plain(mutant.None))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := tr.WriteHistory(&b, res); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for seed := uint64(1); seed <= 20; seed++ {
		a, b := history(seed), history(seed)
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: two runs wrote different histories", seed)
		}
		if seed > 1 && bytes.Equal(a, history(seed-1)) {
			t.Fatalf("seeds %d and %d wrote the same history: the seed is ignored", seed-1, seed)
		}
	}
}

func TestCorrectBackendPasses(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		f, _, err := sim.CheckSeed(context.Background(), seed, sim.GenConfig{}, plain(mutant.None))
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			t.Fatalf("false alarm on a correct backend:\n%s", f)
		}
	}
}

// Every planted bug is caught within 200 seeds of 500 operations and shrunk
// to at most 8 operations. This is the evidence that a clean run means
// something.
func TestPlantedBugsCaught(t *testing.T) {
	for _, bug := range mutant.Bugs() {
		t.Run(bug.String(), func(t *testing.T) {
			for seed := uint64(0); seed < 200; seed++ {
				cfg := sim.GenConfig{Ops: 500}
				if bug.OfOwners() {
					cfg = withUsers(cfg)
				}
				if bug.OfVersions() {
					cfg = withVersions(cfg)
				}
				f, _, err := sim.CheckSeed(context.Background(), seed, cfg, plain(bug))
				if err != nil {
					t.Fatal(err)
				}
				if f == nil {
					continue
				}
				if n := len(f.Trace.Ops); n > 8 {
					t.Fatalf("caught at seed %d but shrunk only to %d operations:\n%s", seed, n, f)
				}
				t.Logf("caught at seed %d, shrunk to %d operations", seed, len(f.Trace.Ops))
				return
			}
			t.Fatalf("bug %s not caught in 200 seeds", bug)
		})
	}
}

func TestShrunkTraceReplays(t *testing.T) {
	f, _, err := sim.CheckSeed(context.Background(), 3, sim.GenConfig{}, plain(mutant.UpdateResurrects))
	if err != nil || f == nil {
		t.Fatalf("want a failure, got %v, %v", f, err)
	}
	var b bytes.Buffer
	if err := f.Trace.WriteHistory(&b, f.Result); err != nil {
		t.Fatal(err)
	}
	back, err := sim.ParseTrace(&b)
	if err != nil {
		t.Fatalf("the history does not parse back: %v\n%s", err, b.String())
	}
	res, err := sim.Run(context.Background(), back, plain(mutant.UpdateResurrects))
	if err != nil || res.Divergence == nil || res.Divergence.Step != f.Result.Divergence.Step {
		t.Fatalf("replay of the shrunk trace: %v, %+v", err, res.Divergence)
	}
}

func TestParseErrors(t *testing.T) {
	const head = "start 2026-01-01T00:00:00Z\n"
	tests := []struct{ name, in, want string }{
		{"empty", "", "no start line"},
		{"garbage", "\x00\x01\x02", "unknown operation"},
		{"no start", "load a\n", "before the start line"},
		{"unknown op", head + "frobnicate a\n", `unknown operation "frobnicate"`},
		{"arity", head + "load a b\n", "load takes 1 argument"},
		{"bad duration", head + "advance 5 parsecs\n", "advance takes 1 argument"},
		{"bad duration 2", head + "advance 5parsecs\n", "bad duration"},
		{"unquoted state", head + "create a w1 1s\n", "STATE must be a quoted string"},
		{"open quote", head + "create a \"w1 1s\n", "malformed quoted string"},
		{"bad limit", head + "delete-expired many\n", "bad number"},
		{"huge limit", head + "delete-expired 99999999999999999999999\n", "out of range"},
		{"bad start", "start yesterday\n", "bad start time"},
		{"far start", "start 3000-01-01T00:00:00Z\n", "outside the years"},
		{"header late", head + "load a\nseed 4\n", "after the first operation"},
		{"bad limits", head[:0] + "limits state=-1\n" + head, "bad state size"},
		{"quoted op", head + "\"load\" a\n", "cannot be quoted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sim.ParseTrace(strings.NewReader(tt.in))
			var pe *sim.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *sim.ParseError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestParseLineTooLong(t *testing.T) {
	in := "start 2026-01-01T00:00:00Z\nload " + strings.Repeat("a", sim.MaxTraceLine+1) + "\n"
	_, err := sim.ParseTrace(strings.NewReader(in))
	var pe *sim.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Fatalf("error = %v, want a ParseError on line 2", err)
	}
}

func ExampleParseTrace() {
	tr, err := sim.ParseTrace(strings.NewReader(`
start 2026-01-01T00:00:00Z
create s1 "cart=1" 1s
advance 1s
update s1 "cart=2" 1s   # expired exactly now: must not come back
load s1
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := sim.Run(context.Background(), tr, plain(mutant.UpdateResurrects))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(res.Divergence)
	// Output:
	// step 2: update s1 "cart=2" 1s
	//   model expected: not-found
	//   backend did:    ok
}

// brokenServer is a harness whose server faults cannot be put in place.
type brokenServer struct{}

func (brokenServer) Terminate(context.Context) (func(), error) { return nil, errors.New("no server") }
func (brokenServer) Crash(context.Context) (func(), error)     { return nil, errors.New("restart failed") }
func (brokenServer) Timeout(context.Context) (func(), error)   { return nil, errors.New("no server") }

// A server fault the harness failed to inject leaves the server in a state
// no fault accounts for: the run is a harness error, not a verdict.
func TestFailedServerHookFailsTheRun(t *testing.T) {
	f := func(env sim.Env) (store.Store, error) {
		env.Faults.SetServer(brokenServer{})
		return mutant.New(env.Clock, env.Limits, mutant.None), nil
	}
	tr, err := sim.ParseTrace(strings.NewReader("start 2026-01-01T00:00:00Z\nfault crash\nload a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Run(context.Background(), tr, f); err == nil || !strings.Contains(err.Error(), "restart failed") {
		t.Fatalf("Run: %v, want the hook's error", err)
	}
	tr, err = sim.ParseTrace(strings.NewReader("clients 2\nstart 2026-01-01T00:00:00Z\nc0 fault crash\nc0 load a\nc1 load a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Record(context.Background(), tr, f); err == nil || !strings.Contains(err.Error(), "restart failed") {
		t.Fatalf("Record: %v, want the hook's error", err)
	}
}

// idleServer has nothing for its faults to act on.
type idleServer struct{}

func (idleServer) Terminate(context.Context) (func(), error) { return nil, faults.ErrNothingToFault }
func (idleServer) Crash(context.Context) (func(), error)     { return nil, faults.ErrNothingToFault }
func (idleServer) Timeout(context.Context) (func(), error)   { return nil, faults.ErrNothingToFault }

// A server fault with nothing to act on does not fire, and the run goes on.
func TestServerFaultWithNothingToActOn(t *testing.T) {
	f := func(env sim.Env) (store.Store, error) {
		env.Faults.SetServer(idleServer{})
		return mutant.New(env.Clock, env.Limits, mutant.None), nil
	}
	tr, err := sim.ParseTrace(strings.NewReader("start 2026-01-01T00:00:00Z\nfault terminate\nload a\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), tr, f)
	if err != nil || res.Divergence != nil || res.Faults["terminate"] != 0 {
		t.Fatalf("Run: %v, %v, fired %v", err, res.Divergence, res.Faults)
	}
}

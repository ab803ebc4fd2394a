package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/internal/stack"
	"github.com/hourglass-go/hourglass/sim"
)

// Exit codes.
const (
	exitOK       = 0
	exitDiverged = 1
	exitUsage    = 2
	exitUnknown  = 3 // a concurrent history the checker gave up on
)

// Bounds on flags, so a typo cannot ask for a run that never ends.
const (
	maxRuns = 1_000_000_000
	// maxCheckSteps bounds -max-steps: a search's memory grows with its
	// steps (up to about half a kilobyte each).
	maxCheckSteps = 100_000_000
	maxOps        = 10_000_000
)

// progressEvery is how often a long batch reports on stderr.
const progressEvery = 2 * time.Second

type config struct {
	seed     uint64
	seedSet  bool
	runs     int
	ops      int
	backend  string
	dsn      string
	start    time.Time
	trace    string
	replay   string
	profile  faults.Profile
	clients  int
	ids      int
	html     string
	check    string
	late     bool
	users    bool
	versions bool
	scan     bool
	maxSteps int
	layers   stack.Stack
	explicit map[string]bool
}

// usageError is a problem with the command line or its files: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("simrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{explicit: map[string]bool{}}
	var start, profile, layers string
	var rate float64
	fs.Uint64Var(&c.seed, "seed", 0, "first seed (default: a random one, printed)")
	fs.IntVar(&c.runs, "runs", 100, "number of seeds to run: seed, seed+1, ...")
	fs.IntVar(&c.ops, "ops", 500, "operations per run")
	fs.StringVar(&c.backend, "backend", "memory", "backend: memory, postgres, redis, or mutant:BUG (a planted bug; mutant:list lists them)")
	fs.StringVar(&layers, "layers", "", "layers over the backend, outermost first: "+strings.Join(stack.Names, ", ")+" (\"hashid,seal\" is hashid over seal over the backend)")
	fs.StringVar(&c.dsn, "dsn", "", "-backend postgres: a PostgreSQL connection string; -backend redis: redis://host:port[,host:port...][?cluster=true|false] (default: start a throwaway server)")
	fs.StringVar(&start, "start", sim.DefaultStart.Format(time.RFC3339), "instant the simulated clock starts at (RFC 3339)")
	fs.StringVar(&c.trace, "trace", "", "write the trace of the run that failed (or of the single run with -runs 1) to this file")
	fs.StringVar(&c.replay, "replay", "", "run this trace file instead of generating traces")
	fs.StringVar(&profile, "faults", "none", "fault profile: "+strings.Join(faults.ProfileNames(), ", "))
	fs.Float64Var(&rate, "fault-rate", faults.DefaultRate, "chance in [0,1] that a store operation is preceded by a fault")
	fs.IntVar(&c.clients, "clients", 1, "concurrent clients per run; above 1, each run's history is checked for linearizability (-ops is per client)")
	fs.IntVar(&c.ids, "ids", 0, "size of the ID pool the operations draw from (0: each seed picks; few IDs make clients collide)")
	fs.StringVar(&c.html, "html", "", "with -clients or -check: write porcupine's interactive view of the smallest failing part of a history to this file")
	fs.StringVar(&c.check, "check", "", "check a saved history (written by -trace with -clients) again, offline, instead of running anything")
	fs.IntVar(&c.maxSteps, "max-steps", sim.DefaultMaxSteps, "with -clients or -check: the model steps a check may take before it answers unknown (exit 3)")
	fs.BoolVar(&c.users, "users", true, "generate the per-user operations (owned sessions, caps, lists, revocations, cycles, touch) for a backend that has them")
	fs.BoolVar(&c.versions, "versions", true, "check record versions and generate conditional writes (update-if, change-id-if) for a backend that has them (store.Versioner)")
	fs.BoolVar(&c.scan, "scan", true, "generate scans of the live sessions for a backend that has them (store.Scanner)")
	fs.BoolVar(&c.late, "late", false, "let an ambiguous failure take effect after it returned (porcupine's treatment), not only before")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: simrun [flags]\n\nRuns seeded operation sequences against a backend and the reference model.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err.Error()}
	}
	fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q (flags only)", fs.Arg(0))}
	}
	c.seedSet = c.explicit["seed"]
	if c.runs < 1 || c.runs > maxRuns {
		return nil, usageError{fmt.Sprintf("-runs %d out of range [1, %d]", c.runs, maxRuns)}
	}
	if c.ops < 1 || c.ops > maxOps {
		return nil, usageError{fmt.Sprintf("-ops %d out of range [1, %d]", c.ops, maxOps)}
	}
	if c.clients < 1 || c.clients > sim.MaxClients {
		return nil, usageError{fmt.Sprintf("-clients %d out of range [1, %d]", c.clients, sim.MaxClients)}
	}
	if c.maxSteps < 1 || c.maxSteps > maxCheckSteps {
		return nil, usageError{fmt.Sprintf("-max-steps %d out of range [1, %d]", c.maxSteps, maxCheckSteps)}
	}
	if c.ids < 0 || c.ids > sim.MaxIDs {
		return nil, usageError{fmt.Sprintf("-ids %d out of range [0, %d]", c.ids, sim.MaxIDs)}
	}
	if c.ops*c.clients > maxOps {
		return nil, usageError{fmt.Sprintf("-ops %d × -clients %d is more than %d operations a run", c.ops, c.clients, maxOps)}
	}
	t, err := time.Parse(time.RFC3339Nano, start)
	if err != nil {
		return nil, usageError{fmt.Sprintf("-start %q: want an RFC 3339 time such as 2100-01-01T00:00:00Z", start)}
	}
	if t.Year() < 1678 || t.Year() > 2261 {
		return nil, usageError{fmt.Sprintf("-start %q: outside the years 1678 to 2261 the simulated clock can represent", start)}
	}
	c.start = t
	if c.layers, err = stack.Parse(layers); err != nil {
		return nil, usageError{"-layers: " + err.Error()}
	}
	if len(c.layers) > 0 && strings.HasPrefix(c.backend, "mutant:") {
		return nil, usageError{"-layers goes over memory or postgres, not a mutant"}
	}
	if c.profile, err = faults.LookupProfile(profile, rate); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.replay != "" {
		for _, f := range []string{"seed", "runs", "ops", "start", "faults", "fault-rate", "ids", "users", "versions", "scan"} {
			if c.explicit[f] {
				return nil, usageError{fmt.Sprintf("-replay takes its seed, operations and start from the file; drop -%s", f)}
			}
		}
	}
	if c.dsn != "" && c.backend != "postgres" && c.backend != "redis" {
		return nil, usageError{"-dsn is only for -backend postgres or redis"}
	}
	if c.check != "" {
		for _, f := range []string{"seed", "runs", "ops", "start", "faults", "fault-rate", "backend", "dsn", "replay", "clients", "trace", "ids", "users", "versions", "scan", "layers"} {
			if c.explicit[f] {
				return nil, usageError{fmt.Sprintf("-check checks a saved history and runs nothing; drop -%s", f)}
			}
		}
	}
	if c.html != "" {
		if c.clients == 1 && c.check == "" && c.replay == "" {
			return nil, usageError{"-html shows a concurrent history: use it with -clients 2 or more, -check or -replay"}
		}
		if err := writable(c.html); err != nil {
			return nil, usageError{fmt.Sprintf("-html %s: %v", c.html, err)}
		}
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return exitUsage
	}
	if c.backend == "mutant:list" {
		for _, name := range mutantNames() {
			fmt.Fprintln(stdout, "mutant:"+name)
		}
		return exitOK
	}
	if c.check != "" {
		return checkFile(c, stdout, stderr)
	}
	ctx := context.Background()
	b, err := openBackend(ctx, c.backend, c.dsn, c.layers, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return exitUsage
	}
	defer b.close()

	if c.replay != "" {
		return replay(ctx, c, b, stdout, stderr)
	}
	return batch(ctx, c, b, stdout, stderr)
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) >> 1 // keep it readable as a positive int64 too
}

func batch(ctx context.Context, c *config, b *backend, stdout, stderr io.Writer) int {
	if !c.seedSet {
		c.seed = randomSeed()
		fmt.Fprintf(stderr, "simrun: seed %d (random; pass -seed %d to repeat)\n", c.seed, c.seed)
	}
	cfg, err := c.genConfig(b)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return 1
	}
	if c.clients > 1 {
		return concurrentBatch(ctx, c, cfg, b, stdout, stderr)
	}
	fired := map[string]int{}
	began := time.Now() // wall time is for the report only, never for the run
	lastReport := began
	ops := 0
	for i := 0; i < c.runs; i++ {
		seed := c.seed + uint64(i)
		t := sim.Generate(seed, cfg)
		res, err := sim.Run(ctx, t, b.factory)
		if err != nil {
			fmt.Fprintf(stderr, "simrun: seed %d: %v\n", seed, err)
			return exitUsage
		}
		ops += len(res.Outcomes)
		for k, n := range res.Faults {
			fired[k] += n
		}
		if res.Divergence != nil || c.runs == 1 {
			if err := writeTrace(c.trace, t, res); err != nil {
				fmt.Fprintf(stderr, "simrun: %v\n", err)
				return exitUsage
			}
		}
		if res.Divergence != nil {
			summary(stdout, i+1, ops, began, 1, c, b, fired)
			return report(ctx, c, b, seed, t, res, stdout, stderr)
		}
		if now := time.Now(); now.Sub(lastReport) >= progressEvery {
			lastReport = now
			fmt.Fprintf(stderr, "simrun: %d/%d runs, %d ops, %s\n", i+1, c.runs, ops, now.Sub(began).Round(time.Second))
		}
	}
	summary(stdout, c.runs, ops, began, 0, c, b, fired)
	return exitOK
}

func summary(w io.Writer, runs, ops int, began time.Time, diverged int, c *config, b *backend, fired map[string]int) {
	secs := time.Since(began).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(ops) / secs
	}
	last := c.seed + uint64(runs) - 1
	fmt.Fprintf(w, "simrun: %d runs, %d ops, %.0f ops/s, %d divergences (backend %s, seeds %d..%d)\n",
		runs, ops, rate, diverged, b.name, c.seed, last)
	if c.profile.Name != "none" {
		fmt.Fprintf(w, "simrun: faults %s at rate %g: %s\n", c.profile.Name, c.profile.Rate, faultLine(fired, ops))
	}
}

// faultLine says which faults fired, how often, and per 1,000 operations, so
// that a run that injected nothing cannot pass for a fault run.
func faultLine(fired map[string]int, ops int) string {
	names := make([]string, 0, len(fired))
	total := 0
	for k, n := range fired {
		names = append(names, k)
		total += n
	}
	if total == 0 {
		return "none fired"
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %d", k, fired[k]))
	}
	return fmt.Sprintf("%d fired, %.1f per 1000 ops, %d kinds (%s)", total, 1000*float64(total)/float64(max(ops, 1)), len(names), strings.Join(parts, ", "))
}

// report shrinks a failing trace and prints what a person needs to fix it.
func report(ctx context.Context, c *config, b *backend, seed uint64, t *sim.Trace, first *sim.Result, stdout, stderr io.Writer) int {
	f, err := sim.Explain(ctx, t, first, b.factory)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: shrinking: %v\n", err)
		return exitDiverged
	}
	fmt.Fprintf(stdout, "\n%s\n", f)
	fmt.Fprintf(stdout, "replay: %s\n", replayCommand(c, b, seed))
	if c.trace != "" {
		fmt.Fprintf(stdout, "full trace written to %s; replay it with: go run ./cmd/simrun -replay %s%s\n", c.trace, c.trace, backendFlag(b))
	}
	return exitDiverged
}

func replayCommand(c *config, b *backend, seed uint64) string {
	cmd := fmt.Sprintf("go run ./cmd/simrun -seed %d -runs 1 -ops %d%s", seed, c.ops, backendFlag(b))
	if c.clients > 1 {
		cmd += fmt.Sprintf(" -clients %d", c.clients)
	}
	if c.ids > 0 {
		cmd += fmt.Sprintf(" -ids %d", c.ids)
	}
	if !c.start.Equal(sim.DefaultStart) {
		cmd += " -start " + c.start.UTC().Format(time.RFC3339Nano)
	}
	if c.profile.Name != "none" {
		cmd += fmt.Sprintf(" -faults %s -fault-rate %g", c.profile.Name, c.profile.Rate)
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"users", c.users}, {"versions", c.versions}, {"scan", c.scan}} {
		if !f.on {
			cmd += " -" + f.name + "=false"
		}
	}
	return cmd
}

func backendFlag(b *backend) string {
	flag := ""
	if b.name != "memory" {
		flag = " -backend " + b.name
	}
	if len(b.layers) > 0 {
		flag += " -layers " + b.layers.String()
	}
	return flag
}

func replay(ctx context.Context, c *config, b *backend, stdout, stderr io.Writer) int {
	f, err := os.Open(c.replay)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return exitUsage
	}
	t, err := sim.ParseTrace(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %s: %v\n", c.replay, err)
		return exitUsage
	}
	if t.Clients > 1 {
		return concurrentReplay(ctx, c, b, t, stdout, stderr)
	}
	res, err := sim.Run(ctx, t, b.factory)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return exitUsage
	}
	if err := writeTrace(c.trace, t, res); err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return exitUsage
	}
	if res.Divergence == nil {
		fmt.Fprintf(stdout, "simrun: replayed %s: %d ops, no divergence (backend %s)\n", c.replay, len(res.Outcomes), b.name)
		return exitOK
	}
	fl, err := sim.Explain(ctx, t, res, b.factory)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: shrinking: %v\n", err)
		return exitDiverged
	}
	fmt.Fprintf(stdout, "simrun: replayed %s: diverged (backend %s)\n\n%s", c.replay, b.name, fl)
	return exitDiverged
}

// writeTrace writes a run's history to path, if one was asked for.
func writeTrace(path string, t *sim.Trace, res *sim.Result) error {
	if path == "" {
		return nil
	}
	var b strings.Builder
	if err := t.WriteHistory(&b, res); err != nil {
		return err
	}
	if err := writeFile(path, []byte(b.String())); err != nil {
		return fmt.Errorf("writing the trace: %w", err)
	}
	return nil
}

// genConfig is the generator's configuration for the command line, with
// the operations of the optional capabilities the backend has, less those
// a flag turns off (-users, -versions, -scan). With all three off it is
// the configuration, and so the traces, of before the capabilities.
func (c *config) genConfig(b *backend) (sim.GenConfig, error) {
	cfg := sim.GenConfig{Ops: c.ops, Start: c.start, Faults: c.profile, Clients: c.clients, IDs: c.ids}
	if !c.users && !c.versions && !c.scan {
		return cfg, nil
	}
	cfg, err := sim.Probe(cfg, b.factory)
	if err != nil {
		return cfg, err
	}
	if !c.users {
		cfg.Owners, cfg.Touch = false, false
	}
	if !c.versions {
		cfg.Versions = false
	}
	if !c.scan {
		cfg.Scan = false
	}
	return cfg, nil
}

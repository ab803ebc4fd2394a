package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hourglass-go/hourglass/sim"
)

// concurrentBatch runs -runs seeds of -clients clients each, checking every
// history for linearizability, and stops at the first that is not
// linearizable or whose check gave up.
func concurrentBatch(ctx context.Context, c *config, cfg sim.GenConfig, b *backend, stdout, stderr io.Writer) int {
	opts := sim.CheckOptions{Late: c.late, MaxSteps: c.maxSteps}
	fired := map[string]int{}
	began := time.Now() // wall time is for the report only, never for the run
	lastReport := began
	ops := 0
	var checkTime time.Duration
	for i := 0; i < c.runs; i++ {
		seed := c.seed + uint64(i)
		h, err := sim.Record(ctx, sim.Generate(seed, cfg), b.factory)
		if err != nil {
			fmt.Fprintf(stderr, "simrun: seed %d: %v\n", seed, err)
			return exitUsage
		}
		saved := false
		if c.runs == 1 && c.trace != "" {
			// Saved before the check, so that a check that runs out
			// of time or memory still leaves the history to study.
			if !saveHistory(c.trace, h, stderr) {
				return exitUsage
			}
			saved = true
		}
		checkBegan := time.Now()
		r := sim.Check(h, opts)
		checkTime += time.Since(checkBegan)
		ops += h.Operations()
		for k, n := range h.Faults {
			fired[k] += n
		}
		if r.Verdict != sim.Linearizable && c.trace != "" && !saved {
			if !saveHistory(c.trace, h, stderr) {
				return exitUsage
			}
		}
		if r.Verdict != sim.Linearizable {
			concurrentSummary(stdout, i+1, ops, began, checkTime, r.Verdict, c, b, fired)
			return concurrentReport(c, b, seed, h, r, stdout, stderr)
		}
		if now := time.Now(); now.Sub(lastReport) >= progressEvery {
			lastReport = now
			fmt.Fprintf(stderr, "simrun: %d/%d runs, %d ops, %s\n", i+1, c.runs, ops, now.Sub(began).Round(time.Second))
		}
	}
	concurrentSummary(stdout, c.runs, ops, began, checkTime, sim.Linearizable, c, b, fired)
	return exitOK
}

func concurrentSummary(w io.Writer, runs, ops int, began time.Time, checkTime time.Duration, last sim.Verdict, c *config, b *backend, fired map[string]int) {
	secs := time.Since(began).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(ops) / secs
	}
	bad, unknown := 0, 0
	switch last {
	case sim.NotLinearizable:
		bad = 1
	case sim.Unknown:
		unknown = 1
	}
	fmt.Fprintf(w, "simrun: %d runs of %d clients, %d ops, %.0f checked ops/s (checking %.0f%% of the time), %d not linearizable, %d unknown (backend %s, seeds %d..%d)\n",
		runs, c.clients, ops, rate, 100*checkTime.Seconds()/max(secs, 1e-9), bad, unknown, b.name, c.seed, c.seed+uint64(runs)-1)
	if c.profile.Name != "none" {
		fmt.Fprintf(w, "simrun: faults %s at rate %g: %s\n", c.profile.Name, c.profile.Rate, faultLine(fired, ops))
	}
}

// concurrentReport prints the check's report, saves the history (to -trace
// or a temporary file) so that it can be checked again, writes the HTML
// view if asked, and says how to do each again.
func concurrentReport(c *config, b *backend, seed uint64, h *sim.History, r *sim.Checked, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "\nseed %d, %d clients: %s", seed, c.clients, r)
	path := c.trace
	if path == "" {
		f, err := os.CreateTemp("", fmt.Sprintf("hourglass-seed-%d-*.history", seed))
		if err == nil {
			_, err = f.WriteString(h.String())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "simrun: saving the history: %v\n", err)
		} else {
			path = f.Name()
		}
	}
	code := verdictCode(r)
	if !writeView(c, r, stdout, stderr) {
		code = exitUsage
	}
	fmt.Fprintf(stdout, "replay: %s (runs the same operations again; the schedule may differ)\n", replayCommand(c, b, seed))
	if path != "" {
		fmt.Fprintf(stdout, "history: %s; check it again with: go run ./cmd/simrun -check %s [-html view.html]\n", path, path)
	}
	return code
}

func verdictCode(r *sim.Checked) int {
	switch r.Verdict {
	case sim.Linearizable:
		return exitOK
	case sim.Unknown:
		return exitUnknown
	}
	return exitDiverged
}

// concurrentReplay runs a trace of several clients again and checks the
// new history.
func concurrentReplay(ctx context.Context, c *config, b *backend, t *sim.Trace, stdout, stderr io.Writer) int {
	h, err := sim.Record(ctx, t, b.factory)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return exitUsage
	}
	if c.trace != "" && !saveHistory(c.trace, h, stderr) {
		return exitUsage
	}
	r := sim.Check(h, sim.CheckOptions{Late: c.late, MaxSteps: c.maxSteps})
	fmt.Fprintf(stdout, "simrun: replayed %s on %d clients: %d ops (backend %s): %s", c.replay, t.Clients, h.Operations(), b.name, r)
	if !writeView(c, r, stdout, stderr) {
		return exitUsage
	}
	return verdictCode(r)
}

// checkFile checks a saved history again.
func checkFile(c *config, stdout, stderr io.Writer) int {
	f, err := os.Open(c.check)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return exitUsage
	}
	limited := &io.LimitedReader{R: f, N: maxHistoryBytes + 1}
	h, err := sim.ParseHistory(limited)
	f.Close()
	if limited.N == 0 {
		// Checking the part that fits would check another history, and
		// a parse error in its cut last line would name the wrong cause.
		err = fmt.Errorf("larger than %d bytes", maxHistoryBytes)
	}
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %s: %v\n", c.check, err)
		return exitUsage
	}
	r := sim.Check(h, sim.CheckOptions{Late: c.late, MaxSteps: c.maxSteps})
	clients := max(h.Trace.Clients, 1)
	fmt.Fprintf(stdout, "simrun: %s: seed %d, %d clients, %d ops: %s", c.check, h.Trace.Seed, clients, h.Operations(), r)
	if !writeView(c, r, stdout, stderr) {
		return exitUsage
	}
	return verdictCode(r)
}

// maxHistoryBytes bounds a history file -check reads (a variable so that a
// test can lower it).
var maxHistoryBytes int64 = 1 << 30

// saveHistory writes h to path, saying on stderr if it could not.
func saveHistory(path string, h *sim.History, stderr io.Writer) bool {
	if err := writeFile(path, []byte(h.String())); err != nil {
		fmt.Fprintf(stderr, "simrun: writing the history: %v\n", err)
		return false
	}
	return true
}

// writeView writes -html's view of r's failing part, if -html was given
// and there is a part to show, and reports false if it could not.
func writeView(c *config, r *sim.Checked, stdout, stderr io.Writer) bool {
	switch {
	case c.html == "":
		return true
	case r.Part == nil:
		fmt.Fprintf(stderr, "simrun: no view written: the history is %s\n", r.Verdict)
		return true
	}
	if err := writeHTML(c.html, r); err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return false
	}
	fmt.Fprintf(stdout, "view: %s (porcupine's view of the smallest failing part)\n", c.html)
	return true
}

func writeHTML(path string, r *sim.Checked) error {
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		return err
	}
	if err := writeFile(path, b.Bytes()); err != nil {
		return fmt.Errorf("writing the view: %w", err)
	}
	return nil
}

// writeFile writes data to path whole or not at all: to a temporary file
// beside it, renamed over it once complete.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// writable checks, before a long run, that a file can be written at path.
func writable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("is a directory")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("cannot write there: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

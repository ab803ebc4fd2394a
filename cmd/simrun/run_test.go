package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func simrun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestBatchPasses(t *testing.T) {
	code, out, errOut := simrun(t, "-seed", "7", "-runs", "20", "-ops", "200")
	if code != exitOK {
		t.Fatalf("exit %d, stdout %q stderr %q", code, out, errOut)
	}
	if !strings.Contains(out, "20 runs") || !strings.Contains(out, "0 divergences") || !strings.Contains(out, "seeds 7..26") {
		t.Fatalf("summary = %q", out)
	}
}

func TestRandomSeedIsPrinted(t *testing.T) {
	code, _, errOut := simrun(t, "-runs", "1", "-ops", "10")
	if code != exitOK || !strings.Contains(errOut, "pass -seed") {
		t.Fatalf("exit %d, stderr %q: a random seed must be printed so the run can be repeated", code, errOut)
	}
}

// -trace output is byte-identical across runs of the same seed and flags.
func TestTraceDeterministic(t *testing.T) {
	dir := t.TempDir()
	var files [2][]byte
	for i := range files {
		p := filepath.Join(dir, "run.trace")
		if code, out, e := simrun(t, "-seed", "99", "-runs", "1", "-trace", p); code != exitOK {
			t.Fatalf("exit %d: %s %s", code, out, e)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = b
	}
	if !bytes.Equal(files[0], files[1]) || len(files[0]) == 0 {
		t.Fatal("two runs of seed 99 wrote different traces")
	}
	// The written trace replays cleanly.
	p := filepath.Join(dir, "run.trace")
	if code, out, e := simrun(t, "-replay", p); code != exitOK || !strings.Contains(out, "no divergence") {
		t.Fatalf("replay: exit %d: %s %s", code, out, e)
	}
}

// A planted bug: exit 1, the seed, a shrunk trace and the command that
// replays it; the written trace replays the failure.
func TestDivergenceReport(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fail.trace")
	code, out, _ := simrun(t, "-seed", "1", "-runs", "50", "-backend", "mutant:update-resurrects", "-trace", p)
	if code != exitDiverged {
		t.Fatalf("exit %d, want %d:\n%s", code, exitDiverged, out)
	}
	for _, want := range []string{"seed 1 diverged", "model expected: not-found", "backend did:    ok", "shrunk trace:", "replay: go run ./cmd/simrun -seed 1 -runs 1 -ops 500 -backend mutant:update-resurrects"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = simrun(t, "-replay", p, "-backend", "mutant:update-resurrects")
	if code != exitDiverged || !strings.Contains(out, "diverged") {
		t.Fatalf("replaying the written trace: exit %d:\n%s", code, out)
	}
	// The same trace on a correct backend passes: the report is about the bug.
	if code, out, _ = simrun(t, "-replay", p); code != exitOK {
		t.Fatalf("the failing trace on the memory backend: exit %d:\n%s", code, out)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.trace")
	if err := os.WriteFile(corrupt, []byte("start 2026-01-01T00:00:00Z\ncreate a \"unterminated 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "binary.trace")
	if err := os.WriteFile(binary, []byte{0xff, 0xfe, 0, 1, 2}, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-runs", "0"}, "-runs 0 out of range"},
		{[]string{"-runs", "-3"}, "out of range"},
		{[]string{"-ops", "0"}, "-ops 0 out of range"},
		{[]string{"-ops", "99999999999"}, "out of range"},
		{[]string{"-seed", "-1"}, "invalid value"},
		{[]string{"-seed", "x"}, "invalid value"},
		{[]string{"-backend", "redis"}, `unknown backend "redis"`},
		{[]string{"-backend", "mutant:nope"}, `unknown mutant "nope"`},
		{[]string{"-start", "tomorrow"}, "want an RFC 3339 time"},
		{[]string{"-start", "9999-01-01T00:00:00Z"}, "outside the years"},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-replay", filepath.Join(dir, "missing.trace")}, "no such file"},
		{[]string{"-replay", corrupt}, "trace line 2"},
		{[]string{"-replay", binary}, "trace line 1"},
		{[]string{"-replay", corrupt, "-seed", "3"}, "drop -seed"},
		{[]string{"-dsn", "postgres://x"}, "only for -backend postgres"},
		{[]string{"-trace", filepath.Join(dir, "no", "such", "dir", "t"), "-runs", "1", "-ops", "5"}, "writing the trace"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := simrun(t, tt.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d (stdout %q)", code, exitUsage, out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Fatalf("stderr %q does not name the problem (%q)", errOut, tt.want)
			}
		})
	}
}

func TestMutantList(t *testing.T) {
	code, out, _ := simrun(t, "-backend", "mutant:list")
	if code != exitOK || !strings.Contains(out, "mutant:update-resurrects") {
		t.Fatalf("exit %d: %q", code, out)
	}
}

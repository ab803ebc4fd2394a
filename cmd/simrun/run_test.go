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
	tests := []usageCase{
		{[]string{"-runs", "0"}, "-runs 0 out of range"},
		{[]string{"-runs", "-3"}, "out of range"},
		{[]string{"-ops", "0"}, "-ops 0 out of range"},
		{[]string{"-ops", "99999999999"}, "out of range"},
		{[]string{"-max-steps", "0"}, "-max-steps 0 out of range"},
		{[]string{"-max-steps", "100000001"}, "out of range"},
		{[]string{"-seed", "-1"}, "invalid value"},
		{[]string{"-seed", "x"}, "invalid value"},
		{[]string{"-backend", "mongodb"}, `unknown backend "mongodb"`},
		{[]string{"-backend", "redis", "-dsn", "http://x:1"}, "redis:// or rediss://"},
		{[]string{"-backend", "redis", "-dsn", "redis://a:1,b:2?cluster=false"}, "cluster=false"},
		{[]string{"-backend", "mutant:nope"}, `unknown mutant "nope"`},
		{[]string{"-start", "tomorrow"}, "want an RFC 3339 time"},
		{[]string{"-start", "9999-01-01T00:00:00Z"}, "outside the years"},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-replay", filepath.Join(dir, "missing.trace")}, "no such file"},
		{[]string{"-replay", corrupt}, "trace line 2"},
		{[]string{"-replay", binary}, "trace line 1"},
		{[]string{"-replay", corrupt, "-seed", "3"}, "drop -seed"},
		{[]string{"-dsn", "postgres://x"}, "only for -backend postgres or redis"},
		{[]string{"-trace", filepath.Join(dir, "no", "such", "dir", "t"), "-runs", "1", "-ops", "5"}, "writing the trace"},
	}
	wantUsageErrors(t, tests)
}

// usageCase is a command line simrun must refuse, and what its message
// must mention.
type usageCase struct {
	args []string
	want string
}

// wantUsageErrors runs each case: exit 2, with stderr naming the problem.
func wantUsageErrors(t *testing.T, tests []usageCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := simrun(t, tt.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", code, exitUsage, out, errOut)
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

func TestConcurrentBatchPasses(t *testing.T) {
	code, out, errOut := simrun(t, "-seed", "3", "-runs", "10", "-ops", "60", "-clients", "4", "-faults", "all")
	if code != exitOK {
		t.Fatalf("exit %d, stdout %q stderr %q", code, out, errOut)
	}
	for _, want := range []string{"10 runs of 4 clients", "0 not linearizable, 0 unknown", "seeds 3..12", "faults all"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q: %q", want, out)
		}
	}
}

// The operations of a concurrent run are the same for the same seed and
// flags; only what they returned and when may differ.
func TestConcurrentTraceDeterministic(t *testing.T) {
	dir := t.TempDir()
	ops := func() string {
		p := filepath.Join(dir, "run.history")
		if code, out, e := simrun(t, "-seed", "5", "-runs", "1", "-ops", "50", "-clients", "4", "-trace", p); code != exitOK {
			t.Fatalf("exit %d: %s %s", code, out, e)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if i := strings.Index(l, "  #"); i >= 0 {
				l = l[:i]
			}
			lines = append(lines, l)
		}
		return strings.Join(lines, "\n")
	}
	a, b := ops(), ops()
	if a != b || !strings.Contains(a, "clients 4") {
		t.Fatal("two runs of seed 5 with 4 clients ran different operations")
	}
}

// A race bug: exit 1, the report, a saved history that -check checks again
// offline with the same verdict and report every time, and an HTML view.
func TestConcurrentReportAndOfflineCheck(t *testing.T) {
	dir := t.TempDir()
	hist, view := filepath.Join(dir, "fail.history"), filepath.Join(dir, "view.html")
	code, out, errOut := simrun(t, "-seed", "1", "-runs", "50", "-clients", "8", "-backend", "mutant:create-check-then-insert", "-trace", hist, "-html", view)
	if code != exitDiverged {
		t.Fatalf("exit %d, want %d:\n%s%s", code, exitDiverged, out, errOut)
	}
	for _, want := range []string{"8 clients: not linearizable", "smallest failing part", "<-- no order explains this",
		"replay: go run ./cmd/simrun -seed ", "-clients 8", "check it again with: go run ./cmd/simrun -check " + hist} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(view); err != nil || !bytes.Contains(b, []byte("<html")) {
		t.Fatalf("the view: %v", err)
	}
	var reports [2]string
	for i := range reports {
		code, out, _ := simrun(t, "-check", hist)
		if code != exitDiverged || !strings.Contains(out, "not linearizable") {
			t.Fatalf("-check: exit %d:\n%s", code, out)
		}
		reports[i] = out
	}
	if reports[0] != reports[1] {
		t.Fatalf("two checks of one history differ:\n%s\n%s", reports[0], reports[1])
	}
	view2 := filepath.Join(dir, "again.html")
	if code, out, e := simrun(t, "-check", hist, "-html", view2); code != exitDiverged {
		t.Fatalf("-check -html: exit %d: %s %s", code, out, e)
	}
	if _, err := os.Stat(view2); err != nil {
		t.Fatal(err)
	}
	// The saved history replays as a trace too, on a correct backend.
	if code, out, e := simrun(t, "-replay", hist); code != exitOK || !strings.Contains(out, "linearizable") {
		t.Fatalf("-replay of the history on memory: exit %d: %s %s", code, out, e)
	}
}

func TestConcurrentBadInput(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.history")
	if err := os.WriteFile(corrupt, []byte("# hourglass history v1\nclients 2\nstart 2026-01-01T00:00:00Z\nc0 load a  # not-found @2-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(dir, "plain.trace")
	if err := os.WriteFile(trace, []byte("start 2026-01-01T00:00:00Z\nload a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	readonly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readonly, 0o500); err != nil {
		t.Fatal(err)
	}
	tests := []usageCase{
		{[]string{"-clients", "0"}, "-clients 0 out of range"},
		{[]string{"-clients", "-2"}, "out of range"},
		{[]string{"-clients", "65"}, "out of range"},
		{[]string{"-clients", "x"}, "invalid value"},
		{[]string{"-clients", "8", "-ops", "9000000"}, "operations a run"},
		{[]string{"-ids", "-1"}, "-ids -1 out of range"},
		{[]string{"-ids", "19"}, "out of range"},
		{[]string{"-check", corrupt, "-ids", "2"}, "drop -ids"},
		{[]string{"-html", filepath.Join(dir, "v.html")}, "-html shows a concurrent history"},
		{[]string{"-clients", "8", "-html", filepath.Join(dir, "no", "such", "v.html")}, "cannot write there"},
		{[]string{"-clients", "8", "-html", dir}, "is a directory"},
		{[]string{"-check", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"-check", corrupt}, "bad interval"},
		{[]string{"-check", trace}, "not a history"},
		{[]string{"-check", corrupt, "-seed", "3"}, "drop -seed"},
		{[]string{"-check", corrupt, "-backend", "postgres"}, "drop -backend"},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		tests = append(tests, usageCase{[]string{"-clients", "8", "-html", filepath.Join(readonly, "v.html")}, "cannot write there"})
	}
	wantUsageErrors(t, tests)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".html") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a failed run left %s behind", e.Name())
		}
	}
}

// A history larger than -check reads is refused, not checked in part: the
// part that fits would be another history.
func TestCheckRefusesAnOversizedHistory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "run.history")
	if code, out, e := simrun(t, "-seed", "5", "-runs", "1", "-ops", "20", "-clients", "2", "-trace", p); code != exitOK {
		t.Fatalf("exit %d: %s %s", code, out, e)
	}
	if code, out, _ := simrun(t, "-check", p); code != exitOK {
		t.Fatalf("-check of the whole history: exit %d: %s", code, out)
	}
	old := maxHistoryBytes
	maxHistoryBytes = 200
	t.Cleanup(func() { maxHistoryBytes = old })
	if code, _, errOut := simrun(t, "-check", p); code != exitUsage || !strings.Contains(errOut, "larger than 200 bytes") {
		t.Fatalf("-check of a history over the limit: exit %d, stderr %q", code, errOut)
	}
}

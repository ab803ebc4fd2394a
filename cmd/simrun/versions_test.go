package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -versions=false -scan=false give the trace a seed gave before versions
// and scans existed: the checksums are of the files `simrun -seed 99
// -runs 1 [-faults all] -trace FILE` wrote at commit 42e8dc5, the trace
// and what the memory backend answered to it.
func TestVersionsOffGivesTheOldTraces(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		sum  string
	}{
		{nil, "3e12d00ead9df0775ea3d1383e3a8d542c67b5891ca96ccf52c543f5e21b5195"},
		{[]string{"-faults", "all"}, "801158c4fab874cb246be873390a0fb2ac87ef211d5a26e8f334658236d90b05"},
	} {
		p := filepath.Join(dir, "run.trace")
		args := append([]string{"-seed", "99", "-runs", "1", "-versions=false", "-scan=false", "-trace", p}, tt.args...)
		if code, out, e := simrun(t, args...); code != exitOK {
			t.Fatalf("%v: exit %d: %s %s", args, code, out, e)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if sum := fmt.Sprintf("%x", sha256.Sum256(b)); sum != tt.sum {
			t.Errorf("%v: the trace has checksum %s, before versions existed %s", args, sum, tt.sum)
		}
	}
}

// By default the traces check versions and hold the new operations, for a
// backend that has them; each flag leaves its part out.
func TestVersionAndScanFlags(t *testing.T) {
	dir := t.TempDir()
	trace := func(args ...string) string {
		p := filepath.Join(dir, "run.trace")
		args = append([]string{"-seed", "2", "-runs", "1", "-ops", "300", "-trace", p}, args...)
		if code, out, e := simrun(t, args...); code != exitOK {
			t.Fatalf("%v: exit %d: %s %s", args, code, out, e)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	has := func(text, op string) bool { return strings.Contains(text, "\n"+op+" ") }
	all := trace()
	if !strings.Contains(all, "\nversions\n") || !has(all, "update-if") || !has(all, "change-id-if") || !has(all, "scan") || !strings.Contains(all, " version=") {
		t.Fatalf("the default trace lacks versions or the new operations:\n%s", all)
	}
	noVersions := trace("-versions=false")
	if strings.Contains(noVersions, "\nversions\n") || has(noVersions, "update-if") || has(noVersions, "change-id-if") || strings.Contains(noVersions, "version=") || !has(noVersions, "scan") {
		t.Fatalf("-versions=false: %s", noVersions)
	}
	noScan := trace("-scan=false")
	if has(noScan, "scan") || !has(noScan, "update-if") {
		t.Fatalf("-scan=false: %s", noScan)
	}
	// The flags are documented, and a replay command repeats them.
	_, _, usage := simrun(t, "-h")
	for _, f := range []string{"-versions", "-scan", "store.Versioner", "store.Scanner"} {
		if !strings.Contains(usage, f) {
			t.Errorf("the usage does not mention %s:\n%s", f, usage)
		}
	}
	code, out, _ := simrun(t, "-seed", "1", "-runs", "50", "-backend", "mutant:update-resurrects", "-versions=false", "-scan=false")
	if code != exitDiverged || !strings.Contains(out, "-backend mutant:update-resurrects -versions=false -scan=false") {
		t.Fatalf("exit %d, the replay command does not repeat the flags:\n%s", code, out)
	}
	wantUsageErrors(t, []usageCase{
		{[]string{"-replay", filepath.Join(dir, "run.trace"), "-versions=false"}, "drop -versions"},
		{[]string{"-check", filepath.Join(dir, "run.trace"), "-scan=false"}, "drop -scan"},
	})
}

// The version race of internal/mutant is caught by a concurrent run, and
// passes a sequential one.
func TestVersionRaceMutant(t *testing.T) {
	if code, out, _ := simrun(t, "-seed", "1", "-runs", "30", "-ops", "300", "-backend", "mutant:update-if-ignores-version"); code != exitOK {
		t.Fatalf("sequential: exit %d:\n%s", code, out)
	}
	code, out, _ := simrun(t, "-seed", "1", "-runs", "50", "-clients", "8", "-backend", "mutant:update-if-ignores-version", "-trace", filepath.Join(t.TempDir(), "h"))
	if code != exitDiverged || !strings.Contains(out, "update-if") || !strings.Contains(out, "not linearizable") {
		t.Fatalf("concurrent: exit %d:\n%s", code, out)
	}
}

// The run in which the concurrent checker found seal's ChangeID moving a
// re-created session with the earlier one's state, when every session
// started at version 1, passes now that a session's first version is a
// hash of its fields (store.FirstVersion).
func TestSealedHashedSeed618(t *testing.T) {
	code, out, errOut := simrun(t, "-seed", "618", "-runs", "1", "-layers", "hashid,seal", "-clients", "8", "-faults", "net")
	if code != exitOK || !strings.Contains(out, "0 not linearizable") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
}

package storetest_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/storetest"
)

// drawSum is a checksum of the traces the property draws for a backend
// with caps, in 200 checks from rapid's seed 7.
func drawSum(t *testing.T, caps sim.GenConfig) string {
	setFlag(t, "rapid.seed", "7")
	setFlag(t, "rapid.checks", "200")
	h := sha256.New()
	rapid.Check(t, func(rt *rapid.T) {
		h.Write([]byte(storetest.DrawTraceWith(rt, caps).String()))
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

// For a backend without versions or scans the property draws, byte for
// byte, the traces it drew before they existed: the checksums are of the
// traces drawn at commit 42e8dc5.
func TestPropertyWithoutNewCapabilitiesUnchanged(t *testing.T) {
	for _, tt := range []struct {
		name string
		caps sim.GenConfig
		sum  string
	}{
		{"none", sim.GenConfig{}, "d261b7c4fdefbec5ec93e323258bc57b0516fa7087265e6b9e1d765b7d2c7ce4"},
		{"owners and touch", sim.GenConfig{Owners: true, Touch: true}, "ea3f5826306335504e7ed1dbe55d30cdf2901fe5dcc905b6c6387a8b556917b9"},
		{"touch", sim.GenConfig{Touch: true}, "0741e19727fd45e722297fe85cfff2318d3622c80c7040aaac9a02ba72ec2e1d"},
	} {
		if got := drawSum(t, tt.caps); got != tt.sum {
			t.Errorf("%s: the drawn traces have checksum %s, before versions existed %s", tt.name, got, tt.sum)
		}
	}
}

// For a backend with them, the property draws every versioned operation,
// and the trace checks versions.
func TestPropertyDrawsVersionedOperations(t *testing.T) {
	setFlag(t, "rapid.seed", "7")
	setFlag(t, "rapid.checks", "200")
	seen := map[string]bool{}
	rapid.Check(t, func(rt *rapid.T) {
		tr := storetest.DrawTraceWith(rt, sim.GenConfig{Owners: true, Touch: true, Versions: true, Scan: true})
		if !tr.Versions {
			rt.Fatal("a trace of a backend with versions does not check them")
		}
		for _, op := range tr.Ops {
			name, _, _ := strings.Cut(op.String(), " ")
			seen[name] = true
			if u, ok := op.(sim.UpdateIf); ok && u.Version == 0 {
				seen["update-if 0"] = true
			}
		}
	})
	for _, want := range []string{"update-if", "update-if 0", "change-id-if", "scan", "create-owned", "touch", "create"} {
		if !seen[want] {
			t.Errorf("200 traces never drew %q", want)
		}
	}
	seen = map[string]bool{}
	rapid.Check(t, func(rt *rapid.T) {
		tr := storetest.DrawTraceWith(rt, sim.GenConfig{Scan: true})
		if tr.Versions {
			rt.Fatal("a trace of a backend that scans but has no versions checks them")
		}
		for _, op := range tr.Ops {
			name, _, _ := strings.Cut(op.String(), " ")
			seen[name] = true
		}
	})
	if !seen["scan"] || seen["update-if"] || seen["change-id-if"] {
		t.Errorf("a backend that only scans: drew %v", seen)
	}
}

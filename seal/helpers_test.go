package seal_test

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// secret is key id's secret in these tests: fixed, so that a test can
// look for it in every string the package produces, and different for
// every ID.
func secret(id uint32) []byte {
	b := make([]byte, seal.KeySize)
	for i := range b {
		b[i] = byte(int(id)*97 + i*13 + 5)
	}
	return b
}

// spec is the ParseRing entry of key id.
func spec(id uint32) string {
	return fmt.Sprintf("%d:%s", id, base64.RawURLEncoding.EncodeToString(secret(id)))
}

// ringOf returns a ring of the keys ids, sealing with write.
func ringOf(tb testing.TB, write uint32, ids ...uint32) *seal.Ring {
	tb.Helper()
	keys := make([]seal.Key, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, seal.Key{ID: id, Secret: secret(id)})
	}
	r, err := seal.NewRing(write, keys...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// leaks reports which encoding of which key's secret s contains, if any.
func leaks(s string, ids ...uint32) string {
	for _, id := range ids {
		k := secret(id)
		for name, enc := range map[string]string{
			"raw":       string(k),
			"base64url": base64.RawURLEncoding.EncodeToString(k),
			"base64":    base64.RawStdEncoding.EncodeToString(k),
			"hex":       hex.EncodeToString(k),
			"HEX":       strings.ToUpper(hex.EncodeToString(k)),
			"decimal":   strings.Trim(fmt.Sprint(k), "[]"),
			"go":        strings.Trim(fmt.Sprintf("%#v", k), "[]byte{}"),
		} {
			if strings.Contains(s, enc) {
				return fmt.Sprintf("key %d as %s", id, name)
			}
		}
	}
	return ""
}

// fixture is a layer over a memstore on a simulated clock, recording what
// OnTamper is given.
type fixture struct {
	clk   *clock.Sim
	inner *memstore.Store
	l     *seal.Layer

	mu      sync.Mutex
	reports []*seal.TamperError
}

// innerLimits are what the memstore under a layer with limits must accept.
func innerLimits(l store.Limits) store.Limits {
	l = l.WithDefaults()
	l.MaxStateSize += seal.Overhead
	return l
}

func newFixture(tb testing.TB, ring *seal.Ring, opts seal.Options) *fixture {
	tb.Helper()
	f := &fixture{clk: clock.NewSim(t0)}
	// The inner store has no cap of its own: a layer's MaxPerOwner must apply by
	// itself.
	inner := innerLimits(opts.Limits)
	inner.MaxPerOwner = 0
	f.inner = memstore.New(memstore.Options{Clock: f.clk, Limits: inner})
	f.l = f.layer(tb, ring, opts)
	return f
}

// layer returns another layer over the fixture's memstore.
func (f *fixture) layer(tb testing.TB, ring *seal.Ring, opts seal.Options) *seal.Layer {
	tb.Helper()
	opts.OnTamper = func(e *seal.TamperError) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.reports = append(f.reports, e)
	}
	l, err := seal.New(f.inner, ring, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func (f *fixture) tamperReports() []*seal.TamperError {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*seal.TamperError(nil), f.reports...)
}

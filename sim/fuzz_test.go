package sim_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hourglass-go/hourglass/sim"
)

// FuzzParseTrace holds the parser to two promises: no input makes it panic,
// and whatever it accepts prints and parses back to the same trace.
func FuzzParseTrace(f *testing.F) {
	f.Add(sim.Generate(1, sim.GenConfig{Ops: 40}).String())
	f.Add("start 2026-01-01T00:00:00Z\ncreate \"bad id\" \"\\x00\" 1ns # c\nadvance -1µs\n")
	f.Add("seed 3\nlimits state=8 ttl=1m\nstart 1970-01-01T00:00:00.000001Z\nchange-id a a\ndelete-expired 0\n")
	f.Add("fault net-drop 2\nsweep 2\n@2 sweep -1\n")
	f.Add(sim.Generate(2, sim.GenConfig{Ops: 60, Owners: true, Touch: true}).String())
	f.Add("start 2026-01-01T00:00:00Z\nlimits owner-cap=2\ncreate-owned a \"Zoë\" \"w\" 1s 0\ncycle a b \"\" \"\" 1ms -1\nlist \"a b\"\nrevoke \"x\" a\nrevoke-handle \"x\" \"00\"\nrevoke-all \"x\" a \"b c\"\ntouch a 1s 0s\n")
	f.Add(sim.Generate(3, sim.GenConfig{Ops: 60, Clients: 3, Owners: true, Versions: true, Scan: true}).String())
	f.Add("start 2026-01-01T00:00:00Z\nversions\nstored-id ab ba\nupdate-if a 0 \"w\" keep\nupdate-if \"b c\" 18446744073709551615 \"\" -1ns\nchange-id-if a a 2 \"\\x00\"\nscan \"\" 0\n@2 scan a -1\nc1 scan \"é\" 3\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := sim.ParseTrace(strings.NewReader(in))
		if err != nil {
			return
		}
		text := tr.String()
		back, err := sim.ParseTrace(strings.NewReader(text))
		if err != nil {
			t.Fatalf("accepted %q but not its own rendering %q: %v", in, text, err)
		}
		if !reflect.DeepEqual(back, tr) {
			t.Fatalf("round trip changed the trace:\n%q\n%q", in, text)
		}
	})
}

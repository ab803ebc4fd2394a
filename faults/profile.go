package faults

import (
	"fmt"
	"sort"
	"strings"
)

// Profile is a named set of fault kinds the generator draws from, and how
// often: Rate is the chance that a store operation is preceded by a fault.
// Clock faults (jumps forward, steps back, skew between two instances of
// one store) are not Kinds but operations of their own; Clock turns them on.
type Profile struct {
	Name  string
	Kinds []Kind
	Clock bool
	Rate  float64
}

// DefaultRate is the fault rate of a profile unless set otherwise.
const DefaultRate = 0.05

var profiles = map[string]Profile{
	"none":   {Name: "none"},
	"store":  {Name: "store", Kinds: []Kind{FailBefore, FailAfter, FailLost}},
	"net":    {Name: "net", Kinds: []Kind{NetRefuse, NetDrop, NetStall}},
	"server": {Name: "server", Kinds: []Kind{Terminate, Timeout, Crash}},
	"clock":  {Name: "clock", Clock: true},
	"all":    {Name: "all", Kinds: Kinds(), Clock: true},
}

// ProfileNames lists the profiles, sorted.
func ProfileNames() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupProfile returns the named profile with rate (DefaultRate if rate is
// negative). Rates outside [0, 1] and unknown names are errors.
func LookupProfile(name string, rate float64) (Profile, error) {
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown fault profile %q (want one of %s)", clip(name), strings.Join(ProfileNames(), ", "))
	}
	if rate < 0 {
		rate = DefaultRate
	}
	if rate > 1 || rate != rate {
		return Profile{}, fmt.Errorf("fault rate %v outside [0, 1]", rate)
	}
	if p.Name != "none" {
		p.Rate = rate
	}
	return p, nil
}

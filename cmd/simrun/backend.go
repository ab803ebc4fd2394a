package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// backend is what simrun runs traces against.
type backend struct {
	name    string
	factory sim.Factory
	close   func()
}

func openBackend(ctx context.Context, name, dsn string, log io.Writer) (*backend, error) {
	switch {
	case name == "memory":
		return &backend{name: name, close: func() {}, factory: func(env sim.Env) (store.Store, error) {
			m := memstore.New(memstore.Options{Clock: env.Clock, Limits: env.Limits})
			return sim.Instances(m, func(c clock.Clock) store.Store { return m.WithClock(c) }), nil
		}}, nil
	case name == "postgres":
		return openPostgres(ctx, dsn, log)
	case strings.HasPrefix(name, "mutant:"):
		bug, ok := mutantByName(strings.TrimPrefix(name, "mutant:"))
		if !ok {
			return nil, fmt.Errorf("unknown mutant %q (-backend mutant:list lists them)", strings.TrimPrefix(name, "mutant:"))
		}
		return &backend{name: name, close: func() {}, factory: func(env sim.Env) (store.Store, error) {
			return mutant.New(env.Clock, env.Limits, bug), nil
		}}, nil
	}
	return nil, fmt.Errorf("unknown backend %q: want memory, postgres or mutant:BUG", name)
}

// mutantNames lists the planted bugs, the race bugs (which only -clients
// 2 or more shows) marked as such.
func mutantNames() []string {
	var out []string
	for _, b := range mutant.Bugs() {
		out = append(out, b.String())
	}
	for _, b := range mutant.RaceBugs() {
		out = append(out, b.String()+"  (a race: use -clients 8)")
	}
	return out
}

func mutantByName(name string) (mutant.Bug, bool) {
	if name == mutant.None.String() {
		return mutant.None, true
	}
	for _, b := range append(mutant.Bugs(), mutant.RaceBugs()...) {
		if b.String() == name {
			return b, true
		}
	}
	return 0, false
}

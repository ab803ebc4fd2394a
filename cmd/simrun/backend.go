package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/internal/mutant"
	"github.com/hourglass-go/hourglass/internal/stack"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/sim"
	"github.com/hourglass-go/hourglass/store"
)

// backend is what simrun runs traces against.
type backend struct {
	name    string
	layers  stack.Stack // over the backend, outermost first
	factory sim.Factory
	close   func()
}

func openBackend(ctx context.Context, name, dsn string, layers stack.Stack, log io.Writer) (*backend, error) {
	switch {
	case name == "memory":
		return &backend{name: name, layers: layers, close: func() {}, factory: func(env sim.Env) (store.Store, error) {
			m := memstore.New(memstore.Options{Clock: env.Clock, Limits: layers.InnerLimits(env.Limits)})
			top, err := layers.Wrap(m, env.Limits)
			if err != nil {
				return nil, err
			}
			return sim.Instances(top, func(c clock.Clock) store.Store {
				s, err := layers.Wrap(m.WithClock(c), env.Limits)
				if err != nil {
					panic(err) // the same layers just wrapped the first instance
				}
				return s
			}), nil
		}}, nil
	case name == "postgres":
		return openPostgres(ctx, dsn, layers, log)
	case name == "redis":
		return openRedis(ctx, dsn, layers, log)
	case strings.HasPrefix(name, "mutant:"):
		bug, ok := mutantByName(strings.TrimPrefix(name, "mutant:"))
		if !ok {
			return nil, fmt.Errorf("unknown mutant %q (-backend mutant:list lists them)", strings.TrimPrefix(name, "mutant:"))
		}
		return &backend{name: name, close: func() {}, factory: func(env sim.Env) (store.Store, error) {
			return mutant.New(env.Clock, env.Limits, bug), nil
		}}, nil
	}
	return nil, fmt.Errorf("unknown backend %q: want memory, postgres, redis or mutant:BUG", name)
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

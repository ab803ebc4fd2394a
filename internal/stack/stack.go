// Package stack builds stacks of layers (hashid, seal) over a backend from a
// short text, for the simulator command and the tests that check a stack
// the way they check a backend: "hashid,seal" is hashid.New(seal.New(b)),
// outermost first, as the expression reads.
package stack

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hourglass-go/hourglass/hashid"
	"github.com/hourglass-go/hourglass/seal"
	"github.com/hourglass-go/hourglass/store"
)

// Names are the layers a stack can hold.
var Names = []string{"hashid", "hashid-keyed", "seal"}

// ErrUnknownLayer is returned by Parse for a name not in Names.
var ErrUnknownLayer = errors.New("stack: unknown layer")

// Stack is a list of layers, outermost first. The zero Stack is no layer.
type Stack []string

// Parse reads a comma-separated list of layer names, outermost first; ""
// is no layer. A layer may appear once.
func Parse(s string) (Stack, error) {
	if s == "" {
		return nil, nil
	}
	var out Stack
	for i, name := range strings.Split(s, ",") {
		known := false
		for _, n := range Names {
			known = known || n == name
		}
		if !known {
			return nil, fmt.Errorf("%w: entry %d (want one of %s)", ErrUnknownLayer, i+1, strings.Join(Names, ", "))
		}
		for _, prev := range out {
			if prev == name || strings.HasPrefix(prev, "hashid") && strings.HasPrefix(name, "hashid") {
				return nil, fmt.Errorf("stack: layer %q appears twice", name)
			}
		}
		out = append(out, name)
	}
	return out, nil
}

// String is the stack as Parse reads it.
func (s Stack) String() string { return strings.Join(s, ",") }

// InnerLimits returns the limits the backend under the stack must have for
// the stack to offer l: room for seal's overhead on every state.
func (s Stack) InnerLimits(l store.Limits) store.Limits {
	for _, name := range s {
		if name == "seal" {
			l = l.WithDefaults()
			l.MaxStateSize += seal.Overhead
		}
	}
	return l
}

// Simulation keys: fixed, so that a run is the same run every time (the
// nonces are random, but no trace or history shows a sealed byte). Two
// keys, the second only for reading, as a ring mid-rotation has.
var (
	simRing = func() *seal.Ring {
		r, err := seal.NewRing(2, seal.Key{ID: 2, Secret: []byte("hourglass simulation key two....")}, seal.Key{ID: 1, Secret: []byte("hourglass simulation key one....")})
		if err != nil {
			panic(err) // fixed input
		}
		return r
	}()
	simHashKey = []byte("hourglass simulation hashid key.")
)

// Wrap returns b under the stack's layers, offering limits l (b must have
// InnerLimits(l)).
func (s Stack) Wrap(b store.Store, l store.Limits) (store.Store, error) {
	for i := len(s) - 1; i >= 0; i-- {
		var err error
		switch s[i] {
		case "hashid":
			b, err = hashid.New(b, hashid.Options{})
		case "hashid-keyed":
			b, err = hashid.New(b, hashid.Options{Key: simHashKey})
		case "seal":
			var sl *seal.Layer
			sl, err = seal.New(b, simRing, seal.Options{Namespace: "hourglass-sim", Limits: l})
			if err == nil {
				b = sl.Store()
			}
		default:
			err = fmt.Errorf("%w: %q", ErrUnknownLayer, s[i])
		}
		if err != nil {
			return nil, fmt.Errorf("stack: layer %s: %w", s[i], err)
		}
	}
	return b, nil
}

package sim

import "slices"

// fpSet is a set of values known by a fingerprint, with equality to
// confirm a match: both kinds of state the checkers keep (model states in a
// sequential run, worlds in a concurrent one) are deduplicated with it.
type fpSet[T any] struct {
	fp func(T) uint64
	eq func(a, b T) bool
	m  map[uint64][]T
}

func newFPSet[T any](fp func(T) uint64, eq func(a, b T) bool, size int) *fpSet[T] {
	return &fpSet[T]{fp: fp, eq: eq, m: make(map[uint64][]T, size)}
}

// add puts x in the set and reports whether it was new.
func (s *fpSet[T]) add(x T) bool {
	k := s.fp(x)
	if slices.ContainsFunc(s.m[k], func(y T) bool { return s.eq(x, y) }) {
		return false
	}
	s.m[k] = append(s.m[k], x)
	return true
}

// distinct returns xs without the members equal to an earlier one, in
// order, in a new slice (xs may be shared).
func distinct[T any](xs []T, fp func(T) uint64, eq func(a, b T) bool) []T {
	if len(xs) < 2 {
		return xs
	}
	set := newFPSet(fp, eq, len(xs))
	out := make([]T, 0, len(xs))
	for _, x := range xs {
		if set.add(x) {
			out = append(out, x)
		}
	}
	return out
}

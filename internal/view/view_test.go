package view_test

import (
	"testing"

	"github.com/hourglass-go/hourglass/internal/view"
)

// TestOfShowsExactlyTheSet checks every subset: the view has the
// capabilities asked for and no other.
func TestOfShowsExactlyTheSet(t *testing.T) {
	var w view.Full = full{}
	for c := view.Set(0); c <= view.Owners|view.Toucher|view.Versioner|view.Scanner; c++ {
		if got := view.Has(view.Of(w, c)); got != c {
			t.Errorf("Of(w, %04b) has %04b", c, got)
		}
	}
}

// full has every method (by embedding a nil Full); the test only looks at
// method sets.
type full struct{ view.Full }

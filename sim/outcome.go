package sim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// Kind classifies what an operation returned: one of the contract's outcomes,
// or a failure outside the contract.
type Kind uint8

// The outcomes. Failed and Ambiguous are failures outside the contract: a
// definite failure had no effect; an ambiguous one may have been applied.
const (
	OK Kind = iota
	NotFound
	DuplicateID
	InvalidID
	InvalidTTL
	TooLarge
	InvalidLimit
	Failed
	Ambiguous
	InvalidOwner
	InvalidCap
	InvalidHandle
)

var kindNames = [...]string{"ok", "not-found", "duplicate-id", "invalid-id", "invalid-ttl", "too-large", "invalid-limit", "failed", "ambiguous", "invalid-owner", "invalid-cap", "invalid-handle"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Outcome is what one operation returned, reduced to what the contract
// constrains.
type Outcome struct {
	Kind   Kind
	Record store.Record         // Load and Touch, when Kind is OK
	N      int                  // DeleteExpired and RevokeAll when Kind is OK; Sweep whatever the Kind
	List   []store.OwnedSession // List when Kind is OK (nil when empty)
	Err    error                // the backend's error, for Failed and Ambiguous
}

// outcomeOf classifies an error. Ambiguity is tested first: an ambiguous
// failure wrapping, say, ErrNotFound still may have been applied.
func outcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return Outcome{Kind: OK}
	case errors.Is(err, store.ErrAmbiguous):
		return Outcome{Kind: Ambiguous, Err: err}
	case errors.Is(err, store.ErrNotFound):
		return Outcome{Kind: NotFound}
	case errors.Is(err, store.ErrDuplicateID):
		return Outcome{Kind: DuplicateID}
	case errors.Is(err, store.ErrInvalidID):
		return Outcome{Kind: InvalidID}
	case errors.Is(err, store.ErrInvalidTTL):
		return Outcome{Kind: InvalidTTL}
	case errors.Is(err, store.ErrTooLarge):
		return Outcome{Kind: TooLarge}
	case errors.Is(err, store.ErrInvalidLimit):
		return Outcome{Kind: InvalidLimit}
	case errors.Is(err, store.ErrInvalidOwner):
		return Outcome{Kind: InvalidOwner}
	case errors.Is(err, store.ErrInvalidCap):
		return Outcome{Kind: InvalidCap}
	case errors.Is(err, store.ErrInvalidHandle):
		return Outcome{Kind: InvalidHandle}
	}
	return Outcome{Kind: Failed, Err: err}
}

// matches reports whether the backend's outcome got is the one the model
// wanted for op. countExpired is false for backends with native expiry, whose
// DeleteExpired counts the contract leaves free.
func matches(op Op, want, got Outcome, countExpired bool) bool {
	op = base(op)
	if want.Kind != got.Kind {
		return false
	}
	if want.Kind != OK {
		return true
	}
	switch op.(type) {
	case Load, Touch:
		return want.Record.Equal(got.Record)
	case DeleteExpired, Sweep:
		return !countExpired || want.N == got.N
	case RevokeAll:
		return want.N == got.N
	case List:
		return slices.EqualFunc(want.List, got.List, sameEntry)
	}
	return true
}

func sameEntry(a, b store.OwnedSession) bool {
	return a.Handle == b.Handle && a.Expires.Equal(b.Expires)
}

// format renders the outcome for a trace comment; expiries are shown as an
// offset from the trace's start so they can be read against the advances.
func (o Outcome) format(op Op, start time.Time) string {
	op = base(op)
	switch {
	case o.Kind == OK:
		switch op.(type) {
		case Load, Touch:
			return fmt.Sprintf("ok %s expires=+%v", quoteState(o.Record.State), o.Record.Expires.Sub(start)) + formatOwnerOf(o.Record)
		case DeleteExpired, Sweep, RevokeAll:
			return "ok " + strconv.Itoa(o.N)
		case List:
			var b strings.Builder
			b.WriteString("ok [")
			for i, e := range o.List {
				if i > 0 {
					b.WriteString(" ")
				}
				// Eight digits tell a trace's few sessions apart.
				fmt.Fprintf(&b, "%.8s:+%v", e.Handle, e.Expires.Sub(start))
			}
			return b.String() + "]"
		}
	case o.Err != nil:
		if _, ok := op.(Sweep); ok {
			return o.Kind.String() + " after removing " + strconv.Itoa(o.N) + ": " + o.Err.Error()
		}
		return o.Kind.String() + ": " + o.Err.Error()
	}
	return o.Kind.String()
}

// base returns the store operation inside a Client and a Second, or op
// itself: outcomes depend on the operation, not on which client or instance
// ran it.
func base(op Op) Op {
	_, op = clientOf(op)
	if s, ok := op.(Second); ok {
		return s.Op
	}
	return op
}

// formatOwnerOf renders a record's owner for a comment, if it has one.
func formatOwnerOf(r store.Record) string {
	if r.Owner == "" {
		return ""
	}
	return " owner " + strconv.Quote(string(r.Owner))
}

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
	Conflict       // store.ErrConflict: a conditional write met another version
	InvalidVersion // store.ErrInvalidVersion
)

var kindNames = [...]string{"ok", "not-found", "duplicate-id", "invalid-id", "invalid-ttl", "too-large", "invalid-limit", "failed", "ambiguous", "invalid-owner", "invalid-cap", "invalid-handle", "conflict", "invalid-version"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Outcome is what one operation returned, reduced to what the contract
// constrains.
type Outcome struct {
	Kind Kind
	// Record is what Load and Touch returned, when Kind is OK. Its
	// Version counts only in a trace that checks versions (Trace.Versions);
	// elsewhere the simulator keeps it 0 on both sides.
	Record  store.Record
	N       int                  // DeleteExpired and RevokeAll when Kind is OK; Sweep whatever the Kind
	List    []store.OwnedSession // List when Kind is OK (nil when empty)
	Version uint64               // UpdateIf and ChangeIDIf when Kind is OK: the new version
	IDs     []store.ID           // Scan when Kind is OK (nil when empty)
	Err     error                // the backend's error, for Failed and Ambiguous
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
	case errors.Is(err, store.ErrConflict):
		return Outcome{Kind: Conflict}
	case errors.Is(err, store.ErrInvalidVersion):
		return Outcome{Kind: InvalidVersion}
	}
	return Outcome{Kind: Failed, Err: err}
}

// judge is how outcomes are compared in one run or history.
type judge struct {
	// countExpired is false for backends with native expiry, whose
	// DeleteExpired counts the contract leaves free.
	countExpired bool
	// versions: the trace checks versions (Trace.Versions). Without it
	// the version of a record is no part of the comparison.
	versions bool
}

// matches reports whether the backend's outcome got is the one the model
// wanted for op.
func (j judge) matches(op Op, want, got Outcome) bool {
	op = base(op)
	if want.Kind != got.Kind {
		return false
	}
	if want.Kind != OK {
		return true
	}
	switch op.(type) {
	case Load, Touch:
		return j.sameRecord(want.Record, got.Record)
	case DeleteExpired, Sweep:
		return !j.countExpired || want.N == got.N
	case RevokeAll:
		return want.N == got.N
	case List:
		return slices.EqualFunc(want.List, got.List, sameEntry)
	case UpdateIf, ChangeIDIf:
		return want.Version == got.Version
	case Scan:
		return slices.Equal(want.IDs, got.IDs)
	}
	return true
}

// sameRecord compares two records, their versions only if the trace
// checks them.
func (j judge) sameRecord(a, b store.Record) bool {
	if !j.versions {
		a.Version, b.Version = 0, 0
	}
	return a.Equal(b)
}

// shown is o as a run reports it: without the record's version unless
// the trace checks versions, so that the model's versions never show in
// the reports of a run that does not check them.
func (j judge) shown(o Outcome) Outcome {
	if !j.versions {
		o.Record.Version = 0
	}
	return o
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
			return fmt.Sprintf("ok %s expires=+%v", quoteState(o.Record.State), o.Record.Expires.Sub(start)) + formatOwnerOf(o.Record) + formatVersionOf(o.Record)
		case UpdateIf, ChangeIDIf:
			return "ok version=" + strconv.FormatUint(o.Version, 10)
		case Scan:
			return "ok " + formatIDs(o.IDs)
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

// formatVersionOf renders a record's version for a comment, if it has
// one: only a trace that checks versions keeps them.
func formatVersionOf(r store.Record) string {
	if r.Version == 0 {
		return ""
	}
	return " version=" + strconv.FormatUint(r.Version, 10)
}

// formatIDs renders Scan's IDs for a comment, as a trace writes IDs.
func formatIDs(ids []store.ID) string {
	var b strings.Builder
	b.WriteString("[")
	for i, id := range ids {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(formatID(id))
	}
	return b.String() + "]"
}

// formatOwnerOf renders a record's owner for a comment, if it has one.
func formatOwnerOf(r store.Record) string {
	if r.Owner == "" {
		return ""
	}
	return " owner " + strconv.Quote(string(r.Owner))
}

package sim

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hourglass-go/hourglass/model"
	"github.com/hourglass-go/hourglass/store"
)

// The operations of the optional capabilities store.Versioner and
// store.Scanner. A trace holds them only for a backend that has them
// (GenConfig.Versions, GenConfig.Scan), as it does the owners' operations.
//
// A trace that checks versions (Trace.Versions, which GenConfig.Versions
// sets, or one that holds a conditional write) also holds the version of
// every record Load and Touch return to the model's: one that does not
// compares, writes and reads no version at all, so that it is what it was
// before versions existed, whatever the backend.

// UpdateIf is store.Versioner.UpdateIf. TTL may be store.KeepTTL, written
// "keep" in a trace.
type UpdateIf struct {
	ID      store.ID
	Version uint64
	State   []byte
	TTL     time.Duration
}

// ChangeIDIf is store.Versioner.ChangeIDIf.
type ChangeIDIf struct {
	Old, New store.ID
	Version  uint64
	State    []byte
}

// Scan is store.Scanner.Scan. After "" starts at the beginning.
type Scan struct {
	After store.ID
	Limit int
}

func (o UpdateIf) exec(ctx context.Context, s store.Store) Outcome {
	buf := slices.Clone(o.State)
	defer scribble(buf)
	v, err := s.(store.Versioner).UpdateIf(ctx, o.ID, o.Version, buf, o.TTL)
	return versionOutcome(v, err)
}
func (o UpdateIf) expect(m *model.Model, now time.Time) Outcome {
	return versionOutcome(m.UpdateIf(now, o.ID, o.Version, o.State, o.TTL))
}

func (o ChangeIDIf) exec(ctx context.Context, s store.Store) Outcome {
	buf := slices.Clone(o.State)
	defer scribble(buf)
	v, err := s.(store.Versioner).ChangeIDIf(ctx, o.Old, o.New, o.Version, buf)
	return versionOutcome(v, err)
}
func (o ChangeIDIf) expect(m *model.Model, now time.Time) Outcome {
	return versionOutcome(m.ChangeIDIf(now, o.Old, o.New, o.Version, o.State))
}

// versionOutcome is a conditional write's outcome: the new version when it
// succeeded (a failure's is no answer).
func versionOutcome(v uint64, err error) Outcome {
	out := outcomeOf(err)
	if out.Kind == OK {
		out.Version = v
	}
	return out
}

func (o Scan) exec(ctx context.Context, s store.Store) Outcome {
	ids, err := s.(store.Scanner).Scan(ctx, o.After, o.Limit)
	out := outcomeOf(err)
	if out.Kind == OK {
		out.IDs = normIDs(ids)
	}
	return out
}
func (o Scan) expect(m *model.Model, now time.Time) Outcome {
	ids, err := m.Scan(now, o.After, o.Limit)
	out := outcomeOf(err)
	if out.Kind == OK {
		out.IDs = normIDs(ids)
	}
	return out
}

// normIDs gives Scan's pages one spelling: nil for empty, and a copy, so
// that a backend reusing its slice cannot change an outcome kept.
func normIDs(ids []store.ID) []store.ID {
	if len(ids) == 0 {
		return nil
	}
	return slices.Clone(ids)
}

// versioned reports whether the trace checks versions: it says so, or it
// holds a conditional write, whose answer is one.
func (t *Trace) versioned() bool {
	if t.Versions {
		return true
	}
	for _, op := range t.Ops {
		switch base(op).(type) {
		case UpdateIf, ChangeIDIf:
			return true
		}
	}
	return false
}

// scans reports whether the trace holds a Scan.
func (t *Trace) scans() bool {
	return slices.ContainsFunc(t.Ops, func(op Op) bool { return is[Scan](base(op)) })
}

func (o UpdateIf) String() string {
	return "update-if " + formatID(o.ID) + " " + strconv.FormatUint(o.Version, 10) + " " + quoteState(o.State) + " " + formatUpdateTTL(o.TTL)
}
func (o ChangeIDIf) String() string {
	return "change-id-if " + formatID(o.Old) + " " + formatID(o.New) + " " + strconv.FormatUint(o.Version, 10) + " " + quoteState(o.State)
}
func (o Scan) String() string { return "scan " + formatID(o.After) + " " + strconv.Itoa(o.Limit) }

// formatUpdateTTL writes UpdateIf's TTL: store.KeepTTL as "keep".
func formatUpdateTTL(d time.Duration) string {
	if d == store.KeepTTL {
		return "keep"
	}
	return d.String()
}

// parseVersionOp parses the operations of store.Versioner and
// store.Scanner.
func parseVersionOp(name string, args []token) (Op, error) {
	want := func(n int, usage string) error {
		if len(args) != n {
			return errLine(fmt.Sprintf("%s takes %d argument(s): %s", name, n, usage))
		}
		return nil
	}
	switch name {
	case "update-if":
		if err := want(4, "update-if ID VERSION STATE TTL"); err != nil {
			return nil, err
		}
		v, err := parseVersion(args[1])
		if err != nil {
			return nil, err
		}
		if !args[2].quoted {
			return nil, errLine("STATE must be a quoted string")
		}
		ttl := store.KeepTTL
		if args[3].text != "keep" || args[3].quoted {
			if ttl, err = parseDuration(args[3]); err != nil {
				return nil, err
			}
		}
		return UpdateIf{ID: store.ID(args[0].text), Version: v, State: []byte(args[2].text), TTL: ttl}, nil
	case "change-id-if":
		if err := want(4, "change-id-if OLD NEW VERSION STATE"); err != nil {
			return nil, err
		}
		v, err := parseVersion(args[2])
		if err != nil {
			return nil, err
		}
		if !args[3].quoted {
			return nil, errLine("STATE must be a quoted string")
		}
		return ChangeIDIf{Old: store.ID(args[0].text), New: store.ID(args[1].text), Version: v, State: []byte(args[3].text)}, nil
	case "scan":
		if err := want(2, `scan AFTER LIMIT (AFTER "" starts at the beginning)`); err != nil {
			return nil, err
		}
		n, err := parseInt(args[1])
		if err != nil {
			return nil, err
		}
		return Scan{After: store.ID(args[0].text), Limit: n}, nil
	}
	return nil, errLine(fmt.Sprintf("unknown operation %q", clip(name)))
}

// parseVersion reads a version: a decimal number, 0 included (a trace's
// way to pass the invalid one).
func parseVersion(t token) (uint64, error) {
	v, err := strconv.ParseUint(t.text, 10, 64)
	if err != nil || t.quoted {
		return 0, errLine(fmt.Sprintf("bad version %q (want a number, 0 or more)", clip(t.text)))
	}
	return v, nil
}

// blindFingerprint is model.Fingerprint without versions: the identity of a
// state in a run that does not check versions, where two states that
// differ only in them are one (keeping both would double the states an
// ambiguous write leaves for nothing).
func blindFingerprint(m *model.Model) uint64 {
	var sum uint64
	m.Any(func(e model.Entry) bool {
		h := uint64(14695981039346656037)
		mix := func(b byte) { h = (h ^ uint64(b)) * 1099511628211 }
		for i := 0; i < len(e.ID); i++ {
			mix(e.ID[i])
		}
		mix(0)
		for _, b := range e.State {
			mix(b)
		}
		mix(0)
		for i := 0; i < len(e.Owner); i++ {
			mix(e.Owner[i])
		}
		mix(0)
		ns := e.Expires.UnixNano()
		for i := range 8 {
			mix(byte(ns >> (8 * i)))
		}
		sum += h
		return false
	})
	return sum + uint64(m.Len())
}

// blindEqual is model.Equal without versions.
func blindEqual(a, b *model.Model) bool {
	if a.Len() != b.Len() {
		return false
	}
	return !a.Any(func(e model.Entry) bool {
		r, ok := b.Get(e.ID)
		r.Version = e.Version
		return !ok || !e.Record.Equal(r)
	})
}

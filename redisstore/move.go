package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// maxDepth bounds how many moves in a chain (a move whose target is
// being moved into, and so on) one operation finishes before it gives
// up with ErrContended.
const maxDepth = 8

// ChangeID implements store.Store: one script when both IDs share a slot,
// otherwise the protocol of the package documentation.
func (s *Store) ChangeID(ctx context.Context, old, new store.ID) error {
	if err := old.Validate(); err != nil {
		return err
	}
	if err := new.Validate(); err != nil {
		return err
	}
	_, err := s.move(ctx, "change-id", old, new, 0, nil, false)
	return err
}

// ChangeIDIf implements store.Versioner.
func (s *Store) ChangeIDIf(ctx context.Context, old, new store.ID, version uint64, state []byte) (uint64, error) {
	if err := s.opts.Limits.CheckChangeIDIf(old, new, version, state); err != nil {
		return 0, err
	}
	return s.move(ctx, "change-id-if", old, new, version, state, true)
}

// move moves the live session under old to new, at version if it is not
// 0, with state if hasState, and returns its new version.
func (s *Store) move(ctx context.Context, op string, old, new store.ID, version uint64, state []byte, hasState bool) (uint64, error) {
	now := s.now()
	ver, newv := "", ""
	if version != 0 {
		ver, newv = strconv.FormatUint(version, 10), strconv.FormatUint(version+1, 10)
	}
	if s.sameSlot(old, new) {
		return s.moveSame(ctx, op, old, new, now, ver, newv, state, hasState)
	}
	if s.splitMove {
		return s.moveSplit(ctx, op, old, new, now, version, state, hasState)
	}
	for range maxResolve {
		v, done, err := s.moveAcross(ctx, op, old, new, now, version, state, hasState)
		if done || err != nil {
			return v, err
		}
	}
	return 0, &opError{op: op, err: ErrContended}
}

// moveSame is a move within one slot: one script.
func (s *Store) moveSame(ctx context.Context, op string, old, new store.ID, now time.Time, ver, newv string, state []byte, hasState bool) (uint64, error) {
	for i := 0; ; i++ {
		r, err := s.run(ctx, op, scriptMoveSame, true, []string{s.key(old), s.key(new)}, now, s.margin, ver, state, flag(hasState), newv)
		if err != nil {
			return 0, err
		}
		if r.status == "PEND" || r.status == "BUSY" {
			if i == maxResolve {
				return 0, &opError{op: op, err: ErrContended}
			}
			at, which := old, r.str(2)
			if r.status == "BUSY" {
				which = r.str(1)
			}
			if which == "1" {
				at = new
			}
			if err := s.unblock(ctx, at, r, now, 0); err != nil {
				return 0, err
			}
			continue
		}
		if err := outcome(op, r); err != nil {
			return 0, err
		}
		v, err := strconv.ParseUint(r.str(0), 10, 64)
		if err != nil {
			return 0, &opError{op: op, err: fmt.Errorf("malformed version in reply"), maybe: true}
		}
		return v, nil
	}
}

// The ends of a move, as finish reports them.
const (
	moveGone      = iota // someone else ended it; the marker tells how
	moveCommitted        // committed (by this call or before it), perhaps not settled
	moveSettled          // committed and settled: the target holds the session
	moveTaken            // aborted by this call: the target was live
)

// moveAcross is one attempt at a move between slots. done is false when
// another client ended the attempt without committing it (its target was
// replaced, say): nothing of it is visible, and it starts over.
func (s *Store) moveAcross(ctx context.Context, op string, old, new store.ID, now time.Time, version uint64, state []byte, hasState bool) (v uint64, done bool, err error) {
	ver := ""
	if version != 0 {
		ver = strconv.FormatUint(version, 10)
	}
	// A move committed by a helper moved the session at the version the
	// mover read: for ChangeIDIf, the one it was given.
	helped := version + 1
	if version == 0 {
		helped = 0
	}
	token := newToken()
	r, err := s.run(ctx, op+" (prepare)", scriptPrepare, true, []string{s.key(old)}, now, token, string(new), ver, state, flag(hasState))
	if err != nil {
		return s.giveUp(ctx, op, old, new, token, now, helped, err)
	}
	switch r.status {
	case "OK":
	case "PEND", "BUSY":
		// Another move touches old: finish it, then start over.
		if err := s.unblock(ctx, old, r, now, 0); err != nil {
			return 0, true, err
		}
		return 0, false, nil
	default:
		return 0, true, outcome(op, r)
	}
	end, v, err := s.finish(ctx, old, token, now, 0, &r)
	if err != nil {
		return s.giveUp(ctx, op, old, new, token, now, helped, err)
	}
	switch end {
	case moveSettled:
		// Only the mover drops its marker, and only once the target is
		// settled: a helper that finished the move leaves it for the
		// mover to find, and a reader of the target that found no marker
		// would drop the pending record as aborted.
		_, _ = s.run(ctx, op+" (unmark)", scriptUnmark, true, []string{s.marker(old)}, now, token)
		return v, true, nil
	case moveCommitted:
		s.settleAndUnmark(ctx, op, old, new, token, now)
		return v, true, nil
	case moveTaken:
		return 0, true, fmt.Errorf("redisstore: %s: %w", op, store.ErrDuplicateID)
	}
	// Someone else ended it: committed (the marker says so) or aborted.
	a, err := s.run(ctx, op+" (abort)", scriptAbort, true, []string{s.key(old), s.marker(old)}, now, token)
	if err != nil {
		return 0, true, err // the move may have committed
	}
	if a.status == "DONE" {
		s.settleAndUnmark(ctx, op, old, new, token, now)
		return helped, true, nil
	}
	return 0, false, nil
}

// settleAndUnmark settles a committed move's target, then drops its
// marker; if settling fails, the marker stays (until its TTL) for the
// next reader of the target to settle by.
func (s *Store) settleAndUnmark(ctx context.Context, op string, old, new store.ID, token string, now time.Time) {
	if _, err := s.run(ctx, op+" (settle)", scriptSettle, true, []string{s.key(new)}, now, s.margin, token, "1"); err != nil {
		return
	}
	_, _ = s.run(ctx, op+" (unmark)", scriptUnmark, true, []string{s.marker(old)}, now, token)
}

// giveUp ends a move that failed part way: it withdraws the intent, so
// that no one finishes the move later, and the failure is definite. If
// the move had committed already (a helper finished it), it succeeded, at
// version helped. If withdrawing fails too, whether the move committed or
// will be is unknown: ambiguous.
func (s *Store) giveUp(ctx context.Context, op string, old, new store.ID, token string, now time.Time, helped uint64, cause error) (uint64, bool, error) {
	// The abort runs whatever became of the caller's context: its end is
	// often what failed the move, and an intent left behind would let the
	// next writer of old finish the move after this call reported it
	// failed. The abort is the fence: commit needs the intent, so once
	// the abort has run, the move has committed or never will.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.FenceTimeout)
	defer cancel()
	a, err := s.run(fctx, op+" (abort)", scriptAbort, true, []string{s.key(old), s.marker(old)}, now, token)
	if err != nil {
		// Another client may still finish the move (a writer of old
		// would): whether it happens is not known, and may change.
		inner := stripAmbiguous(errors.Unwrap(cause))
		if errors.Is(cause, ErrNotFinal) {
			return 0, true, &opError{op: op, err: inner, maybe: true}
		}
		return 0, true, &opError{op: op, err: fmt.Errorf("%w: %w; withdrawing the move failed too", ErrNotFinal, inner), maybe: true}
	}
	if a.status == "DONE" {
		s.settleAndUnmark(fctx, op, old, new, token, now)
		return helped, true, nil
	}
	return 0, true, definite(cause)
}

// finish drives the move `token` out of src to its end, whoever started
// it, deciding with the mover's instant as the mover would have: claim
// the target (or abort the move if the target is live), commit on the
// source, settle the target. It returns how the move ended and the
// version it moved the session at.
func (s *Store) finish(ctx context.Context, src store.ID, token string, now time.Time, depth int, known *reply) (int, uint64, error) {
	if depth > maxDepth {
		return 0, 0, &opError{op: "finish", err: ErrContended}
	}
	for range maxResolve {
		var in reply
		if known != nil {
			// The mover's own prepare answered with the intent.
			in, known = *known, nil
		} else {
			var err error
			if in, err = s.run(ctx, "finish", scriptIntent, false, []string{s.key(src)}, now, token); err != nil {
				return 0, 0, definite(err)
			}
		}
		if in.status == "NONE" {
			return moveGone, 0, nil
		}
		target := store.ID(in.str(0))
		moverNow, err1 := strconv.ParseInt(in.str(1), 10, 64)
		exp := in.str(3)
		v, err2 := strconv.ParseUint(in.str(4), 10, 64)
		if err1 != nil || err2 != nil || target.Validate() != nil {
			return 0, 0, &opError{op: "finish", err: fmt.Errorf("malformed intent")}
		}
		at := time.UnixMicro(moverNow).UTC()
		v++
		c, err := s.run(ctx, "finish (claim)", scriptClaim, true, []string{s.key(target)}, at, s.margin, token, string(src), in.str(2), exp, strconv.FormatUint(v, 10))
		if err != nil {
			return 0, 0, definite(err)
		}
		switch c.status {
		case "SETTLED":
			// The move ended while this call was on its way: someone
			// else settled it (the marker says whether as committed).
			return moveGone, 0, nil
		case "PEND":
			if err := s.resolve(ctx, target, store.ID(c.str(0)), c.str(1), now, depth+1); err != nil {
				return 0, 0, err
			}
			continue
		case "DUP":
			a, err := s.run(ctx, "finish (abort)", scriptAbort, true, []string{s.key(src), s.marker(src)}, at, token)
			if err != nil {
				return 0, 0, definite(err)
			}
			if a.status == "DONE" {
				// Committed and settled before: the live target is the
				// moved session itself.
				return moveSettled, v, nil
			}
			return moveTaken, 0, nil
		case "OK":
		default:
			return 0, 0, outcome("finish", c)
		}
		m, err := s.run(ctx, "finish (commit)", scriptCommit, true, []string{s.key(src), s.marker(src)}, at, s.margin, token, string(target), exp)
		if err != nil {
			return 0, 0, err // ambiguous if the answer was lost
		}
		switch m.status {
		case "OK":
		case "ABORT":
			return moveGone, 0, nil
		case "PEND":
			// A move into src (by a client whose clock saw src expired)
			// must be settled first; it may replace src's record and so
			// end this move.
			if err := s.resolve(ctx, src, store.ID(m.str(0)), m.str(1), now, depth+1); err != nil {
				return 0, 0, err
			}
			continue
		default:
			return 0, 0, outcome("finish", m)
		}
		// Committed. Settling is anyone's job from here: an error only
		// leaves it to the next reader of the target.
		if _, err := s.run(ctx, "finish (settle)", scriptSettle, true, []string{s.key(target)}, at, s.margin, token, "1"); err != nil {
			return moveCommitted, v, nil
		}
		return moveSettled, v, nil
	}
	return 0, 0, &opError{op: "finish", err: ErrContended}
}

// newToken names one attempt at a move; tokens are never reused, so an
// aborted move can never commit.
func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// moveSplit is the planted bug: the move as two independent steps, a
// copy to new and a delete of old, each atomic, the pair not. Every
// sequential run passes it; two clients moving one session at once clone
// it, and a write between the steps is lost.
func (s *Store) moveSplit(ctx context.Context, op string, old, new store.ID, now time.Time, version uint64, state []byte, hasState bool) (uint64, error) {
	f, err := s.rdb.HMGet(ctx, s.key(old), "e", "s", "v").Result()
	if err != nil {
		return 0, classify(op, err)
	}
	es, _ := f[0].(string)
	e, err := strconv.ParseInt(es, 10, 64)
	if err != nil || now.UnixMicro() >= e {
		return 0, fmt.Errorf("redisstore: %s: %w", op, store.ErrNotFound)
	}
	vs, _ := f[2].(string)
	v, _ := strconv.ParseUint(vs, 10, 64)
	if version != 0 && v != version {
		return 0, fmt.Errorf("redisstore: %s: %w", op, store.ErrConflict)
	}
	st, _ := f[1].(string)
	if hasState {
		st = string(state)
	}
	r, err := s.do(ctx, op, scriptCreate, true, new, now, s.margin, st, es, strconv.FormatUint(v+1, 10))
	if err != nil {
		return 0, err
	}
	if err := outcome(op, r); err != nil {
		return 0, err
	}
	if _, err := s.do(ctx, op, scriptDelete, true, old, now); err != nil {
		return 0, err
	}
	return v + 1, nil
}

package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/hourglass-go/hourglass/store"
)

// ResealStats says what a Reseal pass did with the sessions it met.
type ResealStats struct {
	// Scanned is how many session IDs the pass met.
	Scanned int
	// Resealed were sealed under another key and are now under the write
	// key.
	Resealed int
	// Current were under the write key already (sealed since the ring
	// changed, or by a concurrent write during the pass).
	Current int
	// Gone were deleted or expired between the scan and the read.
	Gone int
	// Tampered failed authentication; they are left as they are, and
	// reported to OnTamper.
	Tampered int
	// Unreadable are under a key the ring does not hold, or in a format
	// this version does not read; they are left as they are.
	Unreadable int
}

// Reseal re-seals, under the ring's write key, every live session sealed
// under another: the step of a key rotation between making a new key the
// write key on every instance and dropping the old one. It walks the inner
// store batch IDs at a time (store.Scanner; ErrNeedsScanner without one,
// which is the case when a hashid layer is below this one: put hashid
// outermost), and replaces each state with store.KeepTTL, so that expiries
// are exactly what they were and each re-sealed session's version grows
// by one. A session written while the pass runs is re-read (ErrConflict)
// and left if that write sealed it under the write key already. Reseal is
// idempotent and may be interrupted and run again.
//
// The error is the first failure of the inner store, which ends the pass,
// or, once the pass is done, one wrapping ErrUnknownKey or ErrFormat when
// sessions were left Unreadable: dropping a key from the ring before they
// are re-sealed would make them unreadable for good.
func (l *Layer) Reseal(ctx context.Context, batch int) (ResealStats, error) {
	var st ResealStats
	sc, ok := l.inner.(store.Scanner)
	if !ok {
		return st, ErrNeedsScanner
	}
	if err := store.CheckBatch(batch); err != nil {
		return st, err
	}
	var after store.ID
	var unreadable error
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		ids, err := sc.Scan(ctx, after, batch)
		if err != nil {
			return st, err
		}
		for _, id := range ids {
			st.Scanned++
			err := l.reseal(ctx, id, &st)
			if errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrFormat) {
				st.Unreadable++
				if unreadable == nil {
					unreadable = err
				}
				continue
			}
			if err != nil {
				return st, err
			}
		}
		if len(ids) < batch {
			break
		}
		after = ids[len(ids)-1]
	}
	if unreadable != nil {
		return st, fmt.Errorf("seal: Reseal left %d sessions it cannot open, the first: %w", st.Unreadable, unreadable)
	}
	return st, nil
}

// reseal brings one session under the write key, counting what it did in
// st. Its errors are the inner store's, or wrap ErrUnknownKey or
// ErrFormat.
func (l *Layer) reseal(ctx context.Context, id store.ID, st *ResealStats) error {
	for {
		r, err := l.inner.Load(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			st.Gone++
			return nil
		}
		if err != nil {
			return err
		}
		if k, ok := keyOf(r.State); ok && k == l.ring.write {
			st.Current++
			return nil
		}
		state, _, err := l.open(id, r.State)
		if err != nil {
			if l.readErr(err) == store.ErrNotFound {
				st.Tampered++
				return nil
			}
			return err
		}
		_, err = l.ver.UpdateIf(ctx, id, r.Version, l.seal(id, state), store.KeepTTL)
		switch {
		case err == nil:
			st.Resealed++
			return nil
		case errors.Is(err, store.ErrNotFound) && !store.IsAmbiguous(err):
			st.Gone++
			return nil
		case !retry(err):
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

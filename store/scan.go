package store

import (
	"context"
	"fmt"
)

// Scanner is the optional capability of walking every live session, a page
// at a time: what a maintenance pass needs (re-sealing state under a new
// key, package seal; migrating the state's encoding). It hands out session
// IDs, which are credentials: it is for the operator's tools, never for a
// request path. memstore, pgstore and the model have it; a layer that
// cannot turn what it stores back into IDs (package hashid) does not.
type Scanner interface {
	Store

	// Scan returns the IDs of the sessions live at its clock reading
	// whose ID is greater than after, in byte order, at most limit of
	// them. after "" starts at the beginning; a page shorter than limit
	// is the last. Each page is one atomic read; a walk of several pages
	// is not one snapshot (a session renamed during the walk may be met
	// twice or missed), which a pass that only rewrites what it meets does
	// not mind. A limit below 1 is ErrInvalidLimit.
	Scan(ctx context.Context, after ID, limit int) ([]ID, error)
}

// CheckScan validates Scan's arguments: after ("" or a valid ID), then the
// limit.
func CheckScan(after ID, limit int) error {
	if after != "" {
		if err := after.Validate(); err != nil {
			return err
		}
	}
	if limit < 1 {
		return fmt.Errorf("%w: scan limit %d, want at least 1", ErrInvalidLimit, limit)
	}
	return nil
}

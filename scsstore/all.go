package scsstore

import (
	"context"
	"errors"

	"github.com/hourglass-go/hourglass/store"
)

// scanPage is how many IDs AllCtx asks for at a time.
const scanPage = 1000

// AllCtx returns every live session's token and state, for scs's Iterate.
// It needs a backend that can list its sessions (store.Scanner: memstore,
// pgstore; not hashid, which keeps no token, nor redisstore), and fails
// with ErrNotIterable otherwise. It walks the store a page at a time and
// loads each session, so it is not one snapshot: a session created or
// deleted during the walk may be missed or included. It hands out tokens,
// which are credentials: it is for maintenance, not for a request path.
// Inside a request wrapped by LoadAndSave, the sessions it returns count as
// found by the request, so scs's Iterate can change and commit them.
func (st *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	sc, ok := st.s.(store.Scanner)
	if !ok {
		return nil, ErrNotIterable
	}
	m := memoFrom(ctx)
	all := make(map[string][]byte)
	var after store.ID
	for {
		ids, err := sc.Scan(ctx, after, scanPage)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			rec, err := st.s.Load(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			all[string(id)] = rec.State
			// A commit in this request of a session Iterate handed out
			// updates it, as for one the request found.
			m.saw(string(id), &rec)
		}
		if len(ids) < scanPage {
			return all, nil
		}
		after = ids[len(ids)-1]
	}
}

// All is AllCtx with context.Background().
func (st *Store) All() (map[string][]byte, error) { return st.AllCtx(context.Background()) }

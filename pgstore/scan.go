package pgstore

import (
	"context"

	"github.com/hourglass-go/hourglass/store"
)

// Scan returns the IDs of the sessions live at its clock reading whose ID
// is greater than after, in byte order, at most limit of them: one
// statement, a range scan of the primary key from after on. It hands out
// session IDs, which are credentials: it is for maintenance passes, never
// for a request path (store.Scanner).
func (s *Store) Scan(ctx context.Context, after store.ID, limit int) ([]store.ID, error) {
	if err := store.CheckScan(after, limit); err != nil {
		return nil, err
	}
	var a args
	a.text(string(after)).instant(s.instant()).int8(int64(limit))
	var out []store.ID
	_, err := s.read(ctx, "scan", &s.sql.scan, &a, func(v [][]byte) error {
		out = append(out, store.ID(v[0]))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

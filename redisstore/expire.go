package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hourglass-go/hourglass/store"
)

// scanCount is SCAN's COUNT hint: keys looked at per round trip.
const scanCount = 1000

// expired is a record DeleteExpired found expired.
type expired struct {
	id      store.ID
	expires int64
	version string
}

// DeleteExpired implements store.Store. It scans every primary for
// records expired at the caller's instant, orders them earliest expiry
// first (ties by ID), and removes the first limit of them, each only if
// it is still the record that was read (else the next in line takes its
// place). Redis Cluster has no atomic
// operation over all slots, so this is a maintenance pass, not one atomic
// step: a record renewed or replaced while it runs is left alone, and the
// count is of records removed. Redis reclaims keys by itself Margin after
// their expiry, so calling it is optional.
func (s *Store) DeleteExpired(ctx context.Context, limit int) (int, error) {
	if limit < 0 {
		return 0, fmt.Errorf("%w: %d", store.ErrInvalidLimit, limit)
	}
	now := s.now()
	// Candidates are tried in order until limit are removed: one that is
	// gone or renewed by the time its turn comes (another sweep took it,
	// a lagging client renewed it) gives its place to the next, and when
	// one did, the primaries are scanned again for records that expired
	// meanwhile (created already expired by a client whose clock is
	// behind), as the contract's single atomic cleanup would have found
	// them had it run after those changes.
	n := 0
	for range maxResolve {
		found, err := s.scanAll(ctx, now)
		if err != nil {
			if n == 0 {
				return 0, definite(classify("delete-expired (scan)", err))
			}
			return n, &opError{op: "delete-expired (scan)", err: err, maybe: true}
		}
		lost := false
		for _, x := range found {
			if limit > 0 && n == limit {
				return n, nil
			}
			ok, gone, err := s.reclaim(ctx, x, now)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
			lost = lost || gone
		}
		if !lost {
			return n, nil
		}
	}
	return n, nil
}

// reclaim removes x if it is still the expired record that was read.
// gone reports that it was not (taken by another sweep, renewed,
// replaced, or moved: a move in progress is finished first, as any write
// does). A pending move into the key is resolved first, as any operation
// does.
func (s *Store) reclaim(ctx context.Context, x expired, now time.Time) (ok, gone bool, err error) {
	for range maxResolve {
		r, err := s.run(ctx, "delete-expired", scriptReclaim, true, []string{s.key(x.id)}, now, strconv.FormatInt(x.expires, 10), x.version)
		if err != nil {
			return false, false, err
		}
		switch r.status {
		case "PEND":
			if err := s.resolve(ctx, x.id, store.ID(r.str(0)), r.str(1), now, 0); err != nil {
				return false, false, err
			}
			continue
		case "OK":
			return true, false, nil
		case "NO":
			return false, true, nil
		case "BUSY":
			// Being moved: finish the move (with its mover's instant, so
			// that it decides as the mover would), and let the next scan
			// find the record wherever it now is.
			if _, _, err := s.finish(ctx, x.id, r.str(0), now, 0, nil); err != nil {
				return false, false, err
			}
			return false, true, nil
		}
		return false, false, nil
	}
	return false, false, nil
}

// scanAll lists the records expired at now on every primary, earliest
// expiry first (ties by ID).
func (s *Store) scanAll(ctx context.Context, now time.Time) ([]expired, error) {
	var (
		mu    sync.Mutex
		found []expired
	)
	err := s.forEachPrimary(ctx, func(ctx context.Context, c *redis.Client) error {
		got, err := s.scanExpired(ctx, c, now)
		mu.Lock()
		found = append(found, got...)
		mu.Unlock()
		return err
	})
	slices.SortFunc(found, func(a, b expired) int {
		return cmp.Or(cmp.Compare(a.expires, b.expires), strings.Compare(string(a.id), string(b.id)))
	})
	return found, err
}

// forEachPrimary runs fn on every primary (the one node, without a
// cluster).
func (s *Store) forEachPrimary(ctx context.Context, fn func(context.Context, *redis.Client) error) error {
	if s.cluster == nil {
		return fn(ctx, s.single)
	}
	return s.cluster.ForEachMaster(ctx, fn)
}

// scanExpired lists the expired records on one primary, resolving any
// pending move it meets so that what it reads is the record.
func (s *Store) scanExpired(ctx context.Context, c *redis.Client, now time.Time) ([]expired, error) {
	var out []expired
	pattern := s.opts.Prefix + ":{*}"
	head := s.opts.Prefix + ":{"
	nowUs := now.UnixMicro()
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return out, err
		}
		// One pipelined HMGET for the whole batch, not a round trip per key.
		var ids []store.ID
		var cmds []*redis.SliceCmd
		if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				id := store.ID(strings.TrimSuffix(strings.TrimPrefix(k, head), "}"))
				if id.Validate() != nil {
					continue // not a session key of this store
				}
				ids = append(ids, id)
				cmds = append(cmds, p.HMGet(ctx, k, "e", "v", "pt", "pf"))
			}
			return nil
		}); err != nil {
			return out, err
		}
		for i, id := range ids {
			f, err := cmds[i].Result()
			if err != nil || len(f) < 4 {
				return out, fmt.Errorf("reading a session key: %v", err)
			}
			if pt, _ := f[2].(string); pt != "" {
				// A move into the key: settle it and read the key again.
				pf, _ := f[3].(string)
				if err := s.resolve(ctx, id, store.ID(pf), pt, now, 0); err != nil {
					return out, err
				}
				if f, err = c.HMGet(ctx, s.key(id), "e", "v", "pt", "pf").Result(); err != nil {
					return out, err
				}
				if pt, _ := f[2].(string); pt != "" {
					continue // moved into again meanwhile: the next scan sees it
				}
			}
			es, _ := f[0].(string)
			v, _ := f[1].(string)
			if e, err := strconv.ParseInt(es, 10, 64); err == nil && nowUs >= e {
				out = append(out, expired{id: id, expires: e, version: v})
			}
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}

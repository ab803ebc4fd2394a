package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hourglass-go/hourglass/store"
)

// maxResolve bounds how many pending moves one operation resolves before
// it gives up (ErrContended): each is another client's ChangeID on the
// same key, and each resolution settles one for good.
const maxResolve = 16

// do runs sc on id's key. When it meets a move in progress on the key
// (a pending record, or an intent that a write must not overtake) it
// settles that move first and tries again.
func (s *Store) do(ctx context.Context, op string, sc *script, write bool, id store.ID, now time.Time, args ...any) (reply, error) {
	for i := 0; ; i++ {
		r, err := s.run(ctx, op, sc, write, []string{s.key(id)}, now, args...)
		if err != nil || (r.status != "PEND" && r.status != "BUSY") {
			return r, err
		}
		if i == maxResolve {
			return reply{}, &opError{op: op, err: ErrContended}
		}
		if err := s.unblock(ctx, id, r, now, 0); err != nil {
			return reply{}, err
		}
	}
}

// unblock settles the move a PEND or BUSY reply on id's key names.
func (s *Store) unblock(ctx context.Context, id store.ID, r reply, now time.Time, depth int) error {
	if r.status == "BUSY" {
		_, _, err := s.finish(ctx, id, r.str(0), now, depth+1, nil)
		return err
	}
	return s.resolve(ctx, id, store.ID(r.str(0)), r.str(1), now, depth+1)
}

// outcome turns a script's status into the contract's error.
func outcome(op string, r reply) error {
	switch r.status {
	case "OK":
		return nil
	case "NF":
		return fmt.Errorf("redisstore: %s: %w", op, store.ErrNotFound)
	case "DUP":
		return fmt.Errorf("redisstore: %s: %w", op, store.ErrDuplicateID)
	case "CONF":
		return fmt.Errorf("redisstore: %s: %w", op, store.ErrConflict)
	}
	return &opError{op: op, err: fmt.Errorf("unexpected script status %q", r.status), maybe: true}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// record parses a script's {state, expires, version} from r.vals[i:].
func record(op string, r reply, i int) (store.Record, error) {
	e, err1 := strconv.ParseInt(r.str(i+1), 10, 64)
	v, err2 := strconv.ParseUint(r.str(i+2), 10, 64)
	if err1 != nil || err2 != nil || len(r.vals) < i+3 {
		return store.Record{}, &opError{op: op, err: fmt.Errorf("malformed record in reply")}
	}
	return store.Record{State: []byte(r.str(i)), Expires: time.UnixMicro(e).UTC(), Version: v}, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := s.opts.Limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	seed := store.VersionSeedOf(ctx, id, "", state)
	now := s.now()
	exp := store.Expiry(now, ttl)
	r, err := s.do(ctx, "create", scriptCreate, true, id, now, s.margin, state, micros(exp), strconv.FormatUint(seed.At(exp), 10))
	if err != nil {
		return err
	}
	return outcome("create", r)
}

// Load implements store.Store. It is the one operation that runs no
// script: one HMGET reads the whole record atomically, and the caller's
// instant judges it here, as the scripts would there. A script costs the
// server several times a native read (measured: bench/BENCHMARKS.md,
// "Redis"), and Load is most of a session store's traffic.
func (s *Store) Load(ctx context.Context, id store.ID) (store.Record, error) {
	if err := id.Validate(); err != nil {
		return store.Record{}, err
	}
	now := s.now()
	for i := 0; ; i++ {
		f, err := s.rdb.HMGet(ctx, s.key(id), "pt", "pf", "e", "s", "v").Result()
		if err != nil {
			return store.Record{}, classify("load", err)
		}
		if pt, _ := f[0].(string); pt != "" {
			if i == maxResolve {
				return store.Record{}, &opError{op: "load", err: ErrContended}
			}
			pf, _ := f[1].(string)
			if err := s.resolve(ctx, id, store.ID(pf), pt, now, 0); err != nil {
				return store.Record{}, err
			}
			continue
		}
		es, _ := f[2].(string)
		e, err := strconv.ParseInt(es, 10, 64)
		if err != nil || now.UnixMicro() >= e {
			return store.Record{}, fmt.Errorf("redisstore: load: %w", store.ErrNotFound)
		}
		vs, _ := f[4].(string)
		v, err := strconv.ParseUint(vs, 10, 64)
		st, _ := f[3].(string)
		if err != nil {
			return store.Record{}, &opError{op: "load", err: fmt.Errorf("malformed record")}
		}
		return store.Record{State: []byte(st), Expires: time.UnixMicro(e).UTC(), Version: v}, nil
	}
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, id store.ID, state []byte, ttl time.Duration) error {
	if err := s.opts.Limits.CheckWrite(id, state, ttl); err != nil {
		return err
	}
	now := s.now()
	r, err := s.do(ctx, "update", scriptUpdate, true, id, now, s.margin, state, micros(store.Expiry(now, ttl)), "1")
	if err != nil {
		return err
	}
	return outcome("update", r)
}

// UpdateTTL implements store.Store.
func (s *Store) UpdateTTL(ctx context.Context, id store.ID, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if err := s.opts.Limits.CheckTTL(ttl); err != nil {
		return err
	}
	now := s.now()
	r, err := s.do(ctx, "update-ttl", scriptUpdate, true, id, now, s.margin, "", micros(store.Expiry(now, ttl)), "0")
	if err != nil {
		return err
	}
	return outcome("update-ttl", r)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id store.ID) error {
	if err := id.Validate(); err != nil {
		return err
	}
	r, err := s.do(ctx, "delete", scriptDelete, true, id, s.now())
	if err != nil {
		return err
	}
	return outcome("delete", r)
}

// Touch implements store.Toucher: one script reads the session and, if
// the expiry moves forward by resolution or more, writes it.
func (s *Store) Touch(ctx context.Context, id store.ID, ttl, resolution time.Duration) (store.Record, error) {
	if err := s.opts.Limits.CheckTouch(id, ttl, resolution); err != nil {
		return store.Record{}, err
	}
	now := s.now()
	// Expiries are whole microseconds, so "moves by resolution or more"
	// is "by resolution rounded up to a microsecond or more".
	res := (resolution + store.Resolution - 1) / store.Resolution
	r, err := s.do(ctx, "touch", scriptTouch, true, id, now, s.margin, micros(store.Expiry(now, ttl)), strconv.FormatInt(int64(res), 10))
	if err != nil {
		return store.Record{}, err
	}
	if err := outcome("touch", r); err != nil {
		return store.Record{}, err
	}
	return record("touch", r, 0)
}

// UpdateIf implements store.Versioner.
func (s *Store) UpdateIf(ctx context.Context, id store.ID, version uint64, state []byte, ttl time.Duration) (uint64, error) {
	if err := s.opts.Limits.CheckUpdateIf(id, version, state, ttl); err != nil {
		return 0, err
	}
	now := s.now()
	exp := ""
	if ttl != store.KeepTTL {
		exp = micros(store.Expiry(now, ttl))
	}
	r, err := s.do(ctx, "update-if", scriptUpdateIf, true, id, now, s.margin, strconv.FormatUint(version, 10), state, exp, strconv.FormatUint(version+1, 10))
	if err != nil {
		return 0, err
	}
	if err := outcome("update-if", r); err != nil {
		return 0, err
	}
	return version + 1, nil
}

// resolve settles the pending record of move token from `from`, found on
// dst's key: a move still intended is finished (committed, or aborted if
// its target is taken); a committed one is installed; an aborted one
// dropped. Nothing a reader can see changes that had not already: the
// outcome is the move's, decided on its source.
func (s *Store) resolve(ctx context.Context, dst, from store.ID, token string, now time.Time, depth int) error {
	if from.Validate() != nil || token == "" {
		return &opError{op: "resolve", err: fmt.Errorf("malformed pending move on a session key")}
	}
	if depth > maxDepth {
		return &opError{op: "resolve", err: ErrContended}
	}
	for range maxResolve {
		st, err := s.run(ctx, "resolve", scriptStatus, false, []string{s.key(from), s.marker(from)}, now, token)
		if err != nil {
			return definite(err)
		}
		switch st.status {
		case "INTENT":
			if _, _, err := s.finish(ctx, from, token, now, depth+1, nil); err != nil {
				return err
			}
			continue // finishing settled dst too, unless it aborted
		case "COMMIT", "NONE":
			_, err := s.run(ctx, "resolve", scriptSettle, true, []string{s.key(dst)}, now, s.margin, token, flag(st.status == "COMMIT"))
			return definite(err)
		default:
			return &opError{op: "resolve", err: fmt.Errorf("unexpected script status %q", st.status)}
		}
	}
	return &opError{op: "resolve", err: ErrContended}
}

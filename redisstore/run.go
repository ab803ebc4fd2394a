package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hourglass-go/hourglass/store"
)

// onceCmd is a command go-redis must never resend by itself: a script
// whose answer was lost may have run, and only the store knows what a
// second run would mean.
type onceCmd struct{ *redis.Cmd }

func (onceCmd) NoRetry() bool { return true }

// reply is a script's answer: its status and the values after it.
type reply struct {
	status string
	vals   []any
}

func (r reply) str(i int) string {
	if i >= len(r.vals) {
		return ""
	}
	s, _ := r.vals[i].(string)
	return s
}

// run runs sc on the slot of keys[0] with now as ARGV[1]. write says
// whether the script may write, for WAIT. The error is classified: see
// classify.
func (s *Store) run(ctx context.Context, op string, sc *script, write bool, keys []string, now time.Time, args ...any) (reply, error) {
	if err := ctx.Err(); err != nil {
		return reply{}, &opError{op: op, err: err}
	}
	// A write carries a token and its fence hash, in the slot of its
	// first key: see fence.
	var token, fenceKey string
	nkeys := len(keys)
	if write {
		token, fenceKey = newToken(), keys[0]+":f"
		nkeys++
	}
	argv := make([]any, 0, 3+nkeys+2+len(args))
	argv = append(argv, "evalsha", sc.sha, nkeys)
	for _, k := range keys {
		argv = append(argv, k)
	}
	if write {
		argv = append(argv, fenceKey)
	}
	argv = append(argv, micros(now))
	argv = append(argv, args...)
	if write {
		argv = append(argv, token)
	}
	var (
		cmd *redis.Cmd
		err error
	)
	if write && s.opts.WaitReplicas > 0 {
		cmd, err = s.runWait(ctx, keys[0], argv, sc)
	} else {
		cmd = redis.NewCmd(ctx, argv...)
		err = s.rdb.Process(ctx, onceCmd{cmd})
		if isNoScript(err) {
			// The server lost its script cache (a restart): NOSCRIPT means
			// nothing ran, so EVAL is safe.
			argv[0], argv[1] = "eval", sc.src
			cmd = redis.NewCmd(ctx, argv...)
			err = s.rdb.Process(ctx, onceCmd{cmd})
		}
	}
	if err != nil {
		err = classify(op, err)
		if write && store.IsAmbiguous(err) {
			err = s.fence(ctx, op, fenceKey, token, now, err)
		}
		return reply{}, err
	}
	vals, err := cmd.Slice()
	if err != nil || len(vals) == 0 {
		return reply{}, &opError{op: op, err: fmt.Errorf("unexpected script reply %v", cmd.Val()), maybe: true}
	}
	status, _ := vals[0].(string)
	return reply{status: status, vals: vals[1:]}, nil
}

// runWait runs the script and WAIT in one pipeline on the connection of
// the key's primary, so that WAIT counts the script's write.
func (s *Store) runWait(ctx context.Context, key string, argv []any, sc *script) (*redis.Cmd, error) {
	node := s.single
	moved := 0
	for attempt := 0; ; attempt++ {
		if s.cluster != nil {
			n, err := s.cluster.MasterForKey(ctx, key)
			if err != nil {
				return nil, err
			}
			node = n
		}
		cmd := redis.NewCmd(ctx, argv...)
		wait := redis.NewIntCmd(ctx, "wait", s.opts.WaitReplicas, s.opts.WaitTimeout.Milliseconds())
		_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
			_ = p.Process(ctx, onceCmd{cmd})
			_ = p.Process(ctx, wait)
			return nil
		})
		if err := cmd.Err(); isNoScript(err) && argv[0] == "evalsha" {
			argv[0], argv[1] = "eval", sc.src
			continue
		}
		if err := cmd.Err(); isMoved(err) && s.cluster != nil && moved < 3 {
			// The slot moved (a failover): the script did not run.
			// The client's map is stale; reload it and go where the slot
			// is now, as the client's own routing would.
			moved++
			s.cluster.ReloadState(ctx)
			continue
		}
		if err := cmd.Err(); err != nil {
			return nil, err
		}
		if err != nil {
			// The script ran; WAIT failed: the write may or may not be on
			// a replica.
			return nil, store.Ambiguous(fmt.Errorf("%w: %v", ErrNotReplicated, err))
		}
		if n := wait.Val(); n < int64(s.opts.WaitReplicas) {
			return nil, store.Ambiguous(fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, n, s.opts.WaitReplicas, s.opts.WaitTimeout))
		}
		return cmd, nil
	}
}

func isMoved(err error) bool {
	return err != nil && (strings.HasPrefix(err.Error(), "MOVED ") || strings.HasPrefix(err.Error(), "ASK "))
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// fence makes the outcome of a write whose answer was lost final before
// it is reported. The request may still be waiting in the server, in the
// buffer of a connection the client gave up on, and run after the caller
// has moved on; the fence marks its token dead in the same slot, so that
// once the fence has run, the write has run before it or never will (the
// scripts check their token first). It runs past the caller's context,
// whose end is often what lost the answer, for at most FenceTimeout;
// when that is spent the error also wraps ErrNotFinal.
func (s *Store) fence(ctx context.Context, op, fenceKey, token string, now time.Time, cause error) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.FenceTimeout)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3 && fctx.Err() == nil; attempt++ {
		if _, err = s.run(fctx, op+" (fence)", scriptFence, false, []string{fenceKey}, now, token, s.margin); err == nil {
			return cause
		}
	}
	return &opError{op: op, err: fmt.Errorf("%w: %w; fencing it failed: %v", ErrNotFinal, stripAmbiguous(errors.Unwrap(cause)), errors.Unwrap(err)), maybe: true}
}

// classify says whether a failed command may have run. A Redis error
// reply means the script did not run (MOVED, CLUSTERDOWN, OOM, LOADING,
// a read-only replica) or failed before writing (the scripts validate
// first). A failure to connect or to write the request means the server
// never had the whole command. Anything else (a lost answer, a deadline
// that passed while waiting) is ambiguous.
func classify(op string, err error) error {
	e := &opError{op: op, err: err, maybe: true}
	var rerr redis.Error
	var oe *net.OpError
	switch {
	case store.IsAmbiguous(err):
	case errors.As(err, &rerr):
		e.maybe = false
	case errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "write"):
		e.maybe = false
	case errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout):
		e.maybe = false
	}
	return e
}

// opError is a failed command, ambiguous (it may have run) or not.
type opError struct {
	op    string
	err   error
	maybe bool
}

func (e *opError) Error() string {
	if e.maybe {
		return "redisstore: " + e.op + ": outcome unknown (may have been applied): " + e.err.Error()
	}
	return "redisstore: " + e.op + ": " + e.err.Error()
}

func (e *opError) Unwrap() error { return e.err }

func (e *opError) Is(target error) bool { return e.maybe && target == store.ErrAmbiguous }

// definite makes err definite: for the steps of a move before its commit
// and for resolving another move, which change nothing a reader can see
// whether or not they ran.
func definite(err error) error {
	var e *opError
	if errors.As(err, &e) && e.maybe && !errors.Is(err, ErrNotFinal) {
		return &opError{op: e.op + " (before any visible change)", err: stripAmbiguous(e.err)}
	}
	return err
}

// stripAmbiguous unwraps store.Ambiguous markers inside err.
func stripAmbiguous(err error) error {
	for store.IsAmbiguous(err) {
		u := errors.Unwrap(err)
		if u == nil {
			return errors.New(err.Error())
		}
		err = u
	}
	return err
}

package sim

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/faults"
	"github.com/hourglass-go/hourglass/store"
)

// Clienter is implemented by a backend whose concurrent clients should each
// have a handle of their own on the same data, as separate application
// servers sharing one database would: pgstore on a pool per client, say.
// Record calls Client for clients 1 and up (client 0 uses the store the
// factory made) and for the second instance of any client, with the clock
// that handle must read and the Injector of that client's faults, which a
// backend with a connection hook routes its connections through. Without
// it, every client shares the factory's store (which must be safe for
// concurrent use, as the contract requires anyway).
type Clienter interface {
	Client(n int, clk clock.Clock, in *faults.Injector) (store.Store, error)
}

// Record runs a trace's clients at the same time against one backend and
// records what every operation returned and when it was called and
// returned. It checks nothing: Check decides whether the history is
// linearizable.
//
// How the clock is seen: the trace is cut into rounds at its clock
// operations (advance, skew). In a round every client runs its operations
// in order, all clients at once; a clock operation waits until every
// client is quiet, moves the clock, and the next round starts. So the clock
// never moves while an operation runs, and each operation's reading is
// known exactly: the round's, on the operation's instance. Time in a
// history is the simulated clock only; the order of calls and returns
// comes from one counter that every client increments as it calls and as
// it returns, so an operation that returned before another was called has
// the smaller numbers. That order is all linearizability needs.
//
// Each client has its own fault Injector (a fault line arms the next
// operation of its client); with faults, each client's store is wrapped by
// faults.Wrap. A server fault armed by one client (a crash, say) also hits
// whatever the other clients were doing; Check excuses failures of
// operations that overlap one.
//
// The error is for failures of the harness (the factory failed); what the
// backend did is in the History.
func Record(ctx context.Context, t *Trace, newStore Factory) (*History, error) {
	n := max(t.Clients, 1)
	r := &recorder{
		t:      t,
		clk:    [2]*clock.Sim{clock.NewSim(t.Start), clock.NewSim(t.Start)},
		ins:    make([]*faults.Injector, n),
		stores: make([][2]store.Store, n),
		faulty: t.hasFaults(),
	}
	for i := range r.ins {
		r.ins[i] = faults.New()
	}
	s, err := newStore(Env{Clock: r.clk[0], Limits: t.Limits, Faults: r.ins[0]})
	if err != nil {
		return nil, fmt.Errorf("sim: making the backend: %w", err)
	}
	defer func() {
		for i := len(r.closers) - 1; i >= 0; i-- {
			r.closers[i].Close()
		}
	}()
	r.keep(s)
	if err := t.checkCapabilities(s); err != nil {
		return nil, err
	}
	if err := r.open(s); err != nil {
		return nil, err
	}
	r.h = &History{
		Trace:          t,
		Events:         make([]Event, len(t.Ops)),
		NativeExpiry:   store.CapabilitiesOf(s).NativeExpiry,
		SecondInstance: r.second,
		StoredIDs:      storedIDs(t, s),
	}
	r.judge = judge{versions: t.versioned()}
	r.execute(ctx)
	for _, in := range r.ins {
		if err := in.Err(); err != nil {
			return nil, fmt.Errorf("sim: the harness failed to inject a fault, so the history cannot be judged: %w", err)
		}
	}
	r.h.Faults = r.h.countFaults()
	return r.h, nil
}

type recorder struct {
	t       *Trace
	clk     [2]*clock.Sim
	ins     []*faults.Injector
	stores  [][2]store.Store // per client: first and second instance
	second  bool             // a real second instance exists
	faulty  bool
	closers []io.Closer
	seq     atomic.Int64
	h       *History
	judge   judge // for its versions: a history keeps them only if the trace checks them
}

// storedIDs lists the trace's IDs that s stores under another ID.
func storedIDs(t *Trace, s store.Store) map[store.ID]store.ID {
	k, ok := s.(store.Keyer)
	if !ok {
		return nil
	}
	var out map[store.ID]store.ID
	for _, id := range idsOf(t.Ops) {
		if id.Validate() != nil {
			continue // never stored
		}
		if key := k.StoredID(id); key != id {
			if out == nil {
				out = map[store.ID]store.ID{}
			}
			out[id] = key
		}
	}
	return out
}

func (r *recorder) keep(s store.Store) {
	if c, ok := s.(io.Closer); ok {
		r.closers = append(r.closers, c)
	}
}

// open gives every client its store and, if the trace uses one, its
// second instance.
func (r *recorder) open(s store.Store) error {
	cl, isClienter := s.(Clienter)
	in, isInstancer := s.(Instancer)
	wantSecond := r.t.hasSecond()
	r.second = wantSecond && (isClienter || isInstancer)
	for i := range r.stores {
		first := s
		if i > 0 && isClienter {
			c, err := cl.Client(i, r.clk[0], r.ins[i])
			if err != nil {
				return fmt.Errorf("sim: opening client %d: %w", i, err)
			}
			r.keep(c)
			first = c
		}
		second := first
		switch {
		case !r.second:
		case isClienter && (i > 0 || !isInstancer):
			c, err := cl.Client(i, r.clk[1], r.ins[i])
			if err != nil {
				return fmt.Errorf("sim: opening client %d's second instance: %w", i, err)
			}
			r.keep(c)
			second = c
		default:
			second = in.Instance(r.clk[1])
		}
		if r.faulty {
			first, second = faults.Wrap(first, r.ins[i]), faults.Wrap(second, r.ins[i])
		}
		r.stores[i] = [2]store.Store{first, second}
	}
	return nil
}

// execute runs the trace round by round.
func (r *recorder) execute(ctx context.Context) {
	round := make([][]int, len(r.stores)) // per client, indices of its ops
	flush := func() {
		r.runRound(ctx, round)
		for i := range round {
			round[i] = round[i][:0]
		}
	}
	for i, op := range r.t.Ops {
		switch o := op.(type) {
		case Advance:
			flush()
			r.clk[0].Add(o.D)
			r.clk[1].Add(o.D)
		case Skew:
			flush()
			r.clk[1].Set(r.clk[0].Now().Add(o.D))
		case Client:
			c := min(max(o.N, 0), len(round)-1)
			round[c] = append(round[c], i)
		default:
			round[0] = append(round[0], i) // a sequential trace: one client
		}
	}
	flush()
}

// runRound runs each client's operations of one round, all clients at
// once. They are released together, so that their operations overlap as
// much as the machine allows.
func (r *recorder) runRound(ctx context.Context, round [][]int) {
	busy := 0
	for _, ops := range round {
		if len(ops) > 0 {
			busy++
		}
	}
	if busy <= 1 {
		for c, ops := range round {
			for _, i := range ops {
				r.runOp(ctx, c, i)
			}
		}
		return
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for c, ops := range round {
		if len(ops) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for _, i := range ops {
				r.runOp(ctx, c, i)
			}
		}()
	}
	close(start)
	wg.Wait()
}

// runOp runs the trace's operation i on client c and records its event.
// Only client c touches Events[i], so no lock is needed.
func (r *recorder) runOp(ctx context.Context, c, i int) {
	_, op := clientOf(r.t.Ops[i])
	if f, ok := op.(Fault); ok {
		r.ins[c].Arm(f.Kind, f.At)
		return
	}
	inst := 0
	if _, ok := op.(Second); ok && r.second {
		inst = 1
	}
	ev := &r.h.Events[i]
	ev.Client = c
	ev.Now = store.Instant(r.clk[inst].Now())
	ev.Call = r.seq.Add(1)
	if r.faulty {
		opCtx := r.ins[c].Begin(ctx)
		ev.Outcome = op.exec(opCtx, r.stores[c][inst])
		ev.Fired = r.ins[c].End()
	} else {
		ev.Outcome = op.exec(ctx, r.stores[c][inst])
	}
	ev.Return = r.seq.Add(1)
	ev.Outcome = r.judge.shown(ev.Outcome)
}

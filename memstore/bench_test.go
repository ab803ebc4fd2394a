package memstore_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/memstore"
	"github.com/hourglass-go/hourglass/store"
)

const (
	benchSessions = 1 << 16
	benchState    = 256
)

var benchIDs = func() []store.ID {
	ids := make([]store.ID, benchSessions)
	for i := range ids {
		ids[i] = store.NewID()
	}
	return ids
}()

// benchStore returns a store holding benchSessions live sessions whose TTL
// outlasts any benchmark, on a Sim clock that benchmarks leave alone.
func benchStore(b *testing.B, shards int) *memstore.Store {
	b.Helper()
	s := memstore.New(memstore.Options{Clock: clock.NewSim(t0), Shards: shards})
	state := make([]byte, benchState)
	for _, id := range benchIDs {
		if err := s.Create(ctx, id, state, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// shardings compares one lock with the default: the parallel benchmarks
// show what sharding buys.
var shardings = []struct {
	name   string
	shards int
}{{"shards=1", 1}, {"shards=default", 0}}

func BenchmarkLoad(b *testing.B) {
	s := benchStore(b, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Load(ctx, benchIDs[i%benchSessions]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkUpdate(b *testing.B) {
	s := benchStore(b, 0)
	state := make([]byte, benchState)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.Update(ctx, benchIDs[i%benchSessions], state, time.Hour); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkUpdateIf is BenchmarkUpdate as a conditional write at the
// version each session is at: what the check adds to an Update.
func BenchmarkUpdateIf(b *testing.B) {
	s := benchStore(b, 0)
	state := make([]byte, benchState)
	versions := make([]uint64, benchSessions)
	for k := range versions {
		r, err := s.Load(ctx, benchIDs[k])
		if err != nil {
			b.Fatal(err)
		}
		versions[k] = r.Version
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % benchSessions
		v, err := s.UpdateIf(ctx, benchIDs[k], versions[k], state, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		versions[k] = v
		i++
	}
}

func BenchmarkUpdateTTL(b *testing.B) {
	s := benchStore(b, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.UpdateTTL(ctx, benchIDs[i%benchSessions], time.Hour+time.Duration(i%1000)*us); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCreateDelete(b *testing.B) {
	s := benchStore(b, 0)
	state := make([]byte, benchState)
	fresh := make([]store.ID, 1024)
	for i := range fresh {
		fresh[i] = store.NewID()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := fresh[i%len(fresh)]
		if err := s.Create(ctx, id, state, time.Hour); err != nil {
			b.Fatal(err)
		}
		if err := s.Delete(ctx, id); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkChangeID(b *testing.B) {
	s := benchStore(b, 0)
	other := make([]store.ID, benchSessions)
	for i := range other {
		other[i] = store.NewID()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Move each session away and, a lap later, back.
		from, to := benchIDs, other
		if (i/benchSessions)%2 == 1 {
			from, to = other, benchIDs
		}
		k := i % benchSessions
		if err := s.ChangeID(ctx, from[k], to[k]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// parallel runs op from GOMAXPROCS goroutines, each walking the sessions
// from its own starting point.
func parallel(b *testing.B, shards int, op func(s *memstore.Store, id store.ID, state []byte) error) {
	s := benchStore(b, shards)
	var seed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(7919))
		state := make([]byte, benchState)
		for pb.Next() {
			if err := op(s, benchIDs[i%benchSessions], state); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkLoadParallel(b *testing.B) {
	for _, sh := range shardings {
		b.Run(sh.name, func(b *testing.B) {
			parallel(b, sh.shards, func(s *memstore.Store, id store.ID, _ []byte) error {
				_, err := s.Load(ctx, id)
				return err
			})
		})
	}
}

func BenchmarkUpdateParallel(b *testing.B) {
	for _, sh := range shardings {
		b.Run(sh.name, func(b *testing.B) {
			parallel(b, sh.shards, func(s *memstore.Store, id store.ID, state []byte) error {
				return s.Update(ctx, id, state, time.Hour)
			})
		})
	}
}

func BenchmarkCreateDeleteParallel(b *testing.B) {
	for _, sh := range shardings {
		b.Run(sh.name, func(b *testing.B) {
			s := benchStore(b, sh.shards)
			var seed atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// IDs private to the goroutine: each Create finds its ID free.
				g := seed.Add(1)
				ids := make([]store.ID, 256)
				for i := range ids {
					ids[i] = store.ID(fmt.Sprintf("g%d-%d", g, i))
				}
				state := make([]byte, benchState)
				i := 0
				for pb.Next() {
					id := ids[i%len(ids)]
					if err := s.Create(ctx, id, state, time.Hour); err != nil {
						b.Error(err)
						return
					}
					if err := s.Delete(ctx, id); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkDeleteExpired reclaims 100k expired sessions, with as many live
// ones alongside, in batches of 1000, the way a background reclaimer would.
// Expiries are spread over an hour, as sessions created and touched at
// random times would be. One op is the whole reclaim; ns/record is the cost
// per session removed.
func BenchmarkDeleteExpired(b *testing.B) {
	const expired, batch = 100_000, 1000
	for _, sh := range shardings {
		b.Run(sh.name, func(b *testing.B) {
			clk := clock.NewSim(t0)
			s := memstore.New(memstore.Options{Clock: clk, Shards: sh.shards})
			for i := range expired {
				if err := s.Create(ctx, store.ID(fmt.Sprintf("live%d", i)), nil, 24*time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			ids := make([]store.ID, expired)
			for i := range ids {
				ids[i] = store.ID(fmt.Sprintf("exp%d", i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				clk.Set(t0)
				rng := rand.New(rand.NewPCG(1, 2))
				for _, id := range ids {
					ttl := time.Duration(1+rng.Int64N(int64(time.Hour/time.Microsecond)-1)) * time.Microsecond
					if err := s.Create(ctx, id, nil, ttl); err != nil {
						b.Fatal(err)
					}
				}
				clk.Set(t0.Add(time.Hour))
				runtime.GC() // collect the setup's garbage off the clock
				b.StartTimer()
				total := 0
				for {
					n, err := s.DeleteExpired(ctx, batch)
					if err != nil {
						b.Fatal(err)
					}
					total += n
					if n < batch {
						break
					}
				}
				if total != expired {
					b.Fatalf("reclaimed %d, want %d", total, expired)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*expired), "ns/record")
		})
	}
}

// BenchmarkTouch is sliding expiry on the store's sessions: "read" is the
// common request, where the expiry would move by less than the resolution
// and nothing is written; "write" moves it every time.
func BenchmarkTouch(b *testing.B) {
	b.Run("read", func(b *testing.B) {
		s := benchStore(b, 0)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Touch(ctx, benchIDs[i%benchSessions], time.Hour, time.Minute); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("write", func(b *testing.B) {
		s := benchStore(b, 0)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			// A TTL a lap longer than the last one moves every expiry forward.
			ttl := time.Hour + time.Duration(1+i/benchSessions)*us
			if _, err := s.Touch(ctx, benchIDs[i%benchSessions], ttl, 0); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkListOwner lists one owner's 10 sessions among 100,000: the
// others either have no owner or belong to 9,999 other owners of 10 each.
// Its cost should follow the owner's sessions and the shard count, not the
// store's size.
func BenchmarkListOwner(b *testing.B) {
	const total, mine = 100_000, 10
	for _, others := range []string{"unowned", "owned"} {
		b.Run("others="+others, func(b *testing.B) {
			s := memstore.New(memstore.Options{Clock: clock.NewSim(t0)})
			for i := range total {
				id := store.ID(fmt.Sprintf("s%d", i))
				var err error
				switch {
				case i < mine:
					err = s.CreateOwned(ctx, id, "me", nil, time.Hour+time.Duration(i)*us, 0)
				case others == "owned":
					err = s.CreateOwned(ctx, id, store.Owner(fmt.Sprintf("user%d", i/mine)), nil, time.Hour, 0)
				default:
					err = s.Create(ctx, id, nil, time.Hour)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				l, err := s.List(ctx, "me")
				if err != nil || len(l) != mine {
					b.Fatalf("List = %d sessions, %v", len(l), err)
				}
			}
		})
	}
}

// BenchmarkScan reads one page of Scan from a random point among the
// store's 65,536 sessions. Scan keeps no index in ID order, so a page costs
// a pass over every record held whatever its size; ns/record is that cost
// per record held.
func BenchmarkScan(b *testing.B) {
	for _, page := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			s := benchStore(b, 0)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.Scan(ctx, benchIDs[i%benchSessions], page); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchSessions), "ns/record")
		})
	}
}

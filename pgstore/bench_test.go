package pgstore

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/store"
)

// The write paths whose SQL the server may see conflict on: Create and
// ChangeID over a free, a live and an expired ID. One client, one
// connection reused, the statements prepared before the timer starts, so
// that a result is the statement's round trip and the server's work.
//
//	go test -run '^$' -bench 'Create|ChangeID' -count 10 ./pgstore | benchstat -

func benchStore(b *testing.B) (*Store, *clock.Sim) {
	b.Helper()
	clk := clock.NewSim(t0)
	pool := siblingPool(b, func(c *pgxpool.Config) { c.MaxConns = 1 })
	s := newStoreOn(b, pool, Options{Clock: clk})
	return s, clk
}

// payload16 is the state the benchmarks write.
var payload16 = []byte("0123456789abcdef")

func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	b.Run("free", func(b *testing.B) {
		s, _ := benchStore(b)
		i := 0
		for b.Loop() {
			i++
			if err := s.Create(ctx, store.ID("c"+strconv.Itoa(i)), payload16, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("live", func(b *testing.B) {
		s, _ := benchStore(b)
		if err := s.Create(ctx, "taken", payload16, time.Hour); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := s.Create(ctx, "taken", payload16, time.Hour); !errors.Is(err, store.ErrDuplicateID) {
				b.Fatal(err)
			}
		}
	})
	b.Run("expired", func(b *testing.B) {
		s, clk := benchStore(b)
		for b.Loop() {
			// The record the previous iteration wrote has just expired.
			clk.Add(time.Second)
			if err := s.Create(ctx, "again", payload16, time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkChangeID(b *testing.B) {
	ctx := context.Background()
	b.Run("free", func(b *testing.B) {
		s, _ := benchStore(b)
		cur := store.ID("m0")
		if err := s.Create(ctx, cur, payload16, time.Hour); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			next := store.ID("m" + strconv.Itoa(i))
			if err := s.ChangeID(ctx, cur, next); err != nil {
				b.Fatal(err)
			}
			cur = next
		}
	})
	b.Run("live", func(b *testing.B) {
		s, _ := benchStore(b)
		for _, id := range []store.ID{"a", "b"} {
			if err := s.Create(ctx, id, payload16, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			if err := s.ChangeID(ctx, "a", "b"); !errors.Is(err, store.ErrDuplicateID) {
				b.Fatal(err)
			}
		}
	})
	b.Run("expired", func(b *testing.B) {
		s, _ := benchStore(b)
		cur := store.ID("e0")
		if err := s.Create(ctx, cur, payload16, time.Hour); err != nil {
			b.Fatal(err)
		}
		// Targets expired long before t0, written in blocks with the
		// timer stopped.
		const block = 1000
		i := 0
		for b.Loop() {
			if i%block == 0 {
				b.StopTimer()
				if _, err := s.pool.Exec(ctx, `INSERT INTO `+s.Table()+` (id, state, expires)
					SELECT 'e' || g, '', $1 FROM generate_series($2::int + 1, $2::int + $3) g`, t0.Add(-time.Hour), i, block); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			i++
			next := store.ID("e" + strconv.Itoa(i))
			if err := s.ChangeID(ctx, cur, next); err != nil {
				b.Fatal(err)
			}
			cur = next
		}
	})
}

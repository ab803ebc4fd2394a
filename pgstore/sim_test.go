package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hourglass-go/hourglass/internal/pgsim"
	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/sim"
)

// The simulator with the clock far from today and the connection's TimeZone
// far from UTC: pgstore takes every instant from the injected clock and
// passes it as a parameter, so nothing may change.
func TestSimulationFarClocksAndTimeZones(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	starts := []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, tz := range []string{"UTC", "America/New_York", "Asia/Tokyo"} {
		for _, start := range starts {
			t.Run(fmt.Sprintf("%s/%d", tz, start.Year()), func(t *testing.T) {
				h, err := pgsim.New(ctx, dsn, pgsim.Options{TimeZone: tz, Table: fmt.Sprintf("sim_%d_%d", start.Year(), len(tz))})
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				for seed := uint64(1); seed <= 15; seed++ {
					f, _, err := sim.CheckSeed(ctx, seed, sim.GenConfig{Start: start}, h.Factory)
					if err != nil {
						t.Fatal(err)
					}
					if f != nil {
						t.Fatalf("%s", f)
					}
				}
			})
		}
	}
}

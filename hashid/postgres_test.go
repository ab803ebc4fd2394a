package hashid_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hourglass-go/hourglass/clock"
	"github.com/hourglass-go/hourglass/hashid"
	"github.com/hourglass-go/hourglass/internal/pgtest"
	"github.com/hourglass-go/hourglass/pgstore"
	"github.com/hourglass-go/hourglass/store"
)

// TestPostgresDumpHoldsNoID is the promise of the package on a real server:
// sessions created, updated, renamed and cycled through the layer over
// pgstore, then the table dumped as a backup would dump it (COPY, and
// pg_dump when the server's tools are installed). No ID ever used appears
// in the dump. The same calls on a plain pgstore table give a dump that
// holds every live ID, so the search is one that can find them.
func TestPostgresDumpHoldsNoID(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Schema(t)
	pool := pgtest.PoolFor(t, schema, nil)
	clk := clock.NewSim(t0)
	newTable := func(name string) *pgstore.Store {
		s, err := pgstore.New(pool, pgstore.Options{Clock: clk, Schema: schema, Table: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	plainTable, hashedTable := newTable("sessions_plain"), newTable("sessions_hashed")
	hashed, err := hashid.New(hashedTable, hashid.Options{})
	if err != nil {
		t.Fatal(err)
	}

	used, live := exercise(t, ctx, plainTable)
	usedH, liveH := exercise(t, ctx, hashed)

	dumps := map[string]func(*testing.T, *pgstore.Store) []byte{
		"COPY": func(t *testing.T, s *pgstore.Store) []byte { return copyOut(t, pool, s.Table()) },
		"pg_dump": func(t *testing.T, s *pgstore.Store) []byte {
			return pgDump(t, s.Table())
		},
	}
	for name, dump := range dumps {
		t.Run(name, func(t *testing.T) {
			plainDump := dump(t, plainTable)
			for _, id := range live {
				if !bytes.Contains(plainDump, []byte(id)) {
					t.Fatalf("the plain table's dump lacks a live ID: the search finds nothing\n%s", plainDump)
				}
			}
			hashedDump := dump(t, hashedTable)
			for _, id := range usedH {
				if bytes.Contains(hashedDump, []byte(id)) {
					t.Errorf("the hashed table's dump holds a session ID")
				}
			}
			for _, id := range liveH {
				if !bytes.Contains(hashedDump, []byte(store.StoredID(hashed, id))) {
					t.Fatalf("the hashed table's dump lacks a live session's stored ID: it dumped something else\n%s", hashedDump)
				}
			}
			t.Logf("%d IDs used, %d live; dumps of %d and %d bytes", len(used), len(live), len(plainDump), len(hashedDump))
		})
	}
}

// exercise runs the same sequence of writes on s for every store: creates,
// owned creates, updates, conditional updates when s has them, renames and
// cycles. It returns every ID it used and the IDs live at the end.
func exercise(t *testing.T, ctx context.Context, s store.Store) (used, live []store.ID) {
	t.Helper()
	const n = 24
	ids := make([]store.ID, n)
	for i := range ids {
		ids[i] = store.NewID()
	}
	// A shorter ID of the application's own making.
	ids[0] = "application-chosen-id-0001"
	used = append(used, ids...)
	owners := s.(store.Owners)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// first is each session's first version: store.FirstVersion of what
	// it was created with, on a clock that stands at t0.
	first := make([]uint64, n)
	for i, id := range ids {
		state := fmt.Appendf(nil, "state %d", i)
		var owner store.Owner
		if i%2 == 0 {
			must("Create", s.Create(ctx, id, state, time.Hour))
		} else {
			owner = store.Owner(fmt.Sprintf("user%d", i%3))
			must("CreateOwned", owners.CreateOwned(ctx, id, owner, state, time.Hour, 0))
		}
		first[i] = store.FirstVersion(id, owner, state, t0.Add(time.Hour))
	}
	for i, id := range ids {
		switch i % 4 {
		case 0:
			must("Update", s.Update(ctx, id, []byte("updated"), 2*time.Hour))
		case 1:
			if v, ok := s.(store.Versioner); ok {
				_, err := v.UpdateIf(ctx, id, first[i], []byte("updated if"), time.Hour)
				must("UpdateIf", err)
			}
		}
	}
	for i, id := range ids {
		next := store.NewID()
		used = append(used, next)
		switch i % 3 {
		case 0:
			must("ChangeID", s.ChangeID(ctx, id, next))
		case 1:
			must("Cycle", owners.Cycle(ctx, id, next, "cycled", []byte("signed in"), time.Hour, 0))
		default:
			next = id
		}
		live = append(live, next)
	}
	return used, live
}

// copyOut is the table as COPY writes it: what a logical backup holds.
func copyOut(t *testing.T, pool *pgxpool.Pool, table string) []byte {
	t.Helper()
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var b bytes.Buffer
	if _, err := conn.Conn().PgConn().CopyTo(t.Context(), &b, "COPY "+table+" TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pgDump runs the pg_dump of the local PostgreSQL installation on the
// table, schema and data, or skips if there is none.
func pgDump(t *testing.T, table string) []byte {
	t.Helper()
	bindir, err := exec.Command("pg_config", "--bindir").Output()
	if err != nil {
		t.Skipf("no pg_config: %v", err)
	}
	bin := filepath.Join(strings.TrimSpace(string(bindir)), "pg_dump")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no pg_dump: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--no-password", "--table="+table, "--dbname="+pgtest.DSN(t))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && strings.Contains(stderr.String(), "server version mismatch") {
		t.Skipf("the installed pg_dump cannot dump this server: %s", stderr.String())
	}
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	return out
}

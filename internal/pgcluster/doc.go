// Package pgcluster runs a throwaway PostgreSQL server from the binaries
// installed on the machine, for tests and for commands such as the simulator
// that need a real database without Docker or a shared server.
//
// Start runs initdb into a fresh temporary directory and starts postgres
// directly (not through pg_ctl), so that the Cluster owns the postmaster
// process: Stop, Kill and Restart act on that process group, which is what a
// crash test needs. The server trades durability for speed (fsync and
// full_page_writes off, asynchronous commit) and listens on 127.0.0.1 only,
// on a port picked free at start, with trust authentication. Options.Settings
// overrides any of that; a test that kills the server and checks what
// survived must turn synchronous_commit back on, because an acknowledged
// asynchronous commit may be lost by a crash.
//
// The binaries are looked for in this order: Options.BinDir; the directory
// named by HOURGLASS_PG_BINDIR (exclusively: if it is set and holds no server,
// Start fails, which is how a test run proves it does not silently skip); the
// directory of initdb or postgres on PATH; `pg_config --bindir`; then the
// usual install locations (/usr/lib/postgresql/*/bin, newest first, and
// others). initdb refuses to run as root, so when the process is root the
// server runs as the "postgres" OS user (Options.OSUser), switched to with
// exec.Cmd credentials: no shell and no sudo are involved.
//
// Nothing here imports testing: package internal/pgtest builds the test
// helpers on top of it.
package pgcluster

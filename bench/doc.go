// Package bench compares Hourglass's PostgreSQL store (pgstore) with
// github.com/alexedwards/scs/pgxstore and with bare pgx statements (the
// floor) on one PostgreSQL server, through one pgx pool, with the same
// payload and the same number of pre-created sessions.
//
// It is a module of its own, so that the library never depends on scs. It
// holds benchmarks (bench_test.go, and diag_test.go's breakdown behind
// HOURGLASS_BENCH_DIAG=1), the owner and sliding-expiry benchmarks
// (owners_test.go: BenchmarkOwners*, on a cluster of their own with
// PostgreSQL's default durability and 1,000,000 sessions), a
// load-while-cleaning program (cmd/cleanup) and a tool that pairs the
// benchmark rounds into ratios (cmd/ratios). redis_test.go does the same
// for Redis (BenchmarkRedis*): redisstore against scs/redisstore and
// gofiber/storage/redis on throwaway redis-servers it starts itself, with
// no PostgreSQL when only those benchmarks run.
// BENCHMARKS.md has the results and the commands that made them; in short:
//
//	cd bench
//	go test -run '^$' -bench 'Load|Update|CreateDelete' -benchtime 2s -count 5 | tee /tmp/bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl /tmp/bench.txt
//	./run.sh              # 10 interleaved rounds, benchstat, paired ratios
//	BENCH=Owners ROUNDS=8 RATIOS='...' ./run.sh  # BENCHMARKS.md, "Owners and sliding expiry"
//	go run ./cmd/cleanup  # DeleteExpired on 1M expired rows under load
//
// Without HOURGLASS_BENCH_DSN both start a throwaway PostgreSQL cluster from
// the binaries installed on the machine (see internal/pgcluster), listening
// on 127.0.0.1 only, and remove it when they finish. With it, they use that
// server and create, then drop, a schema of their own there.
package bench

#!/usr/bin/env bash
# Runs the benchmarks in rounds and summarises them: each round is one run
# of every benchmark (-count 1), in a fresh process with a fresh throwaway
# cluster, so that every implementation is sampled all along the run
# instead of in one stretch. Then benchstat gives the medians and
# cmd/ratios the paired ratios.
#
#   ./run.sh                 # ROUNDS=10 BENCHTIME=500ms OUT=/tmp/bench.txt
#   ROUNDS=3 BENCH=Load ./run.sh
#   RUNNER='taskset -c 0' ./run.sh   # everything on one core: less noise
#
# Even rounds run the implementations in reverse order (HOURGLASS_BENCH_ROUND).
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-10}
benchtime=${BENCHTIME:-500ms}
bench=${BENCH:-.}
out=${OUT:-/tmp/bench.txt}
runner=${RUNNER:-}

go test -c -o bench.test .
: >"$out"
for i in $(seq "$rounds"); do
	echo "round $i/$rounds" >&2
	HOURGLASS_BENCH_ROUND=$i $runner ./bench.test -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.count 1 | tee -a "$out"
done
rm -f bench.test

go run golang.org/x/perf/cmd/benchstat@latest -col /impl "$out"
echo
go run ./cmd/ratios "$out"

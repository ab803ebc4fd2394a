#!/usr/bin/env bash
# Runs the benchmarks in rounds and summarises them: each round is one run
# of every benchmark (-count 1), in a fresh process with a fresh throwaway
# cluster, so that every implementation is sampled all along the run
# instead of in one stretch. Then benchstat gives the medians and
# cmd/ratios the paired ratios.
#
#   ./run.sh                 # ROUNDS=10 BENCHTIME=500ms OUT=/tmp/bench.txt BENCH='Load|Update|CreateDelete'
#   ROUNDS=3 BENCH=Load ./run.sh
#   RUNNER='taskset -c 0' ./run.sh   # everything on one core: less noise
#   BENCH=Owners ROUNDS=6 RATIOS='-base Load -vs List,RevokeAll,Update;-base Create -vs CreateOwned;-vs scs' ./run.sh
#
# BENCHSTAT is benchstat's flags (default: -col /impl); RATIOS is
# cmd/ratios's, one set per table, separated by ";" (default: its own
# defaults, pgstore against scs and the floor).
# Even rounds run the implementations in reverse order (HOURGLASS_BENCH_ROUND).
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-10}
benchtime=${BENCHTIME:-500ms}
bench=${BENCH:-'Load|Update|CreateDelete'}
out=${OUT:-/tmp/bench.txt}
runner=${RUNNER:-}

go test -c -o bench.test .
: >"$out"
for i in $(seq "$rounds"); do
	echo "round $i/$rounds" >&2
	HOURGLASS_BENCH_ROUND=$i $runner ./bench.test -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.count 1 | tee -a "$out"
done
rm -f bench.test

# shellcheck disable=SC2086 # several flags
go run golang.org/x/perf/cmd/benchstat@latest ${BENCHSTAT:--col /impl} "$out"
IFS=';' read -ra sets <<<"${RATIOS:-}"
[ ${#sets[@]} -gt 0 ] || sets=("")
for flags in "${sets[@]}"; do
	echo
	# shellcheck disable=SC2086 # each set is several flags
	go run ./cmd/ratios $flags "$out"
done

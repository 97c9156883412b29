#!/bin/bash
# Scheduler overhead, measured against the real server and workers.
#
#   1. throughput: an array of N tasks (default 200,000) through the
#      scheduler rank and 2 workers in --bench-noop mode (each RUN is
#      reported done at once, nothing is spawned), so what is left is the
#      scheduler's own cost: placement, framing, the network round trip.
#      Baseline, same run: an array of N/100 tasks, to show whether the
#      cost per task stays flat as the table grows.  Target: 50,000 tasks/s.
#      Then the same N with one slot per worker (--cores 1, the default
#      worker.prefetch), where a worker can only be ahead of the scheduler
#      by what it holds: its cost per task against the 64-slot figure of
#      the same run shows whether one slot is round-trip bound.  Target:
#      5 µs per task.
#   2. memory: the scheduler's resident size before and after queueing a
#      1,000,000-task array (from /proc/self/status).  Target: at most
#      100 MB added.
#
# Prints figures only; nothing here asserts a timing.
#
#   tests/bench/bench_sched.sh [BUILD_DIR]   (default: build)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
rank=$build/bin/cluster-rank
[ -x "$rank" ] || { echo "bench_sched: build first: missing $rank" >&2; exit 1; }
n=${BENCH_TASKS:-200000}
big=${BENCH_QUEUED:-1000000}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-sched.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export CLUSTER_HOME=$tmp/home HOME=$tmp
mkdir -m 700 "$CLUSTER_HOME"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# run COUNT [CORES]: tasks/s from the first task end to the last (startup
# left out), with workers of CORES slots (default 64)
run() {
	mpirun -np 3 --oversubscribe "$rank" --set scheduler.host=127.0.0.1 \
		--name bench --no-bind --cores "${2:-64}" --bench-noop --bench-array "$1" \
		2>"$tmp/err" | sed -n 's/^tasks\/s after the first end: //p'
}

base=$(run $((n / 100)))
rate=$(run "$n")
one=$(run "$n" 1)
if [ -z "$base" ] || [ -z "$rate" ] || [ -z "$one" ]; then
	echo "bench_sched: a run failed:" >&2
	cat "$tmp/err" >&2
	exit 1
fi
awk -v n="$n" -v r="$rate" -v b="$base" -v bn=$((n / 100)) 'BEGIN {
	printf "throughput, %d tasks, 2 no-op workers:\n", n
	printf "  %.0f tasks/s, %.2f µs per task\n", r, 1e6 / r
	printf "  ratio to the 50000 tasks/s target: %.2f\n", r / 50000
	printf "  baseline %d tasks: %.0f tasks/s, %.2f µs per task\n", bn, b, 1e6 / b
	printf "  µs per task, %d vs %d tasks: %.2f\n", n, bn, b / r
}'
awk -v n="$n" -v o="$one" -v r="$rate" 'BEGIN {
	printf "one slot per worker, %d tasks, 2 no-op workers of 1 core:\n", n
	printf "  %.0f tasks/s, %.2f µs per task\n", o, 1e6 / o
	printf "  µs per task, 1 vs 64 slots: %.2f\n", r / o
	printf "  ratio to the 5 µs per task target: %.2f\n", (1e6 / o) / 5
}'

out=$(mpirun -np 1 "$rank" --set scheduler.host=127.0.0.1 --name rss \
	--bench-array "$big" --bench-rss 2>"$tmp/err")
before=$(printf '%s\n' "$out" | sed -n 's/^rss before: \([0-9]*\) kB/\1/p')
after=$(printf '%s\n' "$out" | sed -n 's/^rss after: \([0-9]*\) kB/\1/p')
if [ -z "$before" ] || [ -z "$after" ]; then
	echo "bench_sched: the memory run failed:" >&2
	cat "$tmp/err" >&2
	exit 1
fi
awk -v q="$big" -v a="$after" -v b="$before" 'BEGIN {
	added = (a - b) / 1024
	printf "memory, %d tasks queued as one array:\n", q
	printf "  scheduler RSS %.1f MB before, %.1f MB after: %.1f MB added\n", b / 1024, a / 1024, added
	printf "  ratio to the 100 MB target: %.3f\n", added / 100
	printf "  bytes per queued task: %.2f\n", (a - b) * 1024 / q
}'

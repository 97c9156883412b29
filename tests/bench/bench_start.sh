#!/bin/bash
# Start and finish: how long a run of one task takes around the task,
# against a launcher that starts and ends three processes that do
# nothing, measured in the same rounds.
#
#   baseline: `mpirun -np 3 /bin/true`
#   batch:    `mpirun -np 3 cluster-rank --run FILE`, FILE one line that
#             writes the time it ran: "to task" is the launch to that
#             line's start, "to exit" the launch to mpirun's end, and
#             "task to exit" what the run costs after its only task
#   local:    `cluster start` with the local profile and a kept target of
#             one worker, `submit` of the same line, `wait`, `stop`:
#             "to task" from the start command, "to exit" to the end of
#             stop
#
# The rows are interleaved (baseline, batch, local, baseline, ...) so a
# machine whose speed drifts moves them alike.  Prints min, median and
# max of each and the ratio of each median to the baseline's median,
# then the batch run's two goals (to the task within twice the baseline,
# task to exit under 50 ms) against the medians, and which bootstrap
# (PMIx, MPI) the batch ranks took.  Figures only: nothing here passes
# or fails on a timing.
#
#   tests/bench/bench_start.sh [BUILD_DIR]   (default: build)
#   BENCH_ROUNDS=R   rounds (default 10)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
rank=$build/bin/cluster-rank
cli=$build/bin/cluster
for b in "$rank" "$cli"; do
	[ -x "$b" ] || {
		echo "bench_start: build first (make bench-start): missing $b" >&2
		exit 1
	}
done
rounds=${BENCH_ROUNDS:-10}
case $rounds in
'' | *[!0-9]* | 0)
	echo "bench_start: BENCH_ROUNDS must be a positive number, not '$rounds'" >&2
	exit 1
	;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-start.XXXXXX")
started=
cleanup() {
	# a local scheduler left by a failed round
	[ -n "$started" ] && "$cli" "${local[@]}" stop --force >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export CLUSTER_HOME=$tmp/home HOME=$tmp
mkdir -m 700 "$CLUSTER_HOME"
unset CLUSTER_CONFIG CLUSTER_NAME CLUSTER_PROFILE
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
local=(--profile local --set scheduler.host=127.0.0.1 --name loc)

now() {
	date +%s.%N
}

fail() {
	echo "bench_start: $1" >&2
	[ $# -gt 1 ] && [ -s "$2" ] && sed 's/^/  /' "$2" >&2
	exit 1
}

# ms A B: milliseconds from A to B
ms() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}

mark=$tmp/ran
echo "date +%s.%N >>$mark" >"$tmp/one-task.txt"

# ran: the time the one task of the last round ran
ran() {
	[ -s "$mark" ] || return 1
	tail -1 "$mark"
}

base=() batch_task=() batch_exit=() batch_after=()
local_task=() local_exit=()

baseline_round() {
	local t0 t1
	t0=$(now)
	mpirun -np 3 /bin/true >/dev/null 2>"$tmp/err" || fail "mpirun /bin/true failed" "$tmp/err"
	t1=$(now)
	base+=("$(ms "$t0" "$t1")")
}

# batch_round N [OPTION...]
batch_round() {
	local t0 t1 t n=$1
	shift
	rm -f "$mark"
	t0=$(now)
	mpirun -np 3 "$rank" --set scheduler.host=127.0.0.1 --name "batch$n" \
		"$@" --run "$tmp/one-task.txt" >"$tmp/out" 2>"$tmp/err" ||
		fail "the batch run failed" "$tmp/err"
	t1=$(now)
	t=$(ran) || fail "the batch run's task did not run" "$tmp/out"
	batch_task+=("$(ms "$t0" "$t")")
	batch_exit+=("$(ms "$t0" "$t1")")
	batch_after+=("$(ms "$t" "$t1")")
}

local_round() {
	local t0 t1 t
	rm -f "$mark"
	t0=$(now)
	started=1
	"$cli" "${local[@]}" start >"$tmp/out" 2>"$tmp/err" ||
		fail "cluster start failed" "$tmp/err"
	"$cli" --name loc submit -- sh -c "date +%s.%N >>$mark" >"$tmp/out" 2>"$tmp/err" ||
		fail "cluster submit failed" "$tmp/err"
	"$cli" --name loc wait >"$tmp/out" 2>"$tmp/err" ||
		fail "cluster wait failed" "$tmp/err"
	"$cli" --name loc stop >"$tmp/out" 2>"$tmp/err" ||
		fail "cluster stop failed" "$tmp/err"
	t1=$(now)
	started=
	t=$(ran) || fail "the local task did not run"
	local_task+=("$(ms "$t0" "$t")")
	local_exit+=("$(ms "$t0" "$t1")")
}

# the local pool's kept target: one worker, from the first start on
mkdir -m 700 "$CLUSTER_HOME/loc"
echo '{"workers":1}' >"$CLUSTER_HOME/loc/target"

# one round unmeasured: first loads of the programs and libraries; its
# ranks say who told them where they are (PMIx, MPI)
baseline_round
batch_round 0 -v
boot=$(sed -n 's/.*debug: rank [0-9]* of 3, .* on this node, from //p' "$tmp/err" |
	sort | uniq -c | awk '{ printf "%s%s (%d ranks)", (NR > 1 ? ", " : ""), $2, $1 }')
local_round
base=() batch_task=() batch_exit=() batch_after=() local_task=() local_exit=()
for ((r = 1; r <= rounds; r++)); do
	baseline_round
	batch_round "$r"
	local_round
done

# stats MS...: min median max
stats() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%.1f %.1f %.1f\n", v[1], m, v[NR] }'
}

read -r _ bmed _ <<<"$(stats "${base[@]}")"
echo "bench_start: $rounds rounds, ms (min / median / max), ratio of the median to the baseline's"
echo "  batch ranks learn where they are from: ${boot:-?}"
row() {
	local label=$1 min med max
	shift
	read -r min med max <<<"$(stats "$@")"
	printf '  %-34s %8s %8s %8s   %5.2f\n' "$label" "$min" "$med" "$max" \
		"$(awk -v a="$med" -v b="$bmed" 'BEGIN { print (b > 0 ? a / b : 0) }')"
}
printf '  %-34s %8s %8s %8s   %5s\n' "" min median max ratio
row "mpirun -np 3 /bin/true" "${base[@]}"
row "batch: to the task" "${batch_task[@]}"
row "batch: to exit" "${batch_exit[@]}"
row "batch: task to exit" "${batch_after[@]}"
row "local start: to the task" "${local_task[@]}"
row "local start..stop: to exit" "${local_exit[@]}"
# goal LABEL VALUE LIMIT UNIT: one goal's line, met when VALUE < LIMIT
# (or equal, for a ratio)
goal() {
	awk -v l="$1" -v v="$2" -v m="$3" -v u="$4" 'BEGIN {
		met = u == "x" ? v <= m : v < m
		printf "  goal: %-32s %8.2f%s (%s %.2f%s): %s\n", l, v, u,
			u == "x" ? "at most" : "under", m, u, met ? "met" : "not met" }'
}
read -r _ tmed _ <<<"$(stats "${batch_task[@]}")"
read -r _ amed _ <<<"$(stats "${batch_after[@]}")"
goal "batch to the task, of baseline" \
	"$(awk -v a="$tmed" -v b="$bmed" 'BEGIN { print (b > 0 ? a / b : 0) }')" 2 x
goal "batch task to exit" "$amed" 50 " ms"

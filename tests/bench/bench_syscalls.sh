#!/bin/bash
# System calls per task in a worker: a real worker (`cluster worker`,
# under `strace -f`) runs N `/bin/true` tasks (default 200) from a real
# scheduler (a head job `mpirun -np 1 cluster-rank`, scheduler only), and
# the calls made between the submit and the end of `cluster wait` are
# counted per task: the worker's own, and those of the task processes
# from their clone to their exit (posix_spawn's child side, then
# /bin/true).  Once per task.output (worker-log, the default, and files).
#
# With a second build directory (say, a build of an earlier commit), the
# same is counted for it and both are printed side by side: the before
# and after of a change.  Counts only: nothing here passes or fails.
#
#   tests/bench/bench_syscalls.sh [BUILD_DIR [BASELINE_BUILD_DIR]]
#   BENCH_SYSCALL_TASKS=N   tasks per count (default 200)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
base=${2:-}
n=${BENCH_SYSCALL_TASKS:-200}
case $n in
'' | *[!0-9]* | 0)
	echo "bench_syscalls: BENCH_SYSCALL_TASKS must be a positive number, not '$n'" >&2
	exit 1
	;;
esac
command -v strace >/dev/null || {
	echo "bench_syscalls: strace is not installed (apt-get install strace); skipped"
	exit 0
}
command -v mpirun >/dev/null || {
	echo "bench_syscalls: mpirun is not installed; skipped"
	exit 0
}
for b in "$build" ${base:+"$base"}; do
	[ -x "$b/bin/cluster" ] && [ -x "$b/bin/cluster-rank" ] || {
		echo "bench_syscalls: build first: missing $b/bin/cluster or cluster-rank" >&2
		exit 1
	}
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-syscalls.XXXXXX")
pgids=()
cleanup() {
	local pg
	for pg in "${pgids[@]}"; do
		kill -TERM -- "-$pg" 2>/dev/null
	done
	sleep 0.5
	for pg in "${pgids[@]}"; do
		kill -KILL -- "-$pg" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export CLUSTER_HOME=$tmp/home HOME=$tmp
mkdir -m 700 "$CLUSTER_HOME"
unset CLUSTER_CONFIG
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

fail() {
	echo "bench_syscalls: $1" >&2
	[ $# -gt 1 ] && [ -s "$2" ] && sed 's/^/  /' "$2" >&2
	exit 1
}

wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

now() {
	date +%s.%N
}

# count BUILD OUTPUT LABEL: one scheduler, one traced worker, N tasks;
# prints "LABEL worker-calls child-calls worker-prlimit child-prlimit
# top-worker top-child" (per task) to $tmp/counts.
count() {
	local bin=$1/bin output=$2 label=$3 name=c$RANDOM head_pg wk_pg t0 t1
	local set=(--set scheduler.host=127.0.0.1)
	# an earlier build without the key writes files, as this one with
	# task.output=files
	[ -n "$output" ] && set+=(--set "task.output=$output")
	setsid mpirun -np 1 "$bin/cluster-rank" --no-bind "${set[@]}" --name "$name" \
		>"$tmp/head.out" 2>"$tmp/head.err" &
	head_pg=$!
	pgids+=("$head_pg")
	wait_until 60 test -s "$CLUSTER_HOME/$name/address" ||
		fail "the scheduler did not publish its address" "$tmp/head.err"
	setsid strace -f -qq -ttt -o "$tmp/trace" "$bin/cluster" --name "$name" \
		"${set[@]}" worker --cores 2 --name traced >"$tmp/wk.out" 2>"$tmp/wk.err" &
	wk_pg=$!
	pgids+=("$wk_pg")
	wait_until 60 grep -q "joined" "$tmp/head.err" ||
		fail "the traced worker did not join" "$tmp/head.err"
	t0=$(now)
	"$bin/cluster" --name "$name" submit --array "1-$n" -- /bin/true >/dev/null ||
		fail "cluster submit failed"
	"$bin/cluster" --name "$name" wait >/dev/null 2>"$tmp/wait.err" ||
		fail "cluster wait failed" "$tmp/wait.err"
	t1=$(now)
	"$bin/cluster" --name "$name" stop >/dev/null 2>&1
	wait_until 30 bash -c "! kill -0 $wk_pg 2>/dev/null" || kill -KILL -- "-$wk_pg" 2>/dev/null
	wait_until 30 bash -c "! kill -0 $head_pg 2>/dev/null" || kill -KILL -- "-$head_pg" 2>/dev/null
	awk -v t0="$t0" -v t1="$t1" -v n="$n" -v label="$label" '
	NR == 1 { worker = $1 }
	$2 + 0 >= t0 && $2 + 0 <= t1 {
		name = $3
		sub(/\(.*/, "", name)
		if (name !~ /^[a-z_0-9]+$/)
			next		# "<... resumed>", signals, exits
		if ($1 == worker) { w[name]++; wn++ } else { c[name]++; cn++ }
	}
	function top(a, total,    k, s, best, bk, i, out) {
		out = ""
		for (i = 0; i < 6; i++) {
			best = 0; bk = ""
			for (k in a) if (a[k] > best) { best = a[k]; bk = k }
			if (bk == "") break
			out = out sprintf("%s%s %.1f", out == "" ? "" : ", ", bk, best / n)
			delete a[bk]
		}
		return out
	}
	END {
		printf "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\n", label, wn / n, cn / n,
			w["prlimit64"] / n, c["prlimit64"] / n, top(w, wn), top(c, cn)
	}' "$tmp/trace" >>"$tmp/counts"
}

: >"$tmp/counts"
count "$build" worker-log worker-log
count "$build" files files
[ -n "$base" ] && count "$base" "" "baseline (files)"

echo "system calls per task in a worker, $n x /bin/true, strace -f, between submit and the end of wait:"
awk -F '\t' '{
	printf "  %-22s worker %5.1f (prlimit64 %.1f), task process %5.1f (prlimit64 %.1f)\n", $1, $2, $4, $3, $5
	printf "  %-22s   worker: %s\n", "", $6
	printf "  %-22s   task:   %s\n", "", $7
}' "$tmp/counts"

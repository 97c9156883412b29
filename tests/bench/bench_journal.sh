#!/bin/bash
# The journal's cost to the scheduler, and its replay.
#
#   1. throughput: two head jobs side by side, `mpirun -np 3 cluster-rank
#      --bench-noop` (the scheduler rank and 2 workers that report each
#      RUN done at once, nothing spawned), one with the journal on (the
#      default), one with journal.enabled=false; rounds alternate an
#      array of N tasks (default 100,000) through each, from `cluster
#      submit` to the end of `cluster wait`.  The figure is the rate with
#      the journal against the rate without it, same run (target: at
#      least 0.9): the best of each, and the median of the rounds' own
#      ratios, which a machine whose load changes moves less; and the
#      scheduler loop's own CPU time a task, on and off (its thread's
#      schedstat), which load moves less still.
#   2. replay: bench_journal, a journal of 1,000,000 finished tasks
#      replayed, compacted and replayed again: time, RSS, sizes; the
#      compaction on the caller's thread and as the scheduler does it,
#      with the loop's longest stall during it.
#
# Prints figures only; nothing here asserts a timing.
#
#   tests/bench/bench_journal.sh [BUILD_DIR]   (default: build)
#   BENCH_JOURNAL_TASKS=N, BENCH_ROUNDS=R (default 3), BENCH_REPLAY=M,
#   BENCH_JOURNAL_KEEP=FILE (a copy of the journal, to look at)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
rank=$build/bin/cluster-rank
cli=$build/bin/cluster
replay=$build/bench/bench_journal
for b in "$rank" "$cli" "$replay"; do
	[ -x "$b" ] || {
		echo "bench_journal: build first (make bench): missing $b" >&2
		exit 1
	}
done
n=${BENCH_JOURNAL_TASKS:-100000}
rounds=${BENCH_ROUNDS:-3}
for v in "$n" "$rounds"; do
	case $v in
	'' | *[!0-9]* | 0)
		echo "bench_journal: BENCH_JOURNAL_TASKS and BENCH_ROUNDS must be positive numbers" >&2
		exit 1
		;;
	esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-journal.XXXXXX")
pgids=()
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}
stop() {
	local pg=$1 pids i
	pids=$(descendants "$pg")
	kill -TERM -- "-$pg" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 -- "-$pg" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pg" $pids 2>/dev/null
	return 0
}
cleanup() {
	local pg
	for pg in "${pgids[@]}"; do
		stop "$pg"
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
	echo "bench_journal: $1" >&2
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
joined() {
	[ "$(grep -c joined "$1")" -ge 2 ]
}
now() {
	date +%s.%N
}
best() {
	printf '%s\n' "$@" | sort -g | tail -1
}
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# head NAME [--set ...]: a head job of 2 no-op workers, serving.
head() {
	local name=$1
	shift
	setsid mpirun --oversubscribe -np 3 "$rank" --set scheduler.host=127.0.0.1 \
		--no-bind --cores 64 --bench-noop --name "$name" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	pgids+=("$!")
	wait_until 60 test -s "$CLUSTER_HOME/$name/address" ||
		fail "head job $name did not publish its address" "$tmp/$name.err"
	wait_until 60 joined "$tmp/$name.err" ||
		fail "the 2 workers of $name did not join" "$tmp/$name.err"
}

# The CPU time, in ns, of the scheduler loop of head job NAME (its main
# thread: the journal's own thread only syncs) and of all its threads.
sched_pid() {
	sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/$1/address"
}
loop_ns() {
	awk '{ printf "%.0f", $1 }' "/proc/$1/task/$1/schedstat"
}
all_ns() {
	cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'
}

# round NAME: tasks/s of one array through it, in $tmp/submit.ms how
# long its submit took (it waits for the submission's sync), and in
# $tmp/cpu the scheduler's CPU per task, loop and all threads, in us
round() {
	local t0 t1 t2 pid l0 a0
	pid=$(sched_pid "$1")
	l0=$(loop_ns "$pid")
	a0=$(all_ns "$pid")
	t0=$(now)
	"$cli" --name "$1" submit --array "1-$n" --stdout /dev/null \
		--stderr /dev/null -- true >/dev/null 2>"$tmp/submit.err" ||
		fail "cluster submit failed" "$tmp/submit.err"
	t1=$(now)
	"$cli" --name "$1" wait >/dev/null 2>"$tmp/wait.err" ||
		fail "cluster wait failed" "$tmp/wait.err"
	t2=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }' >"$tmp/submit.ms"
	awk -v n="$n" -v l0="$l0" -v l1="$(loop_ns "$pid")" -v a0="$a0" \
		-v a1="$(all_ns "$pid")" \
		'BEGIN { printf "%.3f %.3f", (l1 - l0) / 1e3 / n, (a1 - a0) / 1e3 / n }' >"$tmp/cpu"
	awk -v n="$n" -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", n / (b - a) }'
}

head jon
head joff --set journal.enabled=false
[ -s "$CLUSTER_HOME/jon/journal" ] || fail "the journalled head job has no journal"
[ ! -e "$CLUSTER_HOME/joff/journal" ] || fail "journal.enabled=false wrote a journal"
ons=() offs=() ratios=() cpu_on=() cpu_off=() thr_on=()
for ((r = 1; r <= rounds; r++)); do
	offs+=("$(round joff)")
	off_ms=$(cat "$tmp/submit.ms")
	read -r off_loop off_all <"$tmp/cpu"
	ons+=("$(round jon)")
	on_ms=$(cat "$tmp/submit.ms")
	read -r on_loop on_all <"$tmp/cpu"
	cpu_off+=("$off_loop")
	cpu_on+=("$on_loop")
	thr_on+=("$(awk -v a="$on_all" -v l="$on_loop" 'BEGIN { printf "%.3f", a - l }')")
	ratios+=("$(awk -v a="${ons[-1]}" -v b="${offs[-1]}" 'BEGIN { printf "%.3f", a / b }')")
	echo "round $r: journal off ${offs[-1]}, on ${ons[-1]} tasks/s, ratio ${ratios[-1]}; submit $off_ms, $on_ms ms; loop CPU $off_loop, $on_loop us a task"
done
mean() {
	printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.3f", s / NR }'
}
size=$(stat -c %s "$CLUSTER_HOME/jon/journal")
awk -v n="$n" -v r="$rounds" -v on="$(best "${ons[@]}")" \
	-v off="$(best "${offs[@]}")" -v size="$size" \
	-v med="$(median "${ratios[@]}")" 'BEGIN {
	printf "no-spawn throughput, %d tasks a round, 2 no-op workers, best of %d:\n", n, r
	printf "  journal off: %8.0f tasks/s (baseline)\n", off
	printf "  journal on:  %8.0f tasks/s, ratio %.3f (target >= 0.9)\n", on, on / off
	printf "  median ratio of the rounds: %.3f\n", med
	printf "  journal after %d rounds: %.1f MB, %.0f bytes per task\n", r, size / 1e6, size / (n * r)
}'
awk -v on="$(mean "${cpu_on[@]}")" -v off="$(mean "${cpu_off[@]}")" \
	-v thr="$(mean "${thr_on[@]}")" 'BEGIN {
	printf "  scheduler loop CPU, mean of the rounds: off %.3f us a task, on %.3f (%.3f of off); the journal thread %.3f\n", off, on, on / off, thr
}'
lines=$(wc -l <"$CLUSTER_HOME/jon/journal")
awk -v n="$n" -v r="$rounds" -v l="$lines" 'BEGIN {
	printf "  records: %d, %.3f a task\n", l, l / (n * r)
}'
[ -n "${BENCH_JOURNAL_KEEP:-}" ] && cp "$CLUSTER_HOME/jon/journal" "$BENCH_JOURNAL_KEEP"
for pg in "${pgids[@]}"; do
	stop "$pg"
done
pgids=()

"$replay" "${BENCH_REPLAY:-1000000}" "$tmp" || fail "bench_journal failed"

#!/bin/bash
# Command tasks end to end: N tasks of /bin/true (default 2000) through the
# whole system, against a bare posix_spawn + waitpid loop with the same
# parallelism, measured in the same run.
#
#   head:   a head job `mpirun -np 3 cluster-rank --no-bind --cores 1`
#           (the scheduler rank and 2 workers of 1 core: parallelism 2);
#           wall time from `cluster submit --array 1-N -- /bin/true` to the
#           end of `cluster wait`, both over the HTTP API on 127.0.0.1.
#   batch:  the same job shape with `--run FILE`, FILE holding N lines of
#           /bin/true; the job's own wall time (submit to the last task's
#           end, from its summary).
#   bare:   bench_spawn's posix_spawn loop, parallelism 2 (its figure for
#           the worker's executor alone is printed too).
#
# Prints rates in tasks/s and each ratio to the bare loop next to the 0.9
# target.  Figures only: nothing here passes or fails on a timing.
#
#   tests/bench/bench_commands.sh [BUILD_DIR]   (default: build)
#   BENCH_COMMANDS=N   number of tasks
#   BENCH_ROUNDS=R     rounds, best of each kept (default 3)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
rank=$build/bin/cluster-rank
cli=$build/bin/cluster
spawn=$build/bench/bench_spawn
for b in "$rank" "$cli" "$spawn"; do
	[ -x "$b" ] || {
		echo "bench_commands: build first (make bench): missing $b" >&2
		exit 1
	}
done
n=${BENCH_COMMANDS:-2000}
case $n in
'' | *[!0-9]* | 0)
	echo "bench_commands: BENCH_COMMANDS must be a positive number, not '$n'" >&2
	exit 1
	;;
esac
rounds=${BENCH_ROUNDS:-3}
case $rounds in
'' | *[!0-9]* | 0)
	echo "bench_commands: BENCH_ROUNDS must be a positive number, not '$rounds'" >&2
	exit 1
	;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-commands.XXXXXX")
pgids=()
cleanup() {
	local pg i
	for pg in "${pgids[@]}"; do
		kill -TERM -- "-$pg" 2>/dev/null || continue
		for ((i = 0; i < 50; i++)); do
			kill -0 -- "-$pg" 2>/dev/null || break
			sleep 0.1
		done
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
opts=(--set scheduler.host=127.0.0.1 --no-bind --cores 1)

now() {
	date +%s.%N
}

fail() {
	echo "bench_commands: $1" >&2
	[ $# -gt 1 ] && [ -s "$2" ] && sed 's/^/  /' "$2" >&2
	exit 1
}

# wait_until TIMEOUT COMMAND...: poll every 50 ms.
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

# best RATE...: the highest of the figures.
best() {
	printf '%s\n' "$@" | sort -g | tail -1
}

# bare_round: bench_spawn's bare loop and its executor figure, one round.
bare_round() {
	local out b e
	out=$("$spawn" "$n" 2 1) || fail "bench_spawn failed"
	b=$(printf '%s\n' "$out" | sed -n 's/.*bare posix_spawn \([0-9.]*\) tasks\/s.*/\1/p')
	e=$(printf '%s\n' "$out" | sed -n 's/.*, exec \([0-9.]*\) tasks\/s.*/\1/p')
	[ -n "$b" ] && [ -n "$e" ] || fail "cannot read bench_spawn's figures: $out"
	bares+=("$b")
	execs+=("$e")
}

# head_round: one array through the running head job, submit to wait.
head_round() {
	local t0 t1 t2
	t0=$(now)
	"$cli" --name head submit --array "1-$n" -- /bin/true >"$tmp/submit.out" \
		2>"$tmp/submit.err" || fail "cluster submit failed" "$tmp/submit.err"
	t1=$(now)
	"$cli" --name head wait >"$tmp/wait.out" 2>"$tmp/wait.err" ||
		fail "cluster wait failed" "$tmp/wait.err"
	t2=$(now)
	heads+=("$(awk -v n="$n" -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", n / (b - a) }')")
	submits+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
}

# batch_round: one batch job over the task file; its own wall time.
batch_round() {
	local pg t0 t1 done_n wall
	rm -rf "$CLUSTER_HOME/batch"
	t0=$(now)
	setsid mpirun --oversubscribe -np 3 "$rank" "${opts[@]}" --name batch \
		--run "$tmp/tasks.txt" >"$tmp/batch.out" 2>"$tmp/batch.err" &
	pg=$!
	pgids+=("$pg")
	wait "$pg" || fail "the batch job failed" "$tmp/batch.err"
	t1=$(now)
	done_n=$(sed -n 's/^done: //p' "$tmp/batch.out")
	wall=$(sed -n 's/^wall time: \([0-9.]*\) s$/\1/p' "$tmp/batch.out")
	[ "$done_n" = "$n" ] && [ -n "$wall" ] ||
		fail "the batch job did not report $n tasks done" "$tmp/batch.out"
	batches+=("$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.1f", n / w }')")
	jobs_s+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')")
}

bares=() execs=() heads=() submits=() batches=() jobs_s=()
for ((i = 0; i < n; i++)); do
	echo /bin/true
done >"$tmp/tasks.txt"

# Rounds alternate the bare loop and the two runs through the system, so
# a change in the machine's load hits all of them; the best of each is
# compared.
setsid mpirun --oversubscribe -np 3 "$rank" "${opts[@]}" --name head \
	>"$tmp/head.out" 2>"$tmp/head.err" &
head_pg=$!
pgids+=("$head_pg")
wait_until 60 test -s "$CLUSTER_HOME/head/address" ||
	fail "the head job did not publish its address" "$tmp/head.err"
wait_until 60 joined "$tmp/head.err" ||
	fail "the head job's 2 workers did not join" "$tmp/head.err"
for ((r = 1; r <= rounds; r++)); do
	bare_round
	head_round
	batch_round
	echo "round $r: bare ${bares[-1]}, head job ${heads[-1]}, batch job ${batches[-1]} tasks/s"
done
mpirun_pid=$(pgrep -g "$head_pg" -x mpirun | head -1)
[ -n "$mpirun_pid" ] && kill -TERM "$mpirun_pid"
wait_until 30 bash -c "! kill -0 -- -$head_pg 2>/dev/null"

bare=$(best "${bares[@]}")
exec_rate=$(best "${execs[@]}")
head_rate=$(best "${heads[@]}")
submit_ms=$(printf '%s\n' "${submits[@]}" | sort -g | head -1)
batch_rate=$(best "${batches[@]}")
job_s=$(printf '%s\n' "${jobs_s[@]}" | sort -g | head -1)

awk -v n="$n" -v rounds="$rounds" -v bare="$bare" -v ex="$exec_rate" -v head="$head_rate" \
	-v sub_ms="$submit_ms" -v batch="$batch_rate" -v job="$job_s" 'BEGIN {
	printf "command tasks, %d x /bin/true, parallelism 2 (2 workers of 1 core), best of %d rounds:\n", n, rounds
	printf "  bare posix_spawn loop:          %7.0f tasks/s (baseline)\n", bare
	printf "  worker executor alone:          %7.0f tasks/s, ratio %.3f\n", ex, ex / bare
	printf "  head job, submit --array + wait: %6.0f tasks/s, ratio %.3f (target 0.9); submit took %.0f ms\n", head, head / bare, sub_ms
	printf "  batch job, --run FILE:          %7.0f tasks/s, ratio %.3f (target 0.9); whole mpirun %.2f s\n", batch, batch / bare, job
}'

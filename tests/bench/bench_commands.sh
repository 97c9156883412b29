#!/bin/bash
# Command tasks end to end: N tasks of /bin/true (default 2000) through the
# whole system, against a bare posix_spawn + waitpid loop with the same
# parallelism, measured in the same run.
#
#   bare:   bench_spawn's posix_spawn loop, parallelism 2 (its figure for
#           the worker's executor alone is printed too); and the same loop
#           giving each task new files ID.out and ID.err, as a worker does
#           by default: creating files costs far more than spawning on some
#           file systems, so the default runs are compared with that too.
#   head:   a head job `mpirun -np 3 cluster-rank --no-bind --cores 1`
#           (the scheduler rank and 2 workers of 1 core: parallelism 2);
#           wall time from `cluster submit --array 1-N -- /bin/true` to the
#           end of `cluster wait`, both over the HTTP API on 127.0.0.1.
#           Once with each task's output in logs/ID.out and ID.err, the
#           default, once with --stdout and --stderr /dev/null, as the bare
#           loop has it.
#   journal: the same round through a second head job with
#           journal.enabled=false, against the first (journal on, the
#           default), same rounds: the journal's cost on command tasks.
#   batch:  the same job shape with `--run FILE`; the job's own wall time
#           from its summary (submit, which comes before the workers start,
#           to the last task's end).  FILE holds N lines of `/bin/true`
#           (run directly), or N lines of `exec /bin/true` (run through
#           /bin/sh -c: sh, then true, as every line ran before simple
#           lines skipped the shell).  A job of one line gives the start-up
#           time, and N - 1 tasks over the difference the rate without it.
#           Task output goes to the worker logs (task.output: worker-log,
#           the default); the direct lines once more with task.output:
#           files, as every run had it before.
#   1 KiB:  N batch tasks that each write 1 KiB
#           (/usr/bin/head -c 1024 /dev/zero), default output, against
#           the bare loop running the same command into new per-task files.
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

# descendants PID: every process below PID (ranks and workers put
# themselves in groups of their own, so a group kill misses them).
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# stop PGID: TERM the job started in that group, then KILL what is left
# of it and of its descendants after 5 s.
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
	# The same loop writing new per-task files, as a worker does by default.
	mkdir -p "$tmp/bare-logs/$1"
	out=$("$spawn" "$n" 2 1 "$tmp/bare-logs/$1") || fail "bench_spawn with log files failed"
	b=$(printf '%s\n' "$out" | sed -n 's/.*per-task log files \([0-9.]*\) tasks\/s.*/\1/p')
	[ -n "$b" ] || fail "cannot read bench_spawn's figure: $out"
	bare_logs+=("$b")
}

# head_round NAME [SUBMIT_OPTION...]: one array through the running head
# job, submit to wait; appends tasks/s to the array NAME.
head_round() {
	local t0 t1 t2
	local -n rates=$1
	shift
	t0=$(now)
	"$cli" --name "${head_name:-head}" submit --array "1-$n" "$@" -- /bin/true \
		>"$tmp/submit.out" 2>"$tmp/submit.err" ||
		fail "cluster submit failed" "$tmp/submit.err"
	t1=$(now)
	"$cli" --name "${head_name:-head}" wait >"$tmp/wait.out" 2>"$tmp/wait.err" ||
		fail "cluster wait failed" "$tmp/wait.err"
	t2=$(now)
	rates+=("$(awk -v n="$n" -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", n / (b - a) }')")
	[ -n "${head_name:-}" ] || submits+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
}

# batch_round FILE NAME [OPTION...]: one batch job over FILE; appends its
# wall time (seconds) to the array NAME.
batch_round() {
	local file=$1 pg t0 t1 done_n want wall
	local -n walls=$2
	shift 2
	want=$(wc -l <"$file")
	# A state directory per job: deleting the last job's thousands of log
	# files here would load the file system during the next job.
	batch_n=$((batch_n + 1))
	t0=$(now)
	setsid mpirun --oversubscribe -np 3 "$rank" "${opts[@]}" "$@" \
		--name "batch$batch_n" --run "$file" >"$tmp/batch.out" 2>"$tmp/batch.err" &
	pg=$!
	pgids+=("$pg")
	wait "$pg" || fail "the batch job failed" "$tmp/batch.err"
	t1=$(now)
	done_n=$(sed -n 's/^done: //p' "$tmp/batch.out")
	wall=$(sed -n 's/^wall time: \([0-9.]*\) s$/\1/p' "$tmp/batch.out")
	[ "$done_n" = "$want" ] && [ -n "$wall" ] ||
		fail "the batch job did not report $want tasks done" "$tmp/batch.out"
	walls+=("$wall")
	jobs_s+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')")
}

# rate N WALL [START]: tasks/s, N over WALL (minus START: N - 1 tasks).
rate() {
	awk -v n="$1" -v w="$2" -v s="${3:-}" 'BEGIN {
		if (s != "") { n--; w -= s }
		printf "%.1f", (w > 0 ? n / w : 0) }'
}

bares=() execs=() heads=() heads_nj=() nulls=() submits=() jobs_s=() bare_logs=()
files_w=() files_r=() kib_w=() kib_r=() bare_kib=()
writer="/usr/bin/head -c 1024 /dev/zero"
batch_n=0
direct_w=() shell_w=() one_w=()
direct_r=() shell_r=() direct_s=() shell_s=()
echo /bin/true >"$tmp/one.txt"
for ((i = 0; i < n; i++)); do
	echo /bin/true
done >"$tmp/direct.txt"
for ((i = 0; i < n; i++)); do
	echo exec /bin/true
done >"$tmp/shell.txt"
for ((i = 0; i < n; i++)); do
	echo "$writer"
done >"$tmp/kib.txt"

# bare_kib_round R: the bare loop running the 1 KiB writer into new
# per-task files.
bare_kib_round() {
	local out b
	mkdir -p "$tmp/bare-kib/$1"
	out=$(BENCH_SPAWN_COMMAND=$writer "$spawn" "$n" 2 1 "$tmp/bare-kib/$1") ||
		fail "bench_spawn with the 1 KiB writer failed"
	b=$(printf '%s\n' "$out" | sed -n 's/.*per-task log files \([0-9.]*\) tasks\/s.*/\1/p')
	[ -n "$b" ] || fail "cannot read bench_spawn's figure: $out"
	bare_kib+=("$b")
}

# Rounds alternate the bare loop and the runs through the system, so a
# change in the machine's load hits all of them; the best of each is
# compared.
setsid mpirun --oversubscribe -np 3 "$rank" "${opts[@]}" --name head \
	>"$tmp/head.out" 2>"$tmp/head.err" &
head_pg=$!
pgids+=("$head_pg")
wait_until 60 test -s "$CLUSTER_HOME/head/address" ||
	fail "the head job did not publish its address" "$tmp/head.err"
wait_until 60 joined "$tmp/head.err" ||
	fail "the head job's 2 workers did not join" "$tmp/head.err"
setsid mpirun --oversubscribe -np 3 "$rank" "${opts[@]}" --name nojournal \
	--set journal.enabled=false >"$tmp/nj.out" 2>"$tmp/nj.err" &
nj_pg=$!
pgids+=("$nj_pg")
wait_until 60 test -s "$CLUSTER_HOME/nojournal/address" ||
	fail "the head job without a journal did not publish its address" "$tmp/nj.err"
wait_until 60 joined "$tmp/nj.err" ||
	fail "the 2 workers of the head job without a journal did not join" "$tmp/nj.err"
[ ! -e "$CLUSTER_HOME/nojournal/journal" ] ||
	fail "journal.enabled=false wrote a journal"
for ((r = 1; r <= rounds; r++)); do
	bare_round "$r"
	head_name=nojournal head_round heads_nj
	head_round heads
	head_round nulls --stdout /dev/null --stderr /dev/null
	batch_round "$tmp/one.txt" one_w
	batch_round "$tmp/direct.txt" direct_w
	batch_round "$tmp/shell.txt" shell_w
	batch_round "$tmp/direct.txt" files_w --set task.output=files
	files_r+=("$(rate "$n" "${files_w[-1]}")")
	bare_kib_round "$r"
	batch_round "$tmp/kib.txt" kib_w
	kib_r+=("$(rate "$n" "${kib_w[-1]}")")
	direct_r+=("$(rate "$n" "${direct_w[-1]}")")
	shell_r+=("$(rate "$n" "${shell_w[-1]}")")
	direct_s+=("$(rate "$n" "${direct_w[-1]}" "${one_w[-1]}")")
	shell_s+=("$(rate "$n" "${shell_w[-1]}" "${one_w[-1]}")")
	echo "round $r: bare ${bares[-1]} (with log files ${bare_logs[-1]}), head job ${heads[-1]} (journal off ${heads_nj[-1]}, /dev/null ${nulls[-1]})," \
		"batch direct ${direct_r[-1]}, batch shell ${shell_r[-1]} tasks/s;" \
		"1-line batch ${one_w[-1]} s; batch with files ${files_r[-1]};" \
		"1 KiB: bare into files ${bare_kib[-1]}, batch ${kib_r[-1]}"
done
stop "$head_pg"
stop "$nj_pg"

least() {
	printf '%s\n' "$@" | sort -g | head -1
}

awk -v n="$n" -v rounds="$rounds" -v bare="$(best "${bares[@]}")" \
	-v ex="$(best "${execs[@]}")" -v head="$(best "${heads[@]}")" \
	-v null="$(best "${nulls[@]}")" -v nj="$(best "${heads_nj[@]}")" -v barel="$(best "${bare_logs[@]}")" \
	-v sub_ms="$(least "${submits[@]}")" \
	-v dr="$(best "${direct_r[@]}")" -v sr="$(best "${shell_r[@]}")" \
	-v ds="$(best "${direct_s[@]}")" -v ss="$(best "${shell_s[@]}")" \
	-v one="$(least "${one_w[@]}")" -v fr="$(best "${files_r[@]}")" \
	-v bk="$(best "${bare_kib[@]}")" -v kr="$(best "${kib_r[@]}")" 'BEGIN {
	printf "command tasks, %d x /bin/true, parallelism 2 (2 workers of 1 core), best of %d rounds:\n", n, rounds
	printf "  bare posix_spawn loop:             %6.0f tasks/s (baseline)\n", bare
	printf "  worker executor alone:             %6.0f tasks/s, ratio %.3f\n", ex, ex / bare
	printf "  head job, submit --array + wait:   %6.0f tasks/s, ratio %.3f (target 0.9); submit %.0f ms\n", head, head / bare, sub_ms
	printf "  head job, journal off:             %6.0f tasks/s; journal on against it: ratio %.3f (target 1)\n", nj, head / nj
	printf "  head job, output to /dev/null:     %6.0f tasks/s, ratio %.3f\n", null, null / bare
	printf "  bare loop, new per-task log files: %6.0f tasks/s (baseline for the default)\n", barel
	printf "  head job (default logs) against it:        ratio %.3f\n", head / barel
	printf "  batch --run against it:                    ratio %.3f\n", dr / barel
	printf "  batch --run, direct lines:         %6.0f tasks/s, ratio %.3f (target 0.9)\n", dr, dr / bare
	printf "  batch --run, lines through sh:     %6.0f tasks/s, ratio %.3f\n", sr, sr / bare
	printf "  batch start-up (a 1-line job):     %6.3f s\n", one
	printf "  batch, direct, without start-up:   %6.0f tasks/s, ratio %.3f (target 0.9)\n", ds, ds / bare
	printf "  batch, through sh, without it:     %6.0f tasks/s, ratio %.3f\n", ss, ss / bare
	printf "  direct lines vs through sh:        %6.2fx (with start-up), %.2fx (without)\n", dr / sr, ds / ss
	printf "  batch --run, task.output=files:    %6.0f tasks/s, ratio %.3f; worker log %.2fx of it\n", fr, fr / bare, dr / fr
	printf "  1 KiB each, bare loop into files:  %6.0f tasks/s (baseline for the next)\n", bk
	printf "  1 KiB each, batch --run:           %6.0f tasks/s, ratio %.3f (target 1)\n", kr, kr / bk
}'

#!/bin/bash
# System calls per task in a worker: a real worker (`cluster worker`,
# under `strace -f`) runs N `/bin/true` tasks (default 200) from a real
# scheduler (a head job `mpirun -np 1 cluster-rank`, scheduler only), and
# the calls made between the submit and the end of `cluster wait` are
# counted per task: the worker's own, and those of the task processes
# from their clone to their exit (posix_spawn's child side, then
# /bin/true).  Once per task.output (worker-log, the default, and files),
# and for tasks that write, into the worker log: 1 KiB and 200 kB each
# (more than a pipe holds).
#
# Printed per call name, one column per count: the worker's own calls
# and the task processes'.  With a second build directory (say, a build
# of an earlier commit), its default path is counted too (/bin/true and
# the tasks that write) and a last column gives the change of the
# default path for /bin/true, call by call: the before and after of a
# change.  Counts only: nothing here passes or fails.
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

# count BUILD OUTPUT LABEL [COMMAND...]: one scheduler, one traced
# worker, N tasks of COMMAND (/bin/true without one);
# appends "LABEL worker-calls child-calls worker-prlimit child-prlimit"
# (per task) to $tmp/counts, and each call name's count per task to
# $tmp/worker.K and $tmp/task.K (K: the count's number, from 1).
ncounts=0
count() {
	local bin=$1/bin output=$2 label=$3 name=c$RANDOM head_pg wk_pg t0 t1
	local set=(--set scheduler.host=127.0.0.1) cmd=(/bin/true)
	shift 3
	[ $# -gt 0 ] && cmd=("$@")
	ncounts=$((ncounts + 1))
	# an earlier build without the key is counted with its own default
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
	"$bin/cluster" --name "$name" submit --array "1-$n" -- "${cmd[@]}" >/dev/null ||
		fail "cluster submit failed"
	"$bin/cluster" --name "$name" wait >/dev/null 2>"$tmp/wait.err" ||
		fail "cluster wait failed" "$tmp/wait.err"
	t1=$(now)
	"$bin/cluster" --name "$name" stop >/dev/null 2>&1
	wait_until 30 bash -c "! kill -0 $wk_pg 2>/dev/null" || kill -KILL -- "-$wk_pg" 2>/dev/null
	wait_until 30 bash -c "! kill -0 $head_pg 2>/dev/null" || kill -KILL -- "-$head_pg" 2>/dev/null
	awk -v t0="$t0" -v t1="$t1" -v n="$n" -v label="$label" \
		-v wfile="$tmp/worker.$ncounts" -v cfile="$tmp/task.$ncounts" '
	NR == 1 { worker = $1 }
	$2 + 0 >= t0 && $2 + 0 <= t1 {
		name = $3
		sub(/\(.*/, "", name)
		if (name !~ /^[a-z_0-9]+$/)
			next		# "<... resumed>", signals, exits
		if ($1 == worker) { w[name]++; wn++ } else { c[name]++; cn++ }
	}
	END {
		printf "%s\t%.1f\t%.1f\t%.1f\t%.1f\n", label, wn / n, cn / n,
			w["prlimit64"] / n, c["prlimit64"] / n
		for (k in w)
			printf "%s %.2f\n", k, w[k] / n >wfile
		for (k in c)
			printf "%s %.2f\n", k, c[k] / n >cfile
	}' "$tmp/trace" >>"$tmp/counts"
	touch "$tmp/worker.$ncounts" "$tmp/task.$ncounts"
}

# table WHO TITLE: one row per call name, one column per count, largest
# first; names under 0.05 a task in every count are left out.  With a
# baseline, the last column is the change of the default path (the first
# count against the baseline's).
table() {
	local who=$1 k files=()
	for ((k = 1; k <= ncounts; k++)); do
		files+=("$tmp/$who.$k")
	done
	echo
	echo "$2 (calls per task):"
	awk -v nc="$ncounts" -v base="${base:+$((ncounts - 2))}" -v labels="$(cut -f1 "$tmp/counts" | paste -sd '\t')" '
	FNR == 1 { f++ }
	{ v[$1, f] = $2; names[$1] = 1; tot[f] += $2 }
	END {
		split(labels, lab, "\t")
		line = sprintf("  %-16s", "call")
		for (k = 1; k <= nc; k++)
			line = line sprintf(" %12s", lab[k])
		if (base)
			line = line sprintf(" %10s", "change")
		print line
		# rows by the largest count of any column, then by name
		m = 0
		for (x in names) {
			best = 0
			for (k = 1; k <= nc; k++)
				if (v[x, k] + 0 > best)
					best = v[x, k] + 0
			if (best < 0.05)
				continue
			order[++m] = x; key[x] = best
		}
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && (key[order[j - 1]] < key[order[j]] ||
			     (key[order[j - 1]] == key[order[j]] && order[j - 1] > order[j])); j--) {
				t = order[j]; order[j] = order[j - 1]; order[j - 1] = t
			}
		for (i = 1; i <= m; i++) {
			x = order[i]
			line = sprintf("  %-16s", x)
			for (k = 1; k <= nc; k++)
				line = line sprintf(" %12.2f", v[x, k])
			if (base)
				line = line sprintf(" %+10.2f", v[x, 1] - v[x, base])
			print line
		}
		line = sprintf("  %-16s", "total")
		for (k = 1; k <= nc; k++)
			line = line sprintf(" %12.1f", tot[k])
		if (base)
			line = line sprintf(" %+10.1f", tot[1] - tot[base])
		print line
	}' "${files[@]}"
}

: >"$tmp/counts"
kib=(/usr/bin/head -c 1024 /dev/zero)
big=(/usr/bin/head -c 200000 /dev/zero)
count "$build" worker-log "worker-log"
count "$build" files "files"
count "$build" worker-log "log 1KiB" "${kib[@]}"
count "$build" worker-log "log 200kB" "${big[@]}"
if [ -n "$base" ]; then
	count "$base" "" "base"
	count "$base" "" "base 1KiB" "${kib[@]}"
	count "$base" "" "base 200kB" "${big[@]}"
fi

echo "system calls per task in a worker, $n tasks, strace -f, between submit and the end of wait;"
echo "/bin/true, with task.output worker-log (the default) and files; \"1KiB\": ${kib[*]},"
echo "\"200kB\": ${big[*]}, into the worker log; \"base\": the baseline build, its default:"
awk -F '\t' '{
	printf "  %-12s worker %6.1f (prlimit64 %.1f), task process %6.1f (prlimit64 %.1f)\n", $1, $2, $4, $3, $5
}' "$tmp/counts"
table worker "the worker, by call"
table task "the task processes, from their clone to their exit, by call"

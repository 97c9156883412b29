#!/bin/bash
# What watching costs the scheduler: the no-spawn benchmark of
# bench_sched.sh (an array through the scheduler rank and 2 workers in
# --bench-noop mode) with five dashboards and a `cluster top` open,
# against the same run with nobody watching.
#
# A dashboard here asks what dashboard.js asks every second on the
# status page, over one kept-alive connection: the task stream after
# its cursor, progress, actions, memory, workers and the pool.  `cluster
# top -d 2` draws its frames as it would on a terminal.  The figure is
# the scheduler process's own CPU time (utime + stime of rank 0, from
# /proc, sampled until it exits), per task, so the watchers' CPU and the
# workers' do not count; the runs alternate (none, watched, none, ...)
# so that load from elsewhere on the machine falls on both alike.
#
# Prints figures only; nothing here asserts a timing.  Target: the
# watched run's CPU per task within 5 % of the unwatched one's.
#
#   tests/bench/bench_dashboard.sh [BUILD_DIR]   (default: build)
#   BENCH_TASKS (default 3000000: some seconds of polling), BENCH_ROUNDS
#   (default 2)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
rank=$build/bin/cluster-rank
cluster=$build/bin/cluster
for b in "$rank" "$cluster"; do
	[ -x "$b" ] || { echo "bench_dashboard: build first: missing $b" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "bench_dashboard: needs curl" >&2; exit 1; }
n=${BENCH_TASKS:-3000000}
rounds=${BENCH_ROUNDS:-2}
hz=$(getconf CLK_TCK)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-dashboard.XXXXXX")
watchers=()
stop_watchers() {
	local p
	for p in "${watchers[@]}"; do
		kill -- "-$p" 2>/dev/null
	done
	watchers=()
}
trap 'stop_watchers; rm -rf "$tmp"' EXIT
export CLUSTER_HOME=$tmp/home HOME=$tmp
mkdir -m 700 "$CLUSTER_HOME"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# dashboard PORT TOKEN LOG: the status page's requests, once a second;
# a line in LOG per stream answer
dashboard() {
	local base=http://127.0.0.1:$1 auth="Authorization: Bearer $2" cursor=0 c
	while :; do
		c=$(curl -s -H "$auth" "$base/api/v1/stream?since=$cursor" \
			-o /dev/stdout -o /dev/null "$base/api/v1/progress" \
			-o /dev/null "$base/api/v1/actions" \
			-o /dev/null "$base/api/v1/memory" \
			-o /dev/null "$base/api/v1/workers" \
			-o /dev/null "$base/api/v1/pool" |
			grep -o '"cursor": *[0-9]*' | grep -o '[0-9]*$')
		[ -n "$c" ] && echo "$c" >>"$3"
		cursor=${c:-$cursor}
		sleep 1
	done
}

# run WATCHED: "TASKS_PER_S CPU_SECONDS" of one run
run() {
	local watched=$1 dir=$CLUSTER_HOME/bench pid= cpu=0 t i mp
	rm -rf "$dir"
	mpirun -np 3 --oversubscribe "$rank" --set scheduler.host=127.0.0.1 \
		--name bench --no-bind --cores 64 --bench-noop --bench-array "$n" \
		>"$tmp/out" 2>"$tmp/err" &
	mp=$!
	for ((i = 0; i < 600 && !pid; i++)); do
		pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$dir/address" 2>/dev/null)
		[ -n "$pid" ] || { pid=; sleep 0.05; }
	done
	if [ -z "$pid" ]; then
		wait "$mp"
		return 1
	fi
	if [ "$watched" = 1 ]; then
		local port token
		port=$(sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p' "$dir/address")
		token=$(cat "$dir/token")
		for ((i = 0; i < 5; i++)); do
			setsid bash -c "$(declare -f dashboard); dashboard $port $token $tmp/polls" \
				>/dev/null 2>&1 &
			watchers+=($!)
		done
		setsid "$cluster" --name bench top -d 2 >/dev/null 2>&1 &
		watchers+=($!)
	fi
	while t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null); do
		cpu=$t
		sleep 0.02
	done
	wait "$mp"
	stop_watchers
	local rate
	rate=$(sed -n 's/^tasks\/s after the first end: //p' "$tmp/out")
	[ -n "$rate" ] || return 1
	echo "$rate $cpu"
}

: >"$tmp/none"
: >"$tmp/watched"
for ((r = 0; r < rounds; r++)); do
	for w in 0 1; do
		if ! res=$(run "$w"); then
			echo "bench_dashboard: a run failed:" >&2
			cat "$tmp/err" >&2
			exit 1
		fi
		[ "$w" = 1 ] && echo "$res" >>"$tmp/watched" || echo "$res" >>"$tmp/none"
	done
done
awk -v n="$n" -v hz="$hz" -v rounds="$rounds" -v polls="$(cat "$tmp/polls" 2>/dev/null | wc -l)" '
	FNR == 1 { f++ }
	{ rate[f] += $1; cpu[f] += $2 / hz }
	END {
		r0 = rate[1] / rounds; r1 = rate[2] / rounds
		c0 = cpu[1] / rounds; c1 = cpu[2] / rounds
		printf "scheduler CPU, %d no-op tasks, 2 workers, mean of %d runs each:\n", n, rounds
		printf "  nobody watching:          %.2f s CPU, %.2f µs per task, %.0f tasks/s\n", c0, 1e6 * c0 / n, r0
		printf "  5 dashboards + top -d 2:  %.2f s CPU, %.2f µs per task, %.0f tasks/s\n", c1, 1e6 * c1 / n, r1
		printf "  CPU ratio, watched to not: %.3f (target at most 1.05)\n", (c0 > 0 ? c1 / c0 : 0)
		printf "  throughput ratio, watched to not: %.3f\n", (r0 > 0 ? r1 / r0 : 0)
		printf "  dashboard polls answered while watched: %d\n", polls
	}' "$tmp/none" "$tmp/watched"

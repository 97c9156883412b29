#!/bin/bash
# Size and scheduler time of each answer the dashboard, `cluster top` and
# Prometheus ask for, on a busy cluster: 1,000,000 tasks (one array),
# 200 workers each running one and holding one more, the rest queued.
# Baseline, same run: the same answers from the same scheduler before
# anything was submitted, with its 200 workers idle.
#
# Time is the scheduler process's own CPU (utime + stime from /proc)
# over REQS requests of the route on one kept-alive connection, divided
# by REQS, so the client's time and the loopback's do not count; it
# includes reading the request and checking the token.  The workers are
# `cluster worker` processes of 1 core on this host; the tasks sleep.
#
# Prints figures only; nothing here asserts a timing.
#
#   tests/bench/bench_endpoints.sh [BUILD_DIR]   (default: build)
#   BENCH_WORKERS (200), BENCH_QUEUED (1000000), BENCH_REQS (2000)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
cluster=$build/bin/cluster
[ -x "$cluster" ] || { echo "bench_endpoints: build first: missing $cluster" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench_endpoints: needs curl" >&2; exit 1; }
nw=${BENCH_WORKERS:-200}
nq=${BENCH_QUEUED:-1000000}
reqs=${BENCH_REQS:-2000}
hz=$(getconf CLK_TCK)
routes="api/v1/stream api/v1/progress api/v1/actions api/v1/memory
api/v1/workers api/v1/counters api/v1/pool metrics"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-endpoints.XXXXXX")
workers=
submitted=
cleanup() {
	# The sleeping tasks first: they are process groups of their own.
	[ -n "$submitted" ] && timeout 120 "$cluster" --name ep cancel "1-$nq" >/dev/null 2>&1
	timeout 60 "$cluster" --name ep stop --timeout 10 >/dev/null 2>&1
	[ -n "$workers" ] && kill -- "-$workers" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export CLUSTER_HOME=$tmp/home HOME=$tmp
mkdir -m 700 "$CLUSTER_HOME"
c() {
	timeout 300 "$cluster" --name ep "$@"
}

c --profile local --set scheduler.host=127.0.0.1 start >/dev/null ||
	{ echo "bench_endpoints: the scheduler does not start" >&2; exit 1; }
addr=$CLUSTER_HOME/ep/address
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$addr")
port=$(sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p' "$addr")
auth="Authorization: Bearer $(cat "$CLUSTER_HOME/ep/token")"

setsid bash -c "for ((i = 0; i < $nw; i++)); do
	'$cluster' --name ep worker --name w\$i --cores 1 --memory 1GiB \
		>/dev/null 2>&1 &
done
wait" &
workers=$!
joined() {
	[ "$(curl -s -H "$auth" "http://127.0.0.1:$port/api/v1/counters" |
		grep -o '"workers": *[0-9]*' | grep -o '[0-9]*$')" -ge "$nw" ] 2>/dev/null
}
for ((i = 0; i < 1200; i++)); do
	joined && break
	sleep 0.1
done
joined || { echo "bench_endpoints: $nw workers did not join" >&2; exit 1; }

cpu() {
	awk '{ print $14 + $15 }' "/proc/$pid/stat"
}
# measure LABEL: "route bytes µs" per route into $tmp/LABEL
measure() {
	local r t0 t1 size
	: >"$tmp/$1"
	for r in $routes; do
		size=$(curl -s -H "$auth" "http://127.0.0.1:$port/$r" | wc -c)
		for ((i = 0; i < reqs; i++)); do
			echo "url = \"http://127.0.0.1:$port/$r\""
			echo "output = /dev/null"
		done >"$tmp/urls"
		t0=$(cpu)
		curl -s -H "$auth" -K "$tmp/urls"
		t1=$(cpu)
		echo "$r $size $(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$reqs" \
			'BEGIN { printf "%.1f", 1e6 * d / hz / n }')" >>"$tmp/$1"
	done
}

measure idle
submitted=1
c submit --group sim --array 1-"$nq" -- sleep 600 >/dev/null ||
	{ echo "bench_endpoints: the submission failed" >&2; exit 1; }
busy() {
	[ "$(curl -s -H "$auth" "http://127.0.0.1:$port/api/v1/counters" |
		grep -o '"running": *[0-9]*' | grep -o '[0-9]*$')" -ge "$nw" ] 2>/dev/null
}
for ((i = 0; i < 1200; i++)); do
	busy && break
	sleep 0.1
done
busy || { echo "bench_endpoints: the workers did not all start a task" >&2; exit 1; }
measure busy

echo "answers, $nq tasks queued, $nw workers each running one, $reqs requests a route:"
printf '  %-18s %10s %9s   %s\n' route bytes "µs CPU" "idle: bytes, µs CPU; ratio busy/idle"
paste "$tmp/busy" "$tmp/idle" | awk '{
	printf "  %-18s %10d %9.1f   %d, %.1f; %.2f\n", "/" $1, $2, $3, $5, $6,
		($6 > 0 ? $3 / $6 : 0)
}'

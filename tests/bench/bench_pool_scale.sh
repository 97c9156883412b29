#!/bin/bash
# bench_pool_scale: time from `cluster scale 8` until 8 workers have
# joined, on the local backend (8 local jobs of one 1-core worker) and on
# the private Slurm of tests/integration/slurm.sh (8 jobs, one array, from
# a scheduler running as a local daemon), against a baseline measured in
# the same run: 8 `cluster worker` processes started by hand against the
# same kind of scheduler, until they have joined (the cost of a worker's
# start and handshake, with no pool in between).  Figures only: nothing
# passes or fails on a timing.  Slurm is skipped when it cannot start here
# (not root, no packages).
#
#   tests/bench/bench_pool_scale.sh [BUILD_DIR]   (default: build)
set -u
build=${1:-build}
cd "$(dirname "$0")/../.."
cluster=$PWD/$build/bin/cluster
[ -x "$cluster" ] || { echo "bench_pool_scale: build first ($cluster)" >&2; exit 1; }
work=$(mktemp -d /tmp/bench_pool_scale.XXXXXX)
export CLUSTER_HOME=$work/home HOME=$work
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$CLUSTER_HOME" && chmod 700 "$CLUSTER_HOME"
workers=()
cleanup() {
	local n p
	for p in "${workers[@]}"; do
		kill "$p" 2>/dev/null
	done
	for n in bb bl bs; do
		timeout 60 "$cluster" --name "$n" stop --timeout 10 >/dev/null 2>&1 ||
			timeout 30 "$cluster" --name "$n" stop --force >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
joined() {	# NAME: workers alive
	"$cluster" --name "$1" workers 2>/dev/null | grep -c alive
}
# wait_joined NAME N TIMEOUT: 0 once N workers are alive
wait_joined() {
	local end=$((SECONDS + $3))
	while [ "$(joined "$1")" -lt "$2" ]; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.05
	done
}
local_opts=(--profile local --set scheduler.host=127.0.0.1 --set job.cores=1
	--set job.processes=1 --set pool.poll-interval=1s --set worker.heartbeat=1s)

# --- baseline: 8 workers by hand ------------------------------------------------
"$cluster" "${local_opts[@]}" --name bb start >/dev/null || exit 1
t0=$(now)
for i in 1 2 3 4 5 6 7 8; do
	"$cluster" --name bb worker --cores 1 --memory 1GiB >/dev/null 2>&1 &
	workers+=($!)
done
wait_joined bb 8 120 || echo "bench_pool_scale: the baseline's workers did not all join" >&2
base=$(since "$t0")
for p in "${workers[@]}"; do
	kill "$p" 2>/dev/null
done
workers=()
timeout 60 "$cluster" --name bb stop >/dev/null

# --- local backend ------------------------------------------------------------
"$cluster" "${local_opts[@]}" --name bl start >/dev/null || exit 1
t0=$(now)
"$cluster" --name bl scale 8 >/dev/null || exit 1
wait_joined bl 8 120 || echo "bench_pool_scale: the local pool did not reach 8 workers" >&2
loc=$(since "$t0")
timeout 60 "$cluster" --name bl stop >/dev/null

# --- private Slurm ---------------------------------------------------------------
slurm=
if [ "$(id -u)" -eq 0 ] && command -v slurmctld >/dev/null 2>&1 &&
	out=$(tests/integration/slurm.sh start 2>&1); then
	export SLURM_CONF
	SLURM_CONF=$(printf '%s\n' "$out" | sed -n 's/^SLURM_CONF=//p' | tail -1)
	"$cluster" --profile generic-slurm --set scheduler.location=local \
		--set scheduler.host=127.0.0.1 --set job.queue=debug --set job.cores=1 \
		--set job.memory=500MB --set job.walltime=00:10:00 \
		--set pool.poll-interval=1s --set worker.heartbeat=1s \
		--name bs start >/dev/null || exit 1
	t0=$(now)
	"$cluster" --name bs scale 8 >/dev/null || exit 1
	if wait_joined bs 8 300; then
		slurm=$(since "$t0")
	else
		echo "bench_pool_scale: the Slurm pool did not reach 8 workers in 300 s" >&2
	fi
	timeout 120 "$cluster" --name bs stop --timeout 30 >/dev/null
else
	echo "bench_pool_scale: no private Slurm here; its figure is skipped" >&2
fi

printf 'time until 8 workers joined\n'
printf '  %-40s %8.2f s   1.00x (baseline)\n' "8 workers started by hand" "$base"
printf '  %-40s %8.2f s  %5.2fx\n' "scale 8, local backend" "$loc" \
	"$(ratio "$loc" "$base")"
if [ -n "$slurm" ]; then
	printf '  %-40s %8.2f s  %5.2fx\n' "scale 8, private Slurm (one array)" \
		"$slurm" "$(ratio "$slurm" "$base")"
fi

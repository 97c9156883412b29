#!/bin/bash
# Peers: the same workload, N x /bin/true (default 2000) with two in
# flight, through cluster and through the tools a user would otherwise
# reach for, measured in the same run and printed as one table.
#
#   bare:     bench_spawn --bare, a posix_spawn + waitpid loop (the
#             baseline every ratio is taken against)
#   cluster:  a batch job `mpirun -np 3 cluster-rank --no-bind --cores 1
#             --run FILE` (the scheduler rank and 2 workers of 1 core),
#             default settings otherwise; timed twice from the one run: the
#             whole command (MPI start and finish included) and the job's
#             own wall time from its summary (submit to the last task's end)
#   xargs:    xargs -P2 -n1 /bin/true
#   parallel: GNU parallel -j2 -N0 /bin/true (skipped when absent)
#   dask:     Dask distributed, a LocalCluster of 2 worker processes of one
#             thread each, already up; client.map of subprocess.run over N
#             (skipped when python3 cannot import distributed)
#
# Rounds are interleaved, the order of the systems rotating each round, so
# a change in the machine's load hits all of them.  For each system the
# table gives tasks/s as min, median and max over the rounds, and the
# median of its per-round ratio to the bare loop of the same round.
# Figures only: nothing here passes or fails on a timing.
#
#   tests/bench/bench_peers.sh [BUILD_DIR]   (default: build)
#   BENCH_PEERS_TASKS=N    number of tasks (default 2000)
#   BENCH_PEERS_ROUNDS=R   rounds (default 5)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
rank=$build/bin/cluster-rank
spawn=$build/bench/bench_spawn
for b in "$rank" "$spawn"; do
	[ -x "$b" ] || {
		echo "bench_peers: build first (make bench-peers): missing $b" >&2
		exit 1
	}
done
positive() {
	case $2 in
	'' | *[!0-9]* | 0)
		echo "bench_peers: $1 must be a positive number, not '$2'" >&2
		exit 1
		;;
	esac
}
n=${BENCH_PEERS_TASKS:-2000}
positive BENCH_PEERS_TASKS "$n"
rounds=${BENCH_PEERS_ROUNDS:-5}
positive BENCH_PEERS_ROUNDS "$rounds"

# On the project's disk, not a tmpfs: where a user's job writes.
tmp=$(mktemp -d "$PWD/$build/bench-peers.XXXXXX")
pgids=()
cleanup() {
	local pg
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
	echo "bench_peers: $1" >&2
	[ $# -gt 1 ] && [ -s "$2" ] && sed 's/^/  /' "$2" >&2
	exit 1
}

now() {
	date +%s.%N
}

# elapsed T0: seconds since T0.
elapsed() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }'
}

for ((i = 0; i < n; i++)); do
	echo /bin/true
done >"$tmp/tasks.txt"
seq "$n" >"$tmp/seq.txt"

systems=(bare cluster xargs)
if command -v parallel >/dev/null; then
	systems+=(parallel)
else
	echo "bench_peers: GNU parallel is absent (Debian package parallel): skipped" >&2
fi
cat >"$tmp/dask_peer.py" <<'EOF'
# One round of N x /bin/true through Dask distributed, workers already up:
# prints the seconds from the first submit to the last result.
import subprocess, sys, time
from distributed import Client, LocalCluster

def run(_):
    return subprocess.run(["/bin/true"]).returncode

if __name__ == "__main__":
    n = int(sys.argv[1])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as lc, Client(lc) as c:
        c.gather(c.map(run, range(20), pure=False))
        t0 = time.perf_counter()
        rc = c.gather(c.map(run, range(n), pure=False))
        t1 = time.perf_counter()
    if any(rc):
        sys.exit("some tasks failed")
    print("%.4f" % (t1 - t0))
EOF
# Debian's python3-distributed is for Debian's python3, which another
# python3 earlier in PATH may hide.
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import distributed' 2>/dev/null; then
		py=$p
		break
	fi
done
if [ -n "$py" ]; then
	systems+=(dask)
else
	echo "bench_peers: Dask distributed is absent (Debian package python3-distributed): skipped" >&2
fi

# Per system, the rates of each round; the cluster job's own wall time
# rides along with the cluster run as "cluster_job".
declare -A rate
batch_n=0

add() {
	rate[$1]+="$(awk -v n="$n" -v s="$2" 'BEGIN { printf "%.1f", n / s }') "
}

run_bare() {
	local out r
	out=$("$spawn" --bare "$n" 2) || fail "bench_spawn failed"
	r=$(printf '%s\n' "$out" | sed -n 's/.*bare posix_spawn \([0-9.]*\) tasks\/s.*/\1/p')
	[ -n "$r" ] || fail "cannot read bench_spawn's figure: $out"
	rate[bare]+="$r "
}

run_cluster() {
	local t0 pg wall done_n
	batch_n=$((batch_n + 1))
	t0=$(now)
	setsid mpirun --oversubscribe -np 3 "$rank" --set scheduler.host=127.0.0.1 \
		--no-bind --cores 1 --name "batch$batch_n" --run "$tmp/tasks.txt" \
		>"$tmp/batch.out" 2>"$tmp/batch.err" &
	pg=$!
	pgids+=("$pg")
	wait "$pg" || fail "the batch job failed" "$tmp/batch.err"
	add cluster "$(elapsed "$t0")"
	done_n=$(sed -n 's/^done: //p' "$tmp/batch.out")
	wall=$(sed -n 's/^wall time: \([0-9.]*\) s$/\1/p' "$tmp/batch.out")
	[ "$done_n" = "$n" ] && [ -n "$wall" ] ||
		fail "the batch job did not report $n tasks done" "$tmp/batch.out"
	add cluster_job "$wall"
}

run_xargs() {
	local t0
	t0=$(now)
	xargs -P2 -n1 /bin/true <"$tmp/seq.txt" || fail "xargs failed"
	add xargs "$(elapsed "$t0")"
}

run_parallel() {
	local t0
	t0=$(now)
	parallel --will-cite -j2 -N0 /bin/true <"$tmp/seq.txt" ||
		fail "GNU parallel failed"
	add parallel "$(elapsed "$t0")"
}

run_dask() {
	local s
	s=$("$py" "$tmp/dask_peer.py" "$n" 2>"$tmp/dask.err") ||
		fail "the Dask round failed" "$tmp/dask.err"
	add dask "$s"
}

k=${#systems[@]}
for ((r = 0; r < rounds; r++)); do
	line="round $((r + 1)):"
	for ((j = 0; j < k; j++)); do
		s=${systems[$(((r + j) % k))]}
		"run_$s"
	done
	for s in "${systems[@]}"; do
		last=${rate[$s]% }
		line+=" $s ${last##* }"
	done
	echo "$line tasks/s"
done

# The table: one row per system, the ratio per round to the bare loop.
label() {
	case $1 in
	bare) echo "bare posix_spawn loop, 2 in flight" ;;
	cluster) echo "cluster-rank --run, whole command" ;;
	cluster_job) echo "cluster-rank --run, job wall time" ;;
	xargs) echo "xargs -P2" ;;
	parallel) echo "GNU parallel -j2" ;;
	dask) echo "Dask, 2 workers already up" ;;
	esac
}
echo
echo "peers: $n x /bin/true, 2 in flight, $rounds interleaved rounds (tasks/s):"
printf '| %-36s | %7s | %7s | %7s | %12s |\n' system min median max "of bare loop"
printf '| %-36s | %7s | %7s | %7s | %12s |\n' --- ---: ---: ---: ---:
for s in bare cluster cluster_job xargs parallel dask; do
	[ -n "${rate[$s]:-}" ] || continue
	awk -v label="$(label "$s")" -v mine="${rate[$s]}" -v bare="${rate[bare]}" '
	function median(a, m,   t) {
		t = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		return t
	}
	function sort(a, m,   i, j, t) {
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
	}
	BEGIN {
		m = split(mine, v, " "); split(bare, b, " ")
		for (i = 1; i <= m; i++) { q[i] = v[i] / b[i]; w[i] = v[i] }
		sort(w, m); sort(q, m)
		printf "| %-36s | %7.0f | %7.0f | %7.0f | %12.2f |\n",
			label, w[1], median(w, m), w[m], median(q, m)
	}'
done

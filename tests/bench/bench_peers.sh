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
#   head:     a local pool, `cluster start` with the local profile and 2
#             workers of 1 core already up (as Dask's), default settings
#             otherwise: `cluster submit --array 1-N -- /bin/true` and
#             `cluster wait`, both commands timed
#   xargs:    xargs -P2 -n1 /bin/true
#   parallel: GNU parallel -j2 -N0 /bin/true (skipped when absent)
#   dask:     Dask distributed, a LocalCluster of 2 worker processes of one
#             thread each, already up; client.map of subprocess.run over N
#             (skipped when python3 cannot import distributed)
#
# And tasks that write: N x `head -c 1024 /dev/zero` (1 KiB on stdout
# each) through the batch job, with its default per-worker log, against a
# bare loop that sends each task's output to a new file of its own
# (bench_spawn --bare-file); their ratio is to that loop.
#
# Rounds are interleaved, the order of the systems rotating each round, so
# a change in the machine's load hits all of them.  For each system the
# table gives tasks/s as min, median and max over the rounds, and the
# median of its per-round ratio to the bare loop of the same round.  The
# goals are printed under the table, each met or missed by the medians.
# Figures only: nothing here passes or fails on a timing.
#
#   tests/bench/bench_peers.sh [BUILD_DIR]   (default: build)
#   BENCH_PEERS_TASKS=N    number of tasks (default 2000)
#   BENCH_PEERS_ROUNDS=R   rounds (default 5)
set -u
cd "$(dirname "$0")/../.."
build=${1:-${CLUSTER_BUILD:-build}}
rank=$build/bin/cluster-rank
cli=$build/bin/cluster
spawn=$build/bench/bench_spawn
for b in "$rank" "$cli" "$spawn"; do
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
pool=
cleanup() {
	local pg
	[ -n "$pool" ] && "$cli" --name head stop --force >/dev/null 2>&1
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

kib=(/usr/bin/head -c 1024 /dev/zero)
for ((i = 0; i < n; i++)); do
	echo /bin/true
done >"$tmp/tasks.txt"
for ((i = 0; i < n; i++)); do
	echo "${kib[*]}"
done >"$tmp/kib.txt"
seq "$n" >"$tmp/seq.txt"

systems=(bare cluster head xargs)
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
systems+=(bare_kib cluster_kib)

# The local pool: started once, 2 workers of 1 core, kept up through the
# rounds.
start_pool() {
	local i
	pool=1
	"$cli" --profile local --set scheduler.host=127.0.0.1 --set job.cores=1 \
		--name head start >"$tmp/pool.out" 2>"$tmp/pool.err" ||
		fail "cluster start failed" "$tmp/pool.err"
	"$cli" --name head scale 2 >/dev/null 2>"$tmp/pool.err" ||
		fail "cluster scale 2 failed" "$tmp/pool.err"
	for ((i = 0; i < 600; i++)); do
		[ "$("$cli" --name head workers 2>/dev/null | grep -c ' alive$')" = 2 ] && break
		sleep 0.1
	done
	((i < 600)) || fail "the local pool's 2 workers did not join" "$CLUSTER_HOME/head/scheduler.log"
	"$cli" --name head submit --array 1-20 -- /bin/true >/dev/null &&
		"$cli" --name head wait >/dev/null 2>&1 ||
		fail "the local pool's first tasks failed" "$CLUSTER_HOME/head/scheduler.log"
}
start_pool

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

# A new directory a round, as a new run's tasks have.
run_bare_kib() {
	local out r
	rm -rf "$tmp/files"
	mkdir "$tmp/files"
	out=$(BENCH_SPAWN_COMMAND="${kib[*]}" "$spawn" --bare-file "$n" 2 "$tmp/files") ||
		fail "bench_spawn --bare-file failed"
	r=$(printf '%s\n' "$out" | sed -n 's/.*a file per task, \([0-9.]*\) tasks\/s.*/\1/p')
	[ -n "$r" ] && [ "$(find "$tmp/files" -type f -size 1k | wc -l)" = "$n" ] ||
		fail "cannot read bench_spawn's figure, or its $n files of 1 KiB: $out"
	rate[bare_kib]+="$r "
}

# batch FILE: one batch job over FILE; sets t_whole and t_job (seconds).
batch() {
	local t0 pg done_n
	batch_n=$((batch_n + 1))
	t0=$(now)
	setsid mpirun --oversubscribe -np 3 "$rank" --set scheduler.host=127.0.0.1 \
		--no-bind --cores 1 --name "batch$batch_n" --run "$1" \
		>"$tmp/batch.out" 2>"$tmp/batch.err" &
	pg=$!
	pgids+=("$pg")
	wait "$pg" || fail "the batch job failed" "$tmp/batch.err"
	t_whole=$(elapsed "$t0")
	done_n=$(sed -n 's/^done: //p' "$tmp/batch.out")
	t_job=$(sed -n 's/^wall time: \([0-9.]*\) s$/\1/p' "$tmp/batch.out")
	[ "$done_n" = "$n" ] && [ -n "$t_job" ] ||
		fail "the batch job did not report $n tasks done" "$tmp/batch.out"
}

run_cluster() {
	batch "$tmp/tasks.txt"
	add cluster "$t_whole"
	add cluster_job "$t_job"
}

run_cluster_kib() {
	local logs
	batch "$tmp/kib.txt"
	logs=$CLUSTER_HOME/batch$batch_n/logs
	[ "$(cat "$logs"/worker-*.log | wc -c)" -ge $((n * 1024)) ] ||
		fail "the worker logs in $logs do not hold the tasks' $n KiB"
	add cluster_kib "$t_whole"
	add cluster_kib_job "$t_job"
	rm -rf "$logs"
}

run_head() {
	local t0
	t0=$(now)
	"$cli" --name head submit --array "1-$n" -- /bin/true >/dev/null 2>"$tmp/head.err" ||
		fail "cluster submit to the local pool failed" "$tmp/head.err"
	"$cli" --name head wait >/dev/null 2>"$tmp/head.err" ||
		fail "cluster wait on the local pool failed" "$tmp/head.err"
	add head "$(elapsed "$t0")"
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
"$cli" --name head stop >/dev/null 2>&1 && pool=

# The table: one row per system, the ratio per round to the bare loop
# (tasks that write: to the bare loop with a file per task).
label() {
	case $1 in
	bare) echo "bare posix_spawn loop, 2 in flight" ;;
	cluster) echo "cluster-rank --run, whole command" ;;
	cluster_job) echo "cluster-rank --run, job wall time" ;;
	head) echo "local pool (cluster start), 2 workers up" ;;
	xargs) echo "xargs -P2" ;;
	parallel) echo "GNU parallel -j2" ;;
	dask) echo "Dask, 2 workers already up" ;;
	bare_kib) echo "1 KiB each: bare loop, a file per task" ;;
	cluster_kib) echo "1 KiB each: cluster-rank --run, whole" ;;
	cluster_kib_job) echo "1 KiB each: cluster-rank --run, job" ;;
	esac
}
# median of a system's rates, and of its ratio to BASE's, as "RATE RATIO"
medians() {
	awk -v mine="${rate[$1]}" -v bare="${rate[$2]}" '
	function median(a, m) {
		return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
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
		printf "%.1f %.3f %.1f %.1f\n", median(w, m), median(q, m), w[1], w[m]
	}'
}
echo
echo "peers: $n x /bin/true, 2 in flight, $rounds interleaved rounds (tasks/s); rows \"1 KiB each\": $n x ${kib[*]}, their ratio to the bare loop with a file per task:"
printf '| %-42s | %7s | %7s | %7s | %12s |\n' system min median max "of bare loop"
printf '| %-42s | %7s | %7s | %7s | %12s |\n' --- ---: ---: ---: ---:
declare -A med ratio
for s in bare cluster cluster_job head xargs parallel dask bare_kib cluster_kib cluster_kib_job; do
	[ -n "${rate[$s]:-}" ] || continue
	b=bare
	case $s in *_kib*) b=bare_kib ;; esac
	read -r m q lo hi <<<"$(medians "$s" "$b")"
	med[$s]=$m ratio[$s]=$q
	printf '| %-42s | %7.0f | %7.0f | %7.0f | %12.2f |\n' "$(label "$s")" "$lo" "$m" "$hi" "$q"
done

# The goals, by the medians above.
verdict() {
	awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? "met" : "missed" }'
}
echo
echo "goals:"
echo "  default cluster-rank --run at least 0.9 of the bare loop: job wall time ${ratio[cluster_job]}, whole command ${ratio[cluster]}: $(verdict "${ratio[cluster_job]}" 0.9) (job), $(verdict "${ratio[cluster]}" 0.9) (whole)"
echo "  1 KiB each at least the bare loop with a file per task: job wall time ${ratio[cluster_kib_job]}, whole command ${ratio[cluster_kib]}: $(verdict "${ratio[cluster_kib_job]}" 1) (job), $(verdict "${ratio[cluster_kib]}" 1) (whole)"
slowest=${med[cluster]}
awk -v a="${med[head]}" -v b="$slowest" 'BEGIN { exit !(a < b) }' && slowest=${med[head]}
line="  every peer behind cluster's default (the slower of the batch job's whole command and the local pool, $slowest tasks/s):"
for s in xargs parallel dask; do
	[ -n "${med[$s]:-}" ] || continue
	line+=" $s ${med[$s]} $(verdict "$slowest" "${med[$s]}"),"
done
echo "${line%,}"

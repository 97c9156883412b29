#!/bin/bash
# make demo: show the bundled profiles and the job scripts they produce,
# then run a real cluster on this machine: one MPI job whose rank 0
# schedules a few hundred tasks and whose other ranks run them; then a
# pool: `cluster start` of a local daemon, `cluster scale` growing it to
# 4 jobs, `cluster status`, tasks, `scale` shrinking it to 1 and to
# nothing, `cluster stop`.
set -u
build=${1:-build}
cd "$(dirname "$0")/.."
cluster=$PWD/$build/bin/cluster
rank=$PWD/$build/bin/cluster-rank
work=$(mktemp -d /tmp/cluster-demo.XXXXXX)
export CLUSTER_HOME=$work/home
cleanup() {
	[ -n "${mpirun_pid:-}" ] && kill -TERM -- "-$mpirun_pid" 2>/dev/null
	[ -n "${started:-}" ] && "$cluster" --name demo stop --force >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# Bold headings on a terminal only: a log or a pipe gets no escapes.
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold= plain=; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

say "bundled site profiles"
"$cluster" config profiles

say "Casper worker job script (cluster --profile casper job-script --role worker)"
"$cluster" --profile casper job-script --role worker

say "Derecho head job on 2 nodes (--set job.nodes=2)"
"$cluster" --profile derecho --set job.nodes=2 job-script --role head | grep -E '^#PBS|mpi|cluster-rank'

say "generic Slurm worker job"
"$cluster" --profile generic-slurm --set job.cores=8 --set job.memory=16GB job-script --role worker | grep -E '^#SBATCH|cluster-rank'

# A workload: 300 tasks, a few of them slower, each leaving a result file.
tasks=$work/tasks.txt
mkdir -p "$work/out"
for i in $(seq 1 300); do
	if [ $((i % 50)) -eq 0 ]; then
		echo "sleep 0.5; echo \$((${i} * ${i})) > $work/out/$i"
	else
		echo "echo \$((${i} * ${i})) > $work/out/$i"
	fi
done > "$tasks"

say "batch mode: mpirun -np 4 cluster-rank --run tasks.txt (300 tasks, 1 scheduler + 3 worker ranks)"
# mpirun refuses to run as root unless told; the README's commands run as root.
if [ "$(id -u)" -eq 0 ]; then
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
set -m
mpirun -np 4 --oversubscribe --mca orte_enable_recovery 1 \
	"$rank" --no-bind --set scheduler.host=127.0.0.1 --run "$tasks" &
mpirun_pid=$!
wait "$mpirun_pid"
rc=$?
mpirun_pid=
set +m
done_files=$(ls "$work/out" | wc -l)
echo "result files written: $done_files of 300; job exit status $rc"
left=$(pgrep -f "$rank|$cluster worker" | wc -l)
echo "processes left behind: $left"
[ "$rc" -eq 0 ] && [ "$done_files" -eq 300 ] && [ "$left" -eq 0 ] || exit 1

# The pool: a scheduler daemon on the local backend, where each job is a
# process group of one 1-core worker: it grows to 4 jobs, runs tasks,
# shrinks to 1 and to nothing, and stops.
pool=(--profile local --set scheduler.host=127.0.0.1 --set job.cores=1
	--set job.processes=1 --set pool.poll-interval=1s --name demo)
say "the pool: cluster --profile local --name demo start"
started=1
"$cluster" "${pool[@]}" start || exit 1
say "cluster --name demo scale 4 --wait (4 local jobs of 1 worker)"
"$cluster" "${pool[@]}" scale 4 --wait --timeout 60 || exit 1
say "cluster --name demo status"
"$cluster" "${pool[@]}" status
"$cluster" --name demo submit --array 1-40 -- sh -c 'sleep 0.1; echo {}' >/dev/null
"$cluster" --name demo wait --timeout 60 && echo "40 tasks done on the pool"
say "cluster --name demo scale 1 --wait (the pool shrinks: idle jobs cancelled, newest first)"
"$cluster" "${pool[@]}" scale 1 --wait --timeout 60 || exit 1
"$cluster" "${pool[@]}" status
say "cluster --name demo scale 0, then stop"
"$cluster" "${pool[@]}" scale 0 --wait --timeout 60 || exit 1
"$cluster" --name demo stop || exit 1
started=
left=$(pgrep -f -- "--name demo" | wc -l)
echo "processes left behind: $left"
[ "$left" -eq 0 ]

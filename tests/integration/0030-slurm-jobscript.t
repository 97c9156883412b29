#!/bin/bash
# First, without Slurm: where job-script finds the state directory.
#
# Then the generic-slurm profile on the private Slurm of slurm.sh: a head
# job (`job-script --role head`, rank 0 the scheduler) runs under sbatch
# and takes `cluster submit` and `cluster wait` from here; two worker jobs
# join it, and what `scontrol show job` reports for them (nodes, CPUs,
# tasks, memory, time limit, partition, name, account) must be what the
# profile asked for, as must the cores and memory each worker announces.
# scancel then ends every rank.
#
# Last, a batch job (`job-script --batch`) runs a task file end to end:
# srun starts cluster-rank, rank 0 schedules, the other ranks work.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"

# --- the state directory, by the state directory's own rule ---------------
#
# A job logs to the cluster's state directory unless job.log-directory is
# set; a batch system fails a job whose log directory is missing, so
# job-script makes it (0700) then, and otherwise creates nothing.

t_run "$CLUSTER" --profile generic-slurm --name fresh job-script --role worker
t_is "$T_RC" 0 "job-script for a cluster with no state directory yet"
t_like "$T_OUT" "#SBATCH --output=$CLUSTER_HOME/fresh/%x-%j.out" \
	"its logs go to the state directory"
t_is "$(stat -c %a "$CLUSTER_HOME/fresh" 2>&1)" 700 \
	"job-script made that directory, private (0700)"
t_run "$CLUSTER" --profile generic-slurm --name quiet \
	--set job.log-directory="$T_DIR" job-script --role worker
t_check "with job.log-directory set it creates nothing" \
	test "$T_RC" -eq 0 -a ! -e "$CLUSTER_HOME/quiet"
t_run "$CLUSTER" --profile local --name loc job-script --role worker
t_check "a local job's script creates nothing" \
	test "$T_RC" -eq 0 -a ! -e "$CLUSTER_HOME/loc"
mkdir -m 0770 "$CLUSTER_HOME/shared"
t_run "$CLUSTER" --profile generic-slurm --name shared job-script --role worker
t_is "$T_RC:$T_ERR" "1:cluster: state directory '$CLUSTER_HOME/shared' is writable by group or others: run chmod go-w '$CLUSTER_HOME/shared'" \
	"a state directory others can write is refused, saying how to fix it"
t_run env CLUSTER_HOME=relative/home "$CLUSTER" --profile generic-slurm job-script
t_is "$T_RC:$T_ERR" "1:cluster: CLUSTER_HOME 'relative/home' is not an absolute path" \
	"a relative CLUSTER_HOME is refused"

if ! have_slurm; then
	t_skip "slurm worker job script" "slurm-wlm and munge are not installed, or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

mkdir -p "$T_DIR/logs"
cd "$T_DIR" || t_bail "cd $T_DIR"

# job_script FILE ARG...: a generic-slurm script for cluster $name, 2 cores,
# 1GiB, five minutes on partition debug, logs under T_DIR; ARG are more
# cluster options, then job-script's own after "--".
name=itest$$
job_script() {
	local file=$1
	shift
	"$CLUSTER" --profile generic-slurm --name "$name" \
		--set job.cores=2 --set job.memory=1GiB \
		--set job.walltime=00:05:00 --set job.queue=debug \
		--set job.log-directory="$T_DIR/logs" "$@" >"$file"
}

# submit FILE: sbatch it, print the job id.
submit() {
	local out
	out=$(sbatch --parsable "$1" 2>&1) || {
		echo "# sbatch $1: $out" >&2
		return 1
	}
	echo "${out%%;*}"
}

# workers_alive N: the head job's scheduler lists N live workers.
workers_alive() {
	[ "$("$CLUSTER" --name "$name" workers 2>/dev/null | grep -c ' alive$')" -eq "$1" ]
}

# The ranks and workers of this test's cluster still running.
leftovers() {
	pgrep -af -- "--name $name( |$)" | grep -v pgrep
}

started='RUNNING|COMPLETING|COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL'

# --- a head job: the scheduler and two workers, under sbatch --------------

t_run job_script "$T_DIR/head.sh" --set job.name=itest-head \
	--set scheduler.host=127.0.0.1 job-script --role head
t_is "$T_RC" 0 "job-script renders the generic-slurm head script"
[ "$T_RC" -eq 0 ] || t_bail "job-script failed" "$T_ERR"
t_like "$(head -1 head.sh)" '^#!' "script starts with an interpreter line"
t_check "script passes bash -n" bash -n head.sh
t_like "$(grep cluster-rank head.sh)" "--profile 'generic-slurm' --cores '1' --memory '536870912' .*--set 'scheduler.host=127.0.0.1'" \
	"the launch line carries the profile, each worker's share and --set"

idh=$(submit head.sh) && slurm_track "$idh"
t_like "${idh:-}" '^[0-9]+$' "sbatch accepts the head script"
[ -n "${idh:-}" ] || t_bail "head job submitted"
if ! wait_for 30 test -s "$CLUSTER_HOME/$name/address"; then
	t_bail "the head job publishes its address under CLUSTER_HOME" \
		"state $(slurm_field "$idh" JobState) $(slurm_field "$idh" Reason)" \
		"$(tail -5 "$T_DIR"/logs/itest-head-*.err 2>&1)"
fi
t_ok "the head job publishes its address under CLUSTER_HOME"
t_is "$(slurm_nodes "$idh") $(slurm_field "$idh" NumCPUs) $(slurm_field "$idh" NumTasks)" \
	"1 2 2" "head job: 1 node, 2 CPUs, 2 tasks (the scheduler rank overcommits)"

wait_for 30 workers_alive 2
t_run "$CLUSTER" --name "$name" workers
t_is "$(printf '%s\n' "$T_OUT" | grep -c ' alive$')" 2 "the head job's 2 workers joined"
# Each worker announces its share of the job, not of the node: 1 core and
# 1GiB / 2, where hwloc would see the whole machine.
t_is "$(printf '%s\n' "$T_OUT" | grep -c '0/1 .* 0 B / 512 MiB ')" 2 \
	"each announces job.cores / 2 = 1 core and job.memory / 2 = 512 MiB"

t_run "$CLUSTER" --name "$name" submit -- sh -c "echo hi > '$T_DIR/hi'"
t_is "$T_RC" 0 "cluster submit reaches the head job"
t_run timeout 60 "$CLUSTER" --name "$name" wait
t_is "$T_RC" 0 "cluster wait: the task is done"
t_is "$(cat "$T_DIR/hi" 2>&1)" hi "the task ran on a worker of the head job"

# --- worker jobs join it ----------------------------------------------------
#
# Default sizing, 2 cores -> 2 workers of 1 core; then one worker of 2
# cores, memory in GB (10^9), an account.

t_run job_script "$T_DIR/worker.sh" --set job.name=itest-worker \
	job-script --role worker
t_is "$T_RC" 0 "job-script renders the generic-slurm worker script"
t_check "worker script passes bash -n" bash -n worker.sh
id1=$(submit worker.sh) && slurm_track "$id1"
t_like "${id1:-}" '^[0-9]+$' "sbatch accepts the worker script"

t_run job_script "$T_DIR/worker-p1.sh" --set job.processes=1 \
	--set job.memory=1GB --set job.account=itest-project \
	job-script --role worker
t_is "$T_RC" 0 "job-script renders the processes=1 variant"
id2=$(submit worker-p1.sh) && slurm_track "$id2"
t_like "${id2:-}" '^[0-9]+$' "sbatch accepts the processes=1 variant"

if [ -z "${id1:-}" ] || [ -z "${id2:-}" ]; then t_bail "both jobs submitted"; fi

wait_for 30 slurm_state_is "$id1" "$started"
wait_for 30 slurm_state_is "$id2" "$started"

t_is "$(slurm_nodes "$id1")" 1 "job 1: NumNodes=1"
t_is "$(slurm_field "$id1" NumCPUs)" 2 "job 1: NumCPUs=2 (job.cores)"
t_is "$(slurm_field "$id1" NumTasks)" 2 "job 1: NumTasks=2 (one per worker)"
t_is "$(slurm_field "$id1" CPUs/Task)" 1 "job 1: CPUs/Task=1"
t_is "$(slurm_mib "$(slurm_field "$id1" MinMemoryNode)")" 1024 "job 1: MinMemoryNode=1G (job.memory=1GiB)"
t_is "$(slurm_field "$id1" TimeLimit)" 00:05:00 "job 1: TimeLimit=00:05:00"
t_is "$(slurm_field "$id1" Partition)" debug "job 1: Partition=debug (job.queue)"
t_is "$(slurm_field "$id1" JobName)" itest-worker "job 1: JobName from job.name"
t_like "$(slurm_field "$id1" StdOut)" "^$T_DIR/logs/" "job 1: output goes to job.log-directory"

t_is "$(slurm_nodes "$id2")" 1 "job 2: NumNodes=1"
t_is "$(slurm_field "$id2" NumCPUs)" 2 "job 2: NumCPUs=2"
t_is "$(slurm_field "$id2" NumTasks)" 1 "job 2: NumTasks=1 (job.processes=1)"
t_is "$(slurm_field "$id2" CPUs/Task)" 2 "job 2: CPUs/Task=2"
# 10^9 bytes is 953.7 MiB: asked as at least that, not rounded to 1 GiB.
m2=$(slurm_mib "$(slurm_field "$id2" MinMemoryNode)")
if [ "$m2" -ge 954 ] && [ "$m2" -lt 1024 ]; then
	t_ok "job 2: MinMemoryNode=${m2}M covers 1GB (953.7 MiB) without rounding to 1GiB"
else
	t_fail "job 2: MinMemoryNode covers 1GB" "got ${m2}M, want 954M..1023M"
fi
t_is "$(slurm_field "$id2" Account)" itest-project "job 2: Account from job.account"

# The jobs ran: their workers joined the head job's scheduler.
if wait_for 30 workers_alive 5; then
	t_ok "the worker jobs' 3 workers joined the head job"
else
	t_fail "the worker jobs' 3 workers joined the head job" \
		"$("$CLUSTER" --name "$name" workers 2>&1)" \
		"$(tail -5 "$T_DIR"/logs/itest-worker-*.err 2>&1)"
fi
t_run "$CLUSTER" --name "$name" workers
t_is "$(printf '%s\n' "$T_OUT" | grep -c '0/1 .* 0 B / 512 MiB ')" 4 \
	"job 1's workers announce 1 core and 512 MiB each, like the head's"
t_is "$(printf '%s\n' "$T_OUT" | grep -c '0/2 .* 0 B / 953.7 MiB ')" 1 \
	"job 2's worker announces 2 cores and 1GB"

# --- scancel ends everything ---------------------------------------------

scancel "$idh" "$id1" "$id2"
wait_for 30 slurm_state_is "$idh" CANCELLED &&
	wait_for 30 slurm_state_is "$id1" CANCELLED &&
	wait_for 30 slurm_state_is "$id2" CANCELLED
t_is "$(slurm_field "$idh" JobState) $(slurm_field "$id1" JobState) $(slurm_field "$id2" JobState)" \
	"CANCELLED CANCELLED CANCELLED" "scancel ends the three jobs"
if wait_for 30 bash -c "! pgrep -f -- '--name $name( |\$)' >/dev/null"; then
	t_ok "no rank or worker of the cluster is left running"
else
	t_fail "no rank or worker of the cluster is left running" "$(leftovers)"
fi

# --- a batch job end to end: srun starts cluster-rank, the tasks run ------
#
# Debian's OpenMPI has no Slurm PMI of its own: ranks that srun starts
# directly find each other through PMIx only when srun is told so, and the
# private Slurm's MpiDefault is none.  The profile's launch line says
# --mpi=pmix; nothing here overrides it.

if ! [ -x "$CLUSTER_RANK" ]; then
	t_skip "batch job under sbatch" "cluster-rank is not built"
elif ! srun --mpi=list 2>&1 | grep -qw pmix; then
	t_skip "batch job under sbatch" "this Slurm has no mpi/pmix plugin"
else
	mkdir -p "$T_DIR/marks"
	for i in 1 2 3 4 5 6 7 8; do
		echo "echo \"\$CLUSTER_TASK_ID\" > $T_DIR/marks/$i"
	done >"$T_DIR/tasks.txt"
	t_run "$CLUSTER" --profile generic-slurm \
		--set job.cores=2 --set job.memory=1GiB \
		--set job.walltime=00:05:00 --set job.queue=debug \
		--set job.log-directory="$T_DIR/logs" --set job.name=itest-batch \
		--set scheduler.host=127.0.0.1 \
		job-script --batch "$T_DIR/tasks.txt"
	t_is "$T_RC" 0 "job-script --batch renders a batch script"
	t_like "$T_OUT" $'\nsrun "--mpi=pmix" ' "the profile's launch line runs srun --mpi=pmix"
	printf '%s\n' "$T_OUT" >batch.sh
	id3=$(submit batch.sh) && slurm_track "$id3"
	if [ -z "${id3:-}" ]; then
		t_fail "sbatch accepts the batch script"
	else
		wait_for 60 slurm_state_is "$id3" 'COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL'
		out3=$(slurm_field "$id3" StdOut)
		t_is "$(slurm_field "$id3" JobState) $(slurm_field "$id3" ExitCode)" \
			"COMPLETED 0:0" "batch job completes with exit 0"
		t_like "$(cat "$out3" 2>&1)" $'tasks: 8\ndone: 8\nfailed: 0' \
			"batch job's summary: 8 tasks done, none failed"
		t_is "$(cat "$T_DIR"/marks/* 2>/dev/null | sort -n | tr '\n' ' ')" \
			"1 2 3 4 5 6 7 8 " "each task ran once on the job's ranks"
	fi
fi

t_done

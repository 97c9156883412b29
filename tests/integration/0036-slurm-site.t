#!/bin/bash
# generic-slurm job scripts on the private Slurm of slurm.sh, for what a
# site's Slurm would do otherwise than the profile meant.
#
# srun and --cpus-per-task: Slurm 22.05 to 23.02 (Debian 12 ships 22.05)
# no longer hand sbatch's --cpus-per-task down to srun, so the launch line
# says it.  A batch job's worker of 2 cores runs a task that reports its
# CPU affinity and the step's CPUs per task.  The private Slurm binds no
# task (TaskPlugin=task/none) and this machine may have only 2 CPUs, so a
# missing --cpus-per-task need not show here: the golden files of 0032
# pin the srun line.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"
[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
if ! have_slurm; then
	t_skip "generic-slurm on the private Slurm" "slurm-wlm and munge are not installed, or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"
if ! srun --mpi=list 2>&1 | grep -qw pmix; then
	t_skip "generic-slurm batch jobs" "this Slurm has no mpi/pmix plugin"
	t_done
fi
unset PBS_ACCOUNT SLURM_ACCOUNT
cd "$T_DIR" || t_bail "cd $T_DIR"
mkdir -p "$T_DIR/logs"

# batch FILE TASKS ARG...: a generic-slurm batch script for TASKS, five
# minutes on partition debug; ARG are more cluster options.
batch() {
	local file=$1 tasks=$2
	shift 2
	"$CLUSTER" --profile generic-slurm --name "site$$" \
		--set job.walltime=00:05:00 --set job.queue=debug \
		--set scheduler.host=127.0.0.1 "$@" \
		job-script --batch "$tasks" >"$file"
}

# run_batch FILE: sbatch it, wait for it to end; prints its JobState.
run_batch() {
	local id
	id=$(sbatch --parsable "$1" 2>&1) || {
		echo "sbatch: $id"
		return 1
	}
	id=${id%%;*}
	slurm_track "$id"
	wait_for 90 slurm_state_is "$id" 'COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL'
	echo "$(slurm_field "$id" JobState) $(slurm_field "$id" ExitCode)"
}

# --- a worker of 2 cores sees 2 CPUs ------------------------------------------

echo "sh -c 'grep Cpus_allowed_list /proc/self/status; echo cpt=\$SLURM_CPUS_PER_TASK' > $T_DIR/affinity" \
	>"$T_DIR/affinity.txt"
batch "$T_DIR/affinity.sh" "$T_DIR/affinity.txt" --set job.cores=2 --set job.processes=1 \
	--set job.memory=1GiB --set job.log-directory="$T_DIR/logs"
t_like "$(cat "$T_DIR/affinity.sh")" $'\nsrun "--mpi=pmix" --kill-on-bad-exit=0 --ntasks=2 --cpus-per-task=2 --overcommit ' \
	"the srun line says --cpus-per-task=2"
t_is "$(run_batch "$T_DIR/affinity.sh")" "COMPLETED 0:0" "the batch job completes"
got=$(cat "$T_DIR/affinity" 2>&1)
ncpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' <<<"$got" |
	awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-");
		n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }')
t_is "$ncpus" 2 "the worker's task sees 2 CPUs in its affinity mask ($got)"
t_like "$got" "cpt=2" "and the step's CPUs per task are 2"

t_done

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
#
# job.log-directory: Slurm fails a job whose output directory is missing
# (JobLaunchFailure, exit 0:53), so job-script creates it, and its parents,
# when it renders the script; $VAR and ${VAR} in a --set value expand
# there, like ${VAR} in a file, since no batch directive expands them.
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

# --- a log directory that does not exist yet ------------------------------------

export SITE_T_LOGS=$T_DIR/scratch
echo "echo logged" >"$T_DIR/logs.txt"
for form in '$SITE_T_LOGS/a/logs' '${SITE_T_LOGS}/b/logs'; do
	dir=$SITE_T_LOGS/${form:${#form}-6:1}/logs
	t_check "$dir does not exist yet" test ! -e "$dir"
	batch "$T_DIR/logs.sh" "$T_DIR/logs.txt" --set job.cores=1 --set job.memory=512MiB \
		--set "job.log-directory=$form"
	t_like "$(cat "$T_DIR/logs.sh")" $'\n#SBATCH --output='"$dir"'/%x-%j.out'$'\n' \
		"--set job.log-directory='$form' expands in the script"
	t_is "$(stat -c %a "$dir" 2>&1)" 700 "job-script made $form (0700)"
	t_like "$(grep -o -- "--set 'job.log-directory=[^']*'" "$T_DIR/logs.sh")" "=$dir'\$" \
		"the ranks get the expanded directory"
	t_is "$(run_batch "$T_DIR/logs.sh")" "COMPLETED 0:0" "the job with the new log directory runs"
	t_like "$(cat "$dir"/*.out 2>&1)" $'tasks: 1\ndone: 1' "its output is in the new directory"
done
t_run "$CLUSTER" --profile generic-slurm --set 'job.log-directory=$SITE_T_UNSET/logs' job-script --role worker
t_is "$T_RC:$T_ERR" "1:cluster: --set job.log-directory: environment variable 'SITE_T_UNSET' is not set (in '\$SITE_T_UNSET/logs')" \
	"an unset variable is an error naming it"
touch "$T_DIR/plain"
t_run "$CLUSTER" --profile generic-slurm --set "job.log-directory=$T_DIR/plain/logs" job-script --role worker
t_like "$T_RC:$T_ERR" "^1:cluster: cannot create job.log-directory '$T_DIR/plain/logs': " \
	"a directory that cannot be made is an error naming it"

t_done

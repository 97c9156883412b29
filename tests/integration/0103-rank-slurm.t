#!/bin/bash
# Batch mode inside a real Slurm job: the script `cluster job-script
# --batch` writes is submitted with sbatch; the job runs the tasks with
# mpirun cluster-rank and ends with their verdict.  srun --mpi=pmix
# starts the ranks as well, through Slurm's PMIx server.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
if ! have_slurm; then
	t_skip "batch job under Slurm" "no Slurm packages or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

cfg=(--set backend=slurm --set job.cores=2 --set job.memory=1GB
	--set job.walltime=00:05:00)

# submit NAME TASKFILE: write the job script, sbatch it, wait for its end;
# sets JOB.
submit() {
	local name=$1 file=$2
	"$CLUSTER" "${cfg[@]}" --name "$name" job-script --batch "$file" \
		>"$T_DIR/$name.sh" 2>"$T_DIR/$name.js-err" || {
		t_fail "job-script --batch writes a script for '$name'" \
			"$(cat "$T_DIR/$name.js-err")"
		return 1
	}
	# The script's --output/--error go to the state directory, which
	# cluster-rank only creates once the job runs.
	mkdir -p "$CLUSTER_HOME/$name" && chmod 700 "$CLUSTER_HOME/$name"
	JOB=$(cd "$T_DIR" && sbatch --parsable "$T_DIR/$name.sh" 2>"$T_DIR/$name.sb-err")
	JOB=${JOB%%;*}
	if [ -z "$JOB" ]; then
		t_fail "sbatch takes the '$name' script" "$(cat "$T_DIR/$name.sb-err")"
		return 1
	fi
	slurm_track "$JOB"
	wait_for 120 slurm_state_is "$JOB" "COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL"
}

# The job's stdout file: the script's --output, with %x and %j filled in.
job_output() {
	local f
	f=$(slurm_field "$1" StdOut)
	cat "$f" 2>/dev/null
}

m=$T_DIR/m
mkdir -p "$m"
for i in $(seq 1 40); do
	echo "echo \$CLUSTER_TASK_ID > $m/$i"
done >"$T_DIR/ok.txt"

if submit okjob "$T_DIR/ok.txt"; then
	t_is "$(slurm_field "$JOB" JobState)" COMPLETED "the batch job completes"
	t_is "$(slurm_field "$JOB" ExitCode)" 0:0 "the job's exit code is 0"
	t_is "$(ls "$m" | wc -l)" 40 "every task ran inside the job"
	t_like "$(job_output "$JOB")" $'tasks: 40\ndone: 40\nfailed: 0' \
		"the job's output holds the summary"
fi

printf 'true\nexit 4\n' >"$T_DIR/bad.txt"
if submit badjob "$T_DIR/bad.txt"; then
	t_is "$(slurm_field "$JOB" JobState)" FAILED "a batch job with a failed task fails"
	t_like "$(slurm_field "$JOB" ExitCode)" "^[1-9][0-9]*:0$" "its exit code is non-zero"
	t_like "$(job_output "$JOB")" "  2: exit code 4: exit 4" \
		"the job's output names the failed task"
fi

# srun starts the ranks itself: they ask Slurm's PMIx server where they
# are and for rank 0's address, as they ask mpirun's.
if srun --mpi=list 2>&1 | grep -qw pmix; then
	for i in 1 2 3; do
		echo "echo \$CLUSTER_TASK_ID >$m/s.\$CLUSTER_TASK_ID"
	done >"$T_DIR/srun.txt"
	t_run timeout 120 srun --mpi=pmix --ntasks=3 --overcommit \
		--kill-on-bad-exit=0 "$CLUSTER_RANK" -v --set scheduler.host=127.0.0.1 \
		--name srunpx --run "$T_DIR/srun.txt"
	t_is "$T_RC" 0 "srun --mpi=pmix cluster-rank --run exits 0"
	for r in 0 1 2; do
		t_like "$T_ERR" "cluster-rank\[$r\]: debug: rank $r of 3, [0-2] of 3 on this node, from PMIx" \
			"under srun rank $r learns where it is from Slurm's PMIx server"
	done
	t_like "$T_OUT" $'tasks: 3\ndone: 3\nfailed: 0' "under srun the three tasks ran"
	t_is "$(ls "$m" | grep -c '^s\.')" 3 "each task under srun wrote its marker"
else
	t_skip "batch run under srun --mpi=pmix" "this Slurm has no mpi/pmix plugin"
fi

t_done

#!/bin/bash
# PBS job scripts (profiles generic-pbs and torque) submitted with qsub,
# checked with qstat, scontrol and qdel.
#
# This is a stand-in: no PBS Pro or Torque server can run here, so the
# scripts go through Slurm's Torque-compatible wrappers (slurm-wlm-torque)
# on the private Slurm of slurm.sh.  The qsub wrapper (a Perl script) turns
# only its own command-line options into sbatch options; the #PBS lines in
# the script are read by sbatch itself, which translates -N, -q, -A, -l
# walltime, -l select=N:ncpus=C:mpiprocs=P:mem=M and -l nodes=N:ppn=C,
# -l mem=M into Slurm requests and skips resources it does not know
# (ompthreads, job_priority, place).  The wrapper always passes -o/-e
# itself (default <script>.o<id> in the submitting directory), which
# overrides #PBS -o/-e, so the test gives them on the command line.
#
# A prologue probe shows that a worker job started: these worker jobs
# have no head job to join (0030 runs one under sbatch), and the qsub
# wrapper drops $PBS_NODEFILE, which the profiles' launch lines name.  A
# batch job then runs a task file end to end through qsub.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"
if ! have_slurm || ! command -v qsub >/dev/null; then
	t_skip "pbs job scripts through qsub" "slurm-wlm, slurm-wlm-torque or munge missing, or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

mkdir -p "$T_DIR/logs"
cd "$T_DIR" || t_bail "cd $T_DIR"

# job_script PROFILE FILE --set ...: 2 cores, 1GiB, five minutes, queue
# debug, the probe in the prologue.
job_script() {
	local profile=$1 file=$2
	shift 2
	"$CLUSTER" --profile "$profile" \
		--set job.cores=2 --set job.memory=1GiB \
		--set job.walltime=00:05:00 --set job.queue=debug \
		--set job.log-directory="$T_DIR/logs" \
		--set 'job.prologue=["echo probe-started on $(hostname)", "sleep 60"]' \
		"$@" job-script --role worker >"$file"
}

probe_in() {
	[ -n "$1" ] && grep -qs '^probe-started' "$1"
}

qstat_state() {
	qstat -f "$1" 2>/dev/null | sed -n 's/^[[:space:]]*job_state = //p'
}

qstat_state_is() {
	[[ $(qstat_state "$1") =~ ^($2)$ ]]
}

# check_qsub LABEL PROFILE DIRECTIVE_REGEX [ARG...]: render (with the
# extra cluster options ARG), submit, compare.
check_qsub() {
	local label=$1 profile=$2 directive=$3 script=$T_DIR/$1.pbs id out
	shift 3

	t_run job_script "$profile" "$script" --set job.name="itest-$label" \
		--set job.account=itest-project "$@"
	t_is "$T_RC" 0 "$label: job-script renders the $profile worker script"
	if [ "$T_RC" -ne 0 ]; then
		t_fail "$label: job-script output" "$T_ERR"
		return
	fi
	t_like "$(cat "$script")" "$directive" "$label: script asks for the resources in $profile syntax"

	out=$(qsub -o "$T_DIR/logs/$label.out" -e "$T_DIR/logs/$label.err" "$script" 2>&1)
	id=$(printf '%s\n' "$out" | tail -1)
	if ! [[ $id =~ ^[0-9]+$ ]]; then
		t_fail "$label: qsub accepts the script" "$out"
		return
	fi
	slurm_track "$id"
	t_ok "$label: qsub accepts the script (job $id)"

	wait_for 30 qstat_state_is "$id" 'R|C|E'
	t_is "$(slurm_nodes "$id")" 1 "$label: NumNodes=1"
	t_is "$(slurm_field "$id" NumCPUs)" 2 "$label: NumCPUs=2 (job.cores)"
	t_is "$(slurm_field "$id" NumTasks)" 2 "$label: NumTasks=2 (one per worker)"
	t_is "$(slurm_mib "$(slurm_field "$id" MinMemoryNode)")" 1024 "$label: MinMemoryNode=1G (job.memory=1GiB)"
	t_is "$(slurm_field "$id" TimeLimit)" 00:05:00 "$label: TimeLimit=00:05:00"
	t_is "$(slurm_field "$id" Partition)" debug "$label: Partition=debug (#PBS -q)"
	t_is "$(slurm_field "$id" JobName)" "itest-$label" "$label: JobName from #PBS -N"
	t_is "$(slurm_field "$id" Account)" itest-project "$label: Account from #PBS -A"

	if wait_for 20 probe_in "$T_DIR/logs/$label.out"; then
		t_ok "$label: job started, probe line in its output"
	else
		t_fail "$label: job started, probe line in its output" \
			"state $(qstat_state "$id")" \
			"$(tail -5 "$T_DIR/logs/$label.out" "$T_DIR/logs/$label.err" 2>&1)"
	fi

	t_run qstat "$id"
	t_is "$T_RC" 0 "$label: qstat ID exits 0"
	t_like "$T_OUT" "(^|[[:space:]])${id}[[:space:]]+itest-${label}[[:space:]].*[[:space:]]R[[:space:]]+debug" \
		"$label: qstat shows the job running in queue debug"

	t_run qdel "$id"
	t_is "$T_RC" 0 "$label: qdel exits 0"
	wait_for 20 slurm_state_is "$id" CANCELLED
	t_is "$(slurm_field "$id" JobState)" CANCELLED "$label: qdel cancels the job"
	t_is "$(qstat_state "$id")" C "$label: qstat then shows it completed (C)"
}

# job_priority is PBS Pro only; sbatch skips it, like ompthreads.
check_qsub pbspro generic-pbs '#PBS -l select=1:ncpus=2:' --set job.priority=regular
t_like "$(cat "$T_DIR/pbspro.pbs")" '#PBS -l job_priority=regular' \
	"pbspro: the script qsub took carries job_priority"
check_qsub torque torque '#PBS -l nodes=1:ppn=2'

# A GPU chunk: sbatch reads the #PBS select line's mem= up to the next
# comma, so ngpus= must come before it.  sbatch skips ngpus (this node has
# no GPUs), so --test-only says whether the line parses, without a job.
t_run job_script generic-pbs "$T_DIR/gpu.pbs" --set job.gpus=1
t_like "$(cat "$T_DIR/gpu.pbs")" '#PBS -l select=1:ncpus=2:mpiprocs=2:ompthreads=1:ngpus=1:mem=1GB' \
	"gpu: select puts ngpus before mem"
t_run sbatch --test-only "$T_DIR/gpu.pbs"
if [ "$T_RC" -eq 0 ]; then
	t_ok "gpu: sbatch parses the GPU select line (--test-only)"
else
	t_fail "gpu: sbatch parses the GPU select line (--test-only)" "$T_ERR"
fi

# --- a PBS Pro batch job end to end ----------------------------------------
#
# A batch job's first chunk carries mpiprocs = workers + 1 (the scheduler
# rank).  sbatch turns mpiprocs into --ntasks-per-node and gives each task
# a CPU of its own, so mpiprocs may not exceed the node's CPUs here: one
# core per node leaves room for the extra rank on any machine.  The
# wrapper removes $PBS_NODEFILE, so the profile's --hostfile argument is
# dropped: mpirun finds the Slurm allocation on its own.

if ! [ -x "$CLUSTER_RANK" ]; then
	t_skip "pbs batch job through qsub" "cluster-rank is not built"
else
	mkdir -p "$T_DIR/marks"
	for i in 1 2 3 4 5 6; do
		echo "echo \"\$CLUSTER_TASK_ID\" > $T_DIR/marks/$i"
	done >"$T_DIR/tasks.txt"
	t_run "$CLUSTER" --profile generic-pbs \
		--set job.cores=1 --set job.memory=1GiB \
		--set job.walltime=00:05:00 --set job.queue=debug \
		--set job.name=itest-batch --set scheduler.host=127.0.0.1 \
		--set 'launch.args=[]' \
		job-script --batch "$T_DIR/tasks.txt"
	t_is "$T_RC" 0 "job-script --batch renders a PBS Pro batch script"
	printf '%s\n' "$T_OUT" >"$T_DIR/batch.pbs"
	t_like "$T_OUT" '#PBS -l select=1:ncpus=1:mpiprocs=2:' \
		"batch script's chunk has a slot for the scheduler rank"
	out=$(qsub -o "$T_DIR/logs/batch.out" -e "$T_DIR/logs/batch.err" "$T_DIR/batch.pbs" 2>&1)
	id=$(printf '%s\n' "$out" | tail -1)
	if ! [[ $id =~ ^[0-9]+$ ]]; then
		t_fail "qsub accepts the batch script" "$out"
	else
		slurm_track "$id"
		wait_for 60 qstat_state_is "$id" C
		t_is "$(slurm_field "$id" JobState) $(slurm_field "$id" ExitCode)" \
			"COMPLETED 0:0" "batch job completes with exit 0"
		t_like "$(cat "$T_DIR/logs/batch.out" 2>&1)" $'tasks: 6\ndone: 6\nfailed: 0' \
			"batch job's summary: 6 tasks done, none failed"
		t_is "$(cat "$T_DIR"/marks/* 2>/dev/null | sort -n | tr '\n' ' ')" \
			"1 2 3 4 5 6 " "each task ran once"
	fi
fi

t_done

#!/bin/bash
# A batch job's exit status carries its verdict whatever the launcher
# does: the generated casper, generic-pbs, torque and generic-slurm batch
# scripts, with one failing task, exit non-zero with launch.recovery on
# (Open MPI 4.1 with orte_enable_recovery exits 0 however its ranks
# ended) and off; with none failing they exit 0.  A failing batch ends
# its ranks normally: no Open MPI abort banner in the job's output.  So
# do worker job scripts whose ranks find no scheduler: they exit 3.
#
# The PBS scripts go through Slurm's qsub wrapper on the private Slurm
# (see 0031).  The wrapper sets neither PBS_JOBID nor PBS_NODEFILE, so a
# prologue stands in for PBS's job id and launch.args is emptied: mpirun
# finds the Slurm allocation on its own.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
if ! have_slurm || ! command -v qsub >/dev/null; then
	t_skip "batch verdicts through sbatch and qsub" "slurm-wlm, slurm-wlm-torque or munge missing, or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

mkdir -p "$T_DIR/logs"
cd "$T_DIR" || t_bail "cd $T_DIR"
printf 'true\nfalse\ntrue\n' >"$T_DIR/fail.txt"
printf 'true\ntrue\n' >"$T_DIR/ok.txt"

# render LABEL PROFILE TASKS RECOVERY: a batch script in LABEL.sh; TASKS
# "worker": a worker job script for a cluster whose head job has not
# started, whose ranks give up after worker.death-timeout.
render() {
	local label=$1 profile=$2 tasks=$3 recovery=$4 extra=() what
	case $profile in
	generic-slurm) ;;
	*) extra=(--set 'launch.args=[]'
		--set "job.prologue=['export CLUSTER_JOB_ID=\$SLURM_JOB_ID']") ;;
	esac
	what=(--batch "$T_DIR/$tasks")
	if [ "$tasks" = worker ]; then
		what=(--role worker)
		extra+=(--set worker.death-timeout=3s)
		mkdir -p "$CLUSTER_HOME/v-$label"
		chmod 700 "$CLUSTER_HOME/v-$label"
	fi
	"$CLUSTER" --name "v-$label" --profile "$profile" \
		--set job.cores=1 --set job.memory=1GiB --set job.reserved-memory=0 \
		--set job.processes=1 --set job.walltime=00:05:00 \
		--set job.queue=debug --set job.name="itest-$label" \
		--set job.log-directory="$T_DIR/logs" \
		--set scheduler.host=127.0.0.1 --set launch.recovery="$recovery" \
		"${extra[@]}" job-script "${what[@]}" >"$T_DIR/$label.sh"
}

# submit LABEL PROFILE: the job id.
submit() {
	local out
	case $2 in
	generic-slurm)
		out=$(sbatch --parsable -o "$T_DIR/logs/$1.out" -e "$T_DIR/logs/$1.err" "$T_DIR/$1.sh" 2>&1) ;;
	*)
		out=$(qsub -o "$T_DIR/logs/$1.out" -e "$T_DIR/logs/$1.err" "$T_DIR/$1.sh" 2>&1) ;;
	esac
	out=$(printf '%s\n' "$out" | tail -1)
	[[ $out =~ ^[0-9]+$ ]] || { echo "# submit $1: $out" >&2; return 1; }
	echo "$out"
}

declare -A job want
profiles=(casper generic-pbs torque generic-slurm)
if ! srun --mpi=list 2>&1 | grep -qw pmix; then
	t_skip "generic-slurm batch verdicts" "this Slurm has no mpi/pmix plugin"
	profiles=(casper generic-pbs torque)
fi
for p in "${profiles[@]}"; do
	for case in fail-rec:fail.txt:true:1 fail-norec:fail.txt:false:1 \
		ok-rec:ok.txt:true:0 ok-norec:ok.txt:false:0 \
		worker-rec:worker:true:3 worker-norec:worker:false:3; do
		IFS=: read -r what tasks rec code <<<"$case"
		label=$p-$what
		if ! render "$label" "$p" "$tasks" "$rec"; then
			t_fail "$label: the batch script renders"
			continue
		fi
		want[$label]=$code
		job[$label]=$(submit "$label" "$p") && slurm_track "${job[$label]}"
	done
done

t_like "$(cat "$T_DIR/generic-pbs-fail-rec.sh")" 'orte_enable_recovery' \
	"generic-pbs: the script asks for recovery"
for label in "${!want[@]}"; do
	id=${job[$label]:-}
	if [ -z "$id" ]; then
		t_fail "$label: the batch system accepts the script"
		continue
	fi
	wait_for 120 slurm_state_is "$id" 'COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL'
	code=$(slurm_field "$id" ExitCode)
	out=$(cat "$T_DIR/logs/$label.out" "$T_DIR/logs/$label.err" 2>&1)
	t_is "${code%%:*}" "${want[$label]}" "$label: the job exits ${want[$label]}"
	t_unlike "$out" 'Primary job|mpirun detected|has been aborted' \
		"$label: no Open MPI abort banner"
	if [[ $label = *-worker-* ]]; then
		t_like "$out" 'no scheduler address in .* giving up' \
			"$label: the worker job's rank gave up"
		t_is "$(ls "$CLUSTER_HOME/v-$label" | grep -c '^verdict\.')" 0 \
			"$label: no verdict file is left behind"
	elif [ "${want[$label]}" = 1 ]; then
		t_like "$out" $'tasks: 3\ndone: 2\nfailed: 1' "$label: the summary counts one failure"
	else
		t_like "$out" $'tasks: 2\ndone: 2\nfailed: 0' "$label: the summary counts none failed"
	fi
done

t_done

#!/bin/bash
# Batch mode's other promises (cluster-rank(1)).
#
# The PBS scripts here run by bash with a PBS-like environment
# (PBS_JOBID, PBS_O_WORKDIR, started in $HOME as PBS starts jobs): Slurm's
# qsub wrapper cannot say, since sbatch starts a job where it was
# submitted and the wrapper sets no PBS_O_WORKDIR.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

# --- PBS Pro and Torque scripts cd to $PBS_O_WORKDIR ------------------------

work=$T_DIR/work
mkdir -p "$work"
printf '#!/bin/sh\npwd > ran-in\n' >"$work/prep.sh"
chmod +x "$work/prep.sh"
echo ./prep.sh >"$work/tasks.txt"
for p in generic-pbs torque; do
	rm -f "$work/ran-in"
	(cd "$work" && "$CLUSTER" --name "wd-$p" --profile "$p" \
		--set job.cores=1 --set job.memory=1GiB --set job.reserved-memory=0 \
		--set job.processes=1 --set scheduler.host=127.0.0.1 \
		--set 'launch.args=[]' job-script --batch tasks.txt) >"$T_DIR/$p.sh"
	t_like "$(cat "$T_DIR/$p.sh")" 'cd "\$PBS_O_WORKDIR"' "$p: the script changes to \$PBS_O_WORKDIR"
	t_run bash -c "cd \"\$HOME\" && PBS_JOBID=4$RANDOM.server PBS_O_WORKDIR='$work' timeout 60 bash '$T_DIR/$p.sh'"
	t_is "$T_RC" 0 "$p: the batch with a relative task path succeeds"
	t_is "$(cat "$work/ran-in" 2>/dev/null)" "$work" "$p: the task ran in the submitting directory"
done

t_done

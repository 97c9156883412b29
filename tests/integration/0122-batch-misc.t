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

# --- one rank, or no mpirun: rank 0 runs the tasks itself -----------------
#
# Two tasks that each wait for the other's marker end only when they run
# at the same time: rank 0's own worker takes as many tasks as its cores.

one=$T_DIR/one
mkdir -p "$one"
for i in 1 2; do
	echo "sh -c 'touch $one/\$CLUSTER_TASK_ID; for n in \$(seq 100); do [ \$(ls $one | wc -l) -ge 2 ] && exit 0; sleep 0.1; done; exit 1'"
done >"$one.txt"
t_run timeout 60 "$CLUSTER_RANK" --no-bind --cores 2 --set scheduler.host=127.0.0.1 \
	--name one --run "$one.txt"
t_is "$T_RC" 0 "without mpirun the batch runs and ends"
t_like "$T_OUT" $'tasks: 2\ndone: 2\nfailed: 0' "without mpirun both tasks ran at once"
t_like "$T_ERR" 'rank 0 runs the tasks itself' "it says rank 0 runs the tasks"
rm -f "$one"/*
t_run timeout 60 mpirun -np 1 "$CLUSTER_RANK" --no-bind --cores 2 \
	--set scheduler.host=127.0.0.1 --name one --run "$one.txt"
t_is "$T_RC" 0 "with one rank the batch runs and ends"
t_like "$T_OUT" $'tasks: 2\ndone: 2\nfailed: 0' "with one rank both tasks ran at once"

# --- a plain progress line when stderr is no terminal ---------------------

printf 'sleep 3\nsleep 3\n' >"$T_DIR/slow.txt"
t_run timeout 60 mpirun -np 2 "$CLUSTER_RANK" --no-bind --set scheduler.host=127.0.0.1 \
	--name prog --progress-interval 1 --run "$T_DIR/slow.txt"
t_is "$T_RC" 0 "a slow batch ends"
t_like "$T_ERR" $'progress: 0/2 done, 0 failed, 2 running, 1 workers, [0-9]+ s\n' \
	"a plain progress line every --progress-interval on a stderr that is a file"
t_unlike "$T_ERR" $'\r' "no carriage returns in it"
t_run timeout 60 "$CLUSTER_RANK" --progress-interval soon --run "$T_DIR/slow.txt"
t_is "$T_RC" 2 "a bad --progress-interval is a usage error"

# --- the summary names where a failed task's output is --------------------

printf 'sh -c "echo oops-on-stderr >&2; exit 4"\ntrue\n' >"$T_DIR/fails.txt"
t_run timeout 60 mpirun -np 2 "$CLUSTER_RANK" --no-bind --set scheduler.host=127.0.0.1 \
	--name sum --run "$T_DIR/fails.txt"
t_like "$T_OUT" $'1: exit code 4: [^\n]*\n     output: [^ ]*/logs/1.out [^ ]*/logs/1.err' \
	"the summary names the failed task's output files"
errf=$(printf '%s\n' "$T_OUT" | sed -n 's/^     output: [^ ]* //p')
t_is "$(cat "$errf" 2>/dev/null)" oops-on-stderr "the named file holds the task's stderr"

t_done

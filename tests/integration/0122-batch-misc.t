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
	--set task.output=files --name sum --run "$T_DIR/fails.txt"
t_like "$T_OUT" $'1: exit code 4: [^\n]*\n     output: [^ ]*/logs/1.out [^ ]*/logs/1.err' \
	"the summary names the failed task's output files"
errf=$(printf '%s\n' "$T_OUT" | sed -n 's/^     output: [^ ]* //p')
t_is "$(cat "$errf" 2>/dev/null)" oops-on-stderr "the named file holds the task's stderr"

# --- a worker job whose ranks give up exits non-zero ----------------------
#
# Generated generic-pbs worker scripts, run by bash as above, for a cluster
# whose head job has not started: every rank gives up after
# worker.death-timeout.  With launch.recovery Open MPI 4.1's mpirun exits
# 0 however its ranks ended; the script exits with what they recorded.
# The same scripts exit 0 once their workers served a scheduler that sent
# them away, and 4 when a rank's worker keeps crashing.

# wk_render LABEL RECOVERY PROCESSES [--set ...]: a worker script in LABEL.sh
wk_render() {
	local label=$1 rec=$2 procs=$3
	shift 3
	"$CLUSTER" --name wk --profile generic-pbs --set job.cores="$procs" \
		--set job.memory=1GiB --set job.reserved-memory=0 \
		--set job.processes="$procs" --set scheduler.host=127.0.0.1 \
		--set 'launch.args=[]' --set launch.recovery="$rec" \
		--set worker.death-timeout=3s --set worker.heartbeat=1s "$@" \
		job-script --role worker >"$T_DIR/$label.sh"
}
# wk_job LABEL [VAR=VALUE...]: run LABEL.sh as PBS would; status in T_RC
wk_job() {
	local label=$1
	shift
	t_run env PBS_JOBID="5$RANDOM.server" PBS_O_WORKDIR="$T_DIR" "$@" \
		timeout 90 bash "$T_DIR/$label.sh"
}
# no address in it: the head job has not started
mkdir -p "$CLUSTER_HOME/wk"
chmod 700 "$CLUSTER_HOME" "$CLUSTER_HOME/wk"
for rec in true false; do
	wk_render "wk-$rec" "$rec" 2
	wk_job "wk-$rec"
	t_is "$T_RC" 3 "recovery $rec: a worker job whose ranks all found no scheduler exits 3"
	t_is "$(grep -c 'no scheduler address in .* giving up' <<<"$T_ERR")" 2 \
		"recovery $rec: both ranks say they gave up"
	t_unlike "$T_ERR" 'Primary job|mpirun detected|has been aborted' \
		"recovery $rec: no Open MPI abort banner"
	t_is "$(ls "$CLUSTER_HOME/wk" | grep -c '^verdict\.')" 0 \
		"recovery $rec: the script leaves no verdict file behind"
done
wk_job wk-true PBS_ARRAY_INDEX=7
t_is "$T_RC" 3 "an array element's worker job exits 3 too"
t_like "$(cat "$T_DIR/wk-true.sh")" 'cluster_verdict}_\$CLUSTER_JOB_INDEX' \
	"an array element's ranks record under its own index"

t_spawn bash -c "exec timeout 120 mpirun -np 1 '$CLUSTER_RANK' --no-bind \
	--set scheduler.host=127.0.0.1 --set worker.heartbeat=1s --name wk \
	>'$T_DIR/wk-head.out' 2>'$T_DIR/wk-head.err'"
wk_head=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/wk/address" ||
	t_bail "a head job for the worker jobs starts" "$(cat "$T_DIR/wk-head.err")"

# a worker job against it, its status in LABEL.rc once it ends
wk_spawn() {
	local label=$1
	t_spawn bash -c "PBS_JOBID=6$RANDOM.server PBS_O_WORKDIR='$T_DIR' \
		timeout 90 bash '$T_DIR/$label.sh' >'$T_DIR/$label.out' \
		2>'$T_DIR/$label.err'; echo \$? >'$T_DIR/$label.rc'"
}
joined() {
	[ "$(grep -c 'joined' "$T_DIR/wk-head.err")" -ge "$1" ]
}
wk_render wk-crash true 1 --set worker.max-restarts=0
wk_spawn wk-crash
crash_pg=$T_PID
wait_for 30 joined 1
# the worker: the process under the job script's own whose argv has the
# `worker` command
worker_of() {
	local p kids=$1
	while [ -n "$kids" ]; do
		for p in $kids; do
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
				grep -q "/cluster --name wk .* worker " && { echo "$p"; return 0; }
		done
		kids=$(for p in $kids; do ps -o pid= --ppid "$p"; done)
	done
	return 1
}
crash_worker=$(worker_of "$crash_pg")
t_check "the crashing job's worker process is found" test -n "$crash_worker"
[ -n "$crash_worker" ] && kill -9 "$crash_worker"
wait_for 60 test -s "$T_DIR/wk-crash.rc"
t_is "$(cat "$T_DIR/wk-crash.rc" 2>/dev/null)" 4 \
	"a worker job whose rank's worker keeps crashing exits 4"
t_like "$(cat "$T_DIR/wk-crash.err")" 'rank 0 has no worker any more' \
	"its rank says it has no worker"

wk_spawn wk-true
ok_pg=$T_PID
wait_for 30 joined 3 ||
	t_fail "the worker job's 2 workers join" "$(cat "$T_DIR/wk-head.err")"
# the head job ends: it sends its workers away
t_kill "$wk_head"
wait_for 60 test -s "$T_DIR/wk-true.rc"
t_is "$(cat "$T_DIR/wk-true.rc" 2>/dev/null)" 0 \
	"a worker job whose workers served and were sent away exits 0"
t_unlike "$(cat "$T_DIR/wk-true.err")" 'Primary job|mpirun detected|has been aborted' \
	"no Open MPI abort banner"
t_kill "$ok_pg"

t_done

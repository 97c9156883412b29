#!/bin/bash
# Open MPI with orte_enable_recovery: worker ranks killed with kill -9 do
# not end the job.  Each killed rank's worker finishes and reports the
# task it was running and leaves; the scheduler runs the remaining tasks
# elsewhere, each once, and the batch ends in order (cluster-rank(1),
# "What outlives what").  The kernel may send a worker its parent-death
# signal (SIGTERM) more than once for one death of its rank, which must not
# count as the second SIGTERM that kills tasks: three ranks are killed, so
# the run sees it more often than not.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

m=$T_DIR/m
mkdir -p "$m"
for i in $(seq 1 12); do
	echo "sh -c 'echo \$CLUSTER_WORKER >> $m/\$CLUSTER_TASK_ID.start; sleep 4; echo \$CLUSTER_WORKER >> $m/\$CLUSTER_TASK_ID.done'"
done >"$T_DIR/tasks.txt"

t_spawn bash -c "timeout 150 mpirun -np 5 --oversubscribe --mca orte_enable_recovery 1 \
	'$CLUSTER_RANK' --no-bind --cores 1 --set scheduler.host=127.0.0.1 \
	--set worker.heartbeat=1s --name rec --run '$T_DIR/tasks.txt' -v \
	>'$T_DIR/rec.out' 2>'$T_DIR/rec.err'; echo \$? >'$T_DIR/rec.rc'"
pg=$T_PID
wait_for 30 pgrep -x mpirun -s "$pg" >/dev/null || t_bail "mpirun starts"
mpirun_pid=$(pgrep -x mpirun -s "$pg")

# rank_pid N: the cluster-rank process of this job whose worker is rankN.
rank_pid() {
	local r w
	for r in $(pgrep -P "$mpirun_pid"); do
		for w in $(pgrep -P "$r"); do
			if tr '\0' ' ' <"/proc/$w/cmdline" 2>/dev/null |
				grep -q -- "worker .*--name [^ ]*:rank$1 "; then
				echo "$r"
				return 0
			fi
		done
	done
	return 1
}

# running_on N: the id of a task running on rankN's worker now.
running_on() {
	local f
	for f in $(grep -l "rank$1\$" "$m"/*.start 2>/dev/null); do
		[ -e "${f%.start}.done" ] || { basename "$f" .start; return 0; }
	done
	return 1
}

# workers_in FILE: the workers a task's file names, without the host.
workers_in() {
	sed 's/.*://' "$1" 2>/dev/null | tr '\n' ' '
}

wait_for 30 bash -c "[ \$(grep -c ' joined from' '$T_DIR/rec.err') -ge 4 ]" ||
	t_bail "the 4 workers join" "$(cat "$T_DIR/rec.err")"
killed=(1 2 3)
declare -A task worker
for r in "${killed[@]}"; do
	wait_for 30 running_on "$r" >/dev/null || t_bail "rank $r runs a task"
done
for r in "${killed[@]}"; do
	task[$r]=$(running_on "$r")
	rp=$(rank_pid "$r")
	worker[$r]=$(pgrep -P "$rp")
	kill -9 "$rp"
done

wait_for 120 test -s "$T_DIR/rec.rc" ||
	t_bail "the batch ends" "$(cat "$T_DIR/rec.err")"
t_is "$(cat "$T_DIR/rec.rc")" 0 "mpirun exits 0: the job survives the lost ranks"
t_like "$(cat "$T_DIR/rec.out")" "done: 12" "every task is done"
t_like "$(cat "$T_DIR/rec.out")" "failed: 0" "none failed"
for r in "${killed[@]}"; do
	t=${task[$r]}
	t_is "$(workers_in "$m/$t.start")" "rank$r " \
		"task $t, running on rank $r when it was killed, ran there only"
	t_is "$(workers_in "$m/$t.done")" "rank$r " "rank $r's worker finished task $t"
	t_check "rank $r's worker has left" bash -c "! kill -0 ${worker[$r]} 2>/dev/null"
done
once=$(for f in "$m"/*.start; do wc -l <"$f"; done | sort -u | tr '\n' ' ')
t_is "$once" "1 " "each task ran once"
t_is "$(ls "$m" | grep -c '\.done$')" 12 "all 12 finished"
t_unlike "$(grep "worker '" "$T_DIR/rec.err")" "killing [0-9]+ running tasks" \
	"no worker killed a task"
t_is "$(grep -c "signal 15: finishing 1 running tasks (its rank is gone)" "$T_DIR/rec.err")" 3 \
	"each killed rank's worker says it finishes its task"
t_check "nothing of the job is left" wait_for 10 bash -c "! pgrep -s $pg >/dev/null"

t_done

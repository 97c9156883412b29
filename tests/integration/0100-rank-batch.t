#!/bin/bash
# cluster-rank --run: every task of a file runs exactly once, the summary
# says so, a failing task makes the run fail and is named, and per-task
# time and memory limits kill the tasks that pass them.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

mpi() {
	timeout 120 mpirun -np "$1" --oversubscribe "${@:2}"
}
rank() {
	"$CLUSTER_RANK" --set scheduler.host=127.0.0.1 "$@"
}

# --- 300 tasks, 4 ranks -------------------------------------------------
m=$T_DIR/markers
mkdir -p "$m"
for i in $(seq 1 300); do
	echo "echo \"\$CLUSTER_TASK_ID $i\" >> $m/$i"
done >"$T_DIR/tasks.txt"
echo "# a comment, and a blank line" >>"$T_DIR/tasks.txt"
echo >>"$T_DIR/tasks.txt"

t_run mpi 4 "$CLUSTER_RANK" --set scheduler.host=127.0.0.1 --name batch \
	--run "$T_DIR/tasks.txt"
t_is "$T_RC" 0 "300 tasks on 4 ranks: exit 0"
t_is "$(ls "$m" | wc -l)" 300 "every task left its marker"
bad=
for i in $(seq 1 300); do
	if [ "$(cat "$m/$i")" != "$i $i" ]; then
		bad="$bad $i"
	fi
done
t_is "$bad" "" "each marker written once, by the task with that id"
t_like "$T_OUT" $'tasks: 300\ndone: 300\nfailed: 0' "summary counts 300 done, 0 failed"
t_like "$T_OUT" "wall time: [0-9.]+ s" "summary gives the wall time"
t_like "$T_OUT" "tasks/s: [0-9.]+" "summary gives tasks/s"
t_unlike "$T_OUT" "failed tasks" "no failed task is listed"
t_is "$(cat "$CLUSTER_HOME/batch/logs/7.out" 2>/dev/null; echo x)" "x" \
	"task output goes to the state directory's logs"
t_check "the address file is removed at the end" \
	test ! -e "$CLUSTER_HOME/batch/address"

# --- a failing task ------------------------------------------------------
cat >"$T_DIR/fail.txt" <<EOT
true
echo out; exit 3
true
EOT
t_run mpi 3 "$CLUSTER_RANK" --set scheduler.host=127.0.0.1 --name fail \
	--run "$T_DIR/fail.txt"
t_is "$T_RC" 1 "a failed task makes the run exit 1"
t_like "$T_OUT" $'done: 2\nfailed: 1' "summary counts 2 done, 1 failed"
t_like "$T_OUT" "  2: exit code 3: echo out; exit 3" "summary names the failed task and its command"
t_is "$("$CLUSTER" --name fail logs 2 2>/dev/null)" "out" "the failed task's output is kept"

# retries: a task that fails once then succeeds
cat >"$T_DIR/retry.txt" <<EOT
if [ -e $T_DIR/tried ]; then exit 0; else touch $T_DIR/tried; exit 1; fi
EOT
t_run mpi 2 "$CLUSTER_RANK" --set scheduler.host=127.0.0.1 --name retry \
	--retries 1 --run "$T_DIR/retry.txt"
t_is "$T_RC" 0 "--retries 1: a task failing once succeeds on its second run"
t_like "$T_OUT" $'done: 1\nfailed: 0\nretried: 1' "summary counts the retry"

# --- limits ----------------------------------------------------------------
cat >"$T_DIR/limits.txt" <<EOT
sleep 20
head -c 2000000000 /dev/zero | tail >/dev/null
true
EOT
start=$SECONDS
t_run mpi 3 "$CLUSTER_RANK" --set scheduler.host=127.0.0.1 --name limits \
	--time-limit 1s --task-memory 100MB --run "$T_DIR/limits.txt"
t_is "$T_RC" 1 "tasks over their limits fail the run"
t_like "$T_OUT" $'done: 1\nfailed: 2' "summary: 1 done, 2 failed"
t_like "$T_OUT" "  1: time limit: sleep 20" "the sleeper is reported killed for its time limit"
t_like "$T_OUT" "  2: memory limit: head -c" "the memory hog is reported killed for its memory limit"
t_check "the run did not wait for the sleeper" test $((SECONDS - start)) -lt 15

# --- bad input ---------------------------------------------------------------
t_run mpi 2 "$CLUSTER_RANK" --name nofile --run "$T_DIR/missing.txt"
t_is "$T_RC" 2 "a missing task file: exit 2"
t_like "$T_ERR" "missing.txt" "the error names the file"
t_run "$CLUSTER_RANK" --cores zero
t_like "$T_ERR" "--cores wants a number" "a bad --cores is refused by name"

t_done

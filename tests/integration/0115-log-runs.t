#!/bin/bash
# Task ids start at 1 in every run of a head job, and a run never writes
# over an earlier one's output: the second run of the same name keeps the
# first run's logs in logs.1/, its own in logs/, where `cluster logs`
# and the batch summary look; `cluster logs --run N` reads logs.N/.  Both ways output is kept: per-task files
# (task.output: files) and the worker logs (the default).
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"

run() {
	printf 'echo %s; exit %s\n' "$1" "$2" >"$T_DIR/tasks.txt"
	t_run timeout 60 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
		--set scheduler.host=127.0.0.1 --set task.output=files --name R \
		--run "$T_DIR/tasks.txt"
}
logs=$CLUSTER_HOME/R/logs

run first 0
t_is "$T_RC" 0 "the first run succeeds"
t_is "$(cat "$logs/1.out" 2>&1)" "first" "its task 1 wrote logs/1.out"

run second 3
t_is "$T_RC" 1 "the second run's task fails"
t_is "$(cat "$logs/1.out" 2>&1)" "second" "the second run's task 1 is in logs/1.out"
t_is "$(cat "$logs.1/1.out" 2>&1)" "first" "the first run's is kept in logs.1/1.out"
t_like "$T_OUT" "output: $logs/1.out $logs/1.err" "the summary names the second run's file"

run third 0
t_is "$(cat "$logs.1/1.out" "$logs.2/1.out" "$logs/1.out" 2>&1 | tr '\n' ' ')" \
	"first second third " "a third run moves the second's to logs.2"

# cluster logs reaches the earlier runs: --run N reads logs.N/.
t_run "$CLUSTER" --name R logs 1
t_is "$T_OUT" "third" "logs 1 after the job shows the last run's"
t_run "$CLUSTER" --name R logs --run 1 1
t_is "$T_OUT" "first" "logs --run 1 1 shows the first run's task 1"
t_like "$T_ERR" "run 1 of 'R'; reading $logs.1/1.out" "logs --run 1 names the file it reads"
t_run "$CLUSTER" --name R logs --run 2 1
t_is "$T_OUT" "second" "logs --run 2 1 shows the second run's"
t_run "$CLUSTER" --name R logs --run 7 1
t_is "$T_RC" 1 "logs --run 7: no such run, exit 1"
t_like "$T_ERR" "no run 7 of 'R': no folder '$logs.7' \(runs that kept the task's: 1, 2\)" \
	"logs --run 7 names the folder and the runs that have the task"
t_run "$CLUSTER" --name R logs -f --run 1 1
t_is "$T_RC" 2 "logs -f --run: a usage error"
# A task only an earlier run had: the lookup names the runs that kept it.
printf 'echo a\necho b\n' >"$T_DIR/two.txt"
t_run timeout 60 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
	--set scheduler.host=127.0.0.1 --set task.output=files --name R \
	--run "$T_DIR/two.txt"
run fourth 0
t_run "$CLUSTER" --name R logs 2
t_is "$T_RC" 1 "logs 2: the last run has no task 2"
t_like "$T_ERR" "earlier runs 4 kept task 2's stdout: cluster logs --run N 2" \
	"logs 2 says which earlier run kept task 2"
t_run "$CLUSTER" --name R logs --run 4 2
t_is "$T_OUT" "b" "logs --run 4 2 shows it"

# The same with the worker logs: each run's in its own folder.
wrun() {
	printf 'echo %s; exit %s\n' "$1" "$2" >"$T_DIR/tasks.txt"
	t_run timeout 60 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
		--set scheduler.host=127.0.0.1 --name W --run "$T_DIR/tasks.txt"
}
wlogs=$CLUSTER_HOME/W/logs
wrun first 0
wrun second 3
t_is "$T_RC" 1 "worker logs: the second run's task fails"
t_like "$T_OUT" "output: the worker logs in $wlogs \(cluster logs 1\)" \
	"worker logs: the summary says where the output is"
t_is "$("$CLUSTER" --name W logs 1 2>/dev/null)" "second" \
	"worker logs: cluster logs 1 after the job shows the second run's"
t_is "$(cat "$wlogs".1/worker-*.log 2>/dev/null | tr -d '\0' | grep -a -c first)" 1 \
	"worker logs: the first run's worker log is kept in logs.1/"
t_run "$CLUSTER" --name W logs --run 1 1
t_is "$T_OUT" "first" "worker logs: logs --run 1 1 reads the first run's worker logs"
t_like "$T_ERR" "run 1 of 'W'; reading the worker logs in $wlogs.1 " \
	"worker logs: logs --run 1 says where it reads"
t_is "$(ls "$wlogs" | grep -c -e '\.out$' -e '\.err$')" 0 \
	"worker logs: no file per task"

# A head job that serves, restarted: `cluster logs 1` shows this run's.
for word in one two; do
	t_spawn timeout 120 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
		--set scheduler.host=127.0.0.1 --name S >"$T_DIR/head-$word.log" 2>&1
	head=$T_PID
	wait_for 30 test -s "$CLUSTER_HOME/S/address" ||
		t_bail "head '$word' publishes its address" "$(cat "$T_DIR/head-$word.log")"
	t_run timeout 30 "$CLUSTER" --name S submit -- echo "$word"
	t_run timeout 30 "$CLUSTER" --name S wait 1
	t_run timeout 30 "$CLUSTER" --name S logs 1
	t_is "$T_OUT" "$word" "head '$word': cluster logs 1 shows its own task 1"
	# the scheduler ends on TERM as on `cluster stop`, its ranks with it
	pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/S/address")
	kill -TERM "$pid"
	wait_for 60 bash -c "! kill -0 -- -$head 2>/dev/null" ||
		t_kill "$head"
done
t_is "$(grep -a -c one "$CLUSTER_HOME"/S/logs.1/worker-*.log 2>&1)" 1 \
	"the first head's task 1 is kept in its worker log"

t_done

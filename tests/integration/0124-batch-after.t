#!/bin/bash
# After a batch job, and around it (cluster-rank(1), cluster(1) logs):
# the output a batch left in the state directory, a worker job that
# starts before its head job, and the output of every attempt of a
# retried task.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

# --- cluster logs ID after the job: read from the state directory ---------

printf 'sh -c "echo out-of-one; echo err-of-one >&2; exit 3"\necho out-of-two\n' \
	>"$T_DIR/after.txt"
t_run timeout 60 mpirun -np 2 "$CLUSTER_RANK" --no-bind --set scheduler.host=127.0.0.1 \
	--name after --run "$T_DIR/after.txt"
t_is "$T_RC" 1 "a batch with a failing task ends non-zero"
t_run "$CLUSTER" --name after logs 1
t_is "$T_RC" 0 "logs after the job: exit 0"
t_is "$T_OUT" out-of-one "logs after the job prints the task's stdout from the state directory"
t_like "$T_ERR" "no scheduler answers.*reading .*/after/logs/1.out" "it says which file it reads"
t_run "$CLUSTER" --name after logs --stderr 1
t_is "$T_OUT" err-of-one "logs --stderr after the job prints the task's stderr"
t_run "$CLUSTER" --name after logs 2
t_is "$T_OUT" out-of-two "logs of the other task"
t_run "$CLUSTER" --name after logs 9
t_is "$T_RC" 1 "logs of a task with no output there: exit 1"
t_like "$T_ERR" "task 9 has no stdout in '[^']*/after/logs'" "it says the task has no output there"
t_is "$T_OUT" "" "and prints nothing on stdout"

# Several runs' folders (logs/RUN/ID.out): the newest, named.
mkdir -p "$CLUSTER_HOME/after/logs/run-a" "$CLUSTER_HOME/after/logs/run-b"
echo older >"$CLUSTER_HOME/after/logs/run-a/1.out"
touch -d '2 hours ago' "$CLUSTER_HOME/after/logs/run-a/1.out"
touch -d '1 hour ago' "$CLUSTER_HOME/after/logs/1.out"
echo newest >"$CLUSTER_HOME/after/logs/run-b/1.out"
t_run "$CLUSTER" --name after logs 1
t_is "$T_OUT" newest "of several runs, logs reads the newest"
t_like "$T_ERR" "reading .*/logs/run-b/1.out, the newest of 3 runs" "it says which run it reads"
t_run "$CLUSTER" --name nosuch logs 1
t_is "$T_RC" 1 "logs of a cluster that never ran: exit 1"

t_done

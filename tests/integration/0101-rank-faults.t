#!/bin/bash
# Faults during a batch run: a worker killed mid-task is restarted by its
# nanny, which kills the task the worker left running, and the task
# completes exactly once; a whole rank killed (nanny and worker) leaves its
# tasks to the other ranks; a worker that stops answering is declared lost
# after missed heartbeats and its task runs elsewhere.  mpirun keeps going
# after a lost rank only with orte_enable_recovery.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

# tasks FILE: task 1 records its worker's pid ($PPID of the task's shell)
# and its own (the leader of its process group), then waits for the test
# to say go and only then writes its marker; 20 quick tasks follow.
tasks() {
	local m=$T_DIR/$2
	mkdir -p "$m"
	{
		echo "echo \$\$ > $T_DIR/$2.tpid; echo \$PPID > $T_DIR/$2.wpid; while [ ! -e $T_DIR/$2.go ]; do sleep 0.05; done; echo \$CLUSTER_WORKER >> $m/1"
		for i in $(seq 2 21); do
			echo "sleep 0.1; echo \$CLUSTER_TASK_ID >> $m/$i"
		done
	} >"$1"
}

markers_ok() {
	local m=$T_DIR/$1 i
	for i in $(seq 1 21); do
		[ -s "$m/$i" ] || return 1
	done
}

# --- kill -9 the worker process, not the rank -----------------------------
tasks "$T_DIR/w.txt" w
t_spawn bash -c "timeout 120 mpirun -np 3 --oversubscribe --mca orte_enable_recovery 1 \
	'$CLUSTER_RANK' --set scheduler.host=127.0.0.1 --set worker.heartbeat=1s \
	--name w --run '$T_DIR/w.txt' >'$T_DIR/w.out' 2>'$T_DIR/w.err'; echo \$? >'$T_DIR/w.rc'"
mpi_pg=$T_PID
if wait_for 30 test -s "$T_DIR/w.wpid"; then
	wpid=$(cat "$T_DIR/w.wpid")
	comm=$(tr '\0' ' ' </proc/"$wpid"/cmdline 2>/dev/null)
	t_like "$comm" "cluster .*worker" "task 1 runs under a 'cluster worker' process"
	tpid=$(cat "$T_DIR/w.tpid")
	kill -9 "$wpid"
	# The orphaned run (its shell and its sleeps, all in its process
	# group) is killed by the nanny, not left to finish beside the
	# requeued one.
	t_check "the killed worker's task is gone with it" \
		wait_for 10 bash -c "! pgrep -g $tpid >/dev/null"
	# The requeued run writes the pid of the worker it lands on.
	wait_for 30 bash -c "[ -s '$T_DIR/w.wpid' ] && [ \$(cat '$T_DIR/w.wpid') != $wpid ]"
	touch "$T_DIR/w.go"
else
	t_fail "task 1 started"
	touch "$T_DIR/w.go"
fi
wait_for 60 test -s "$T_DIR/w.rc"
t_is "$(cat "$T_DIR/w.rc" 2>/dev/null)" 0 "run with a killed worker: exit 0"
t_check "every task completed" markers_ok w
err=$(cat "$T_DIR/w.err")
out=$(cat "$T_DIR/w.out")
t_is "$(wc -l <"$T_DIR/w/1" 2>/dev/null)" 1 "task 1 wrote its marker once"
t_like "$err" "worker '[^']*' left [0-9]+ processes running; killed them" "the nanny says it killed the orphaned task"
t_like "$err" "worker '[^']*' killed by signal 9[^;]*; restarting it" "the nanny restarts the killed worker"
t_like "$err" "lost: connection closed" "the scheduler notices the lost worker"
t_like "$out" $'tasks: 21\ndone: 21\nfailed: 0\nretried: 1' "summary: 21 done, the lost run retried"
t_kill "$mpi_pg"

# --- kill -9 a whole worker rank ---------------------------------------------
tasks "$T_DIR/r.txt" r
t_spawn bash -c "timeout 120 mpirun -np 4 --oversubscribe --mca orte_enable_recovery 1 \
	'$CLUSTER_RANK' --set scheduler.host=127.0.0.1 --set worker.heartbeat=1s \
	--name r --run '$T_DIR/r.txt' >'$T_DIR/r.out' 2>'$T_DIR/r.err'; echo \$? >'$T_DIR/r.rc'"
mpi_pg=$T_PID
if wait_for 30 test -s "$T_DIR/r.wpid"; then
	wpid=$(cat "$T_DIR/r.wpid")
	npid=$(awk '/^PPid:/ { print $2 }' /proc/"$wpid"/status)
	ncomm=$(tr '\0' ' ' </proc/"$npid"/cmdline 2>/dev/null)
	t_like "$ncomm" "cluster-rank" "the worker's parent is its rank (the nanny)"
	kill -9 "$npid" "$wpid"
	wait_for 30 bash -c "[ -s '$T_DIR/r.wpid' ] && [ \$(cat '$T_DIR/r.wpid') != $wpid ]"
	touch "$T_DIR/r.go"
else
	t_fail "task 1 started"
	touch "$T_DIR/r.go"
fi
wait_for 100 test -s "$T_DIR/r.rc"
t_is "$(cat "$T_DIR/r.rc" 2>/dev/null)" 0 "run with a killed rank: exit 0"
t_check "every task completed on the other ranks" markers_ok r
t_like "$(cat "$T_DIR/r.out")" $'done: 21\nfailed: 0' "summary: 21 done"
t_unlike "$(cat "$T_DIR/r.err")" "restarting it" "no nanny restarted anything"
t_kill "$mpi_pg"

# --- a worker that stops answering (SIGSTOP) ---------------------------------
tasks "$T_DIR/s.txt" s
t_spawn bash -c "timeout 120 mpirun -np 3 --oversubscribe \
	'$CLUSTER_RANK' --set scheduler.host=127.0.0.1 --set worker.heartbeat=1s \
	--name s --run '$T_DIR/s.txt' >'$T_DIR/s.out' 2>'$T_DIR/s.err'; echo \$? >'$T_DIR/s.rc'"
mpi_pg=$T_PID
if wait_for 30 test -s "$T_DIR/s.wpid"; then
	wpid=$(cat "$T_DIR/s.wpid")
	kill -STOP "$wpid"
	wait_for 20 grep -q "lost: missed heartbeats" "$T_DIR/s.err"
	t_check "the scheduler notices missed heartbeats" \
		grep -q "lost: missed heartbeats" "$T_DIR/s.err"
	wait_for 30 bash -c "[ -s '$T_DIR/s.wpid' ] && [ \$(cat '$T_DIR/s.wpid') != $wpid ]"
	touch "$T_DIR/s.go"
	kill -CONT "$wpid"
else
	t_fail "task 1 started"
	touch "$T_DIR/s.go"
fi
wait_for 60 test -s "$T_DIR/s.rc"
t_is "$(cat "$T_DIR/s.rc" 2>/dev/null)" 0 "run with a silent worker: exit 0"
t_check "every task completed" markers_ok s
t_like "$(cat "$T_DIR/s.out")" $'done: 21\nfailed: 0\nretried: 1' "summary: 21 done, the lost run retried"
t_kill "$mpi_pg"

t_done

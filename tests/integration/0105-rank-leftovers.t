#!/bin/bash
# Nothing of a job outlives its mpirun: no rank, nanny, worker or task,
# not even a task's process that left its process group, whether the job
# ends in order, mpirun is sent SIGTERM, or one rank is killed with
# kill -9 (with orte_enable_recovery).  Every process of one job carries
# CLUSTER_T0105=<scenario> in its environment; that is how they are found.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"

set_opts=(--set scheduler.host=127.0.0.1 --set worker.heartbeat=1s
	--set worker.death-timeout=2s)

# tagged TAG: "pid command" of every process of scenario TAG.
tagged() {
	local f pid
	for f in /proc/[0-9]*/environ; do
		pid=${f#/proc/}
		pid=${pid%/environ}
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
		if { tr '\0' '\n' <"$f" | grep -qx "CLUSTER_T0105=$1"; } 2>/dev/null; then
			echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		fi
	done
}

none_tagged() {
	[ -z "$(tagged "$1")" ]
}

# none_left TAG DESC: nothing of TAG runs any more (a second or two for
# processes already on their way out).
none_left() {
	if wait_for 3 none_tagged "$1" 2>/dev/null; then
		t_ok "$2"
	else
		t_fail "$2" "still running:" "$(tagged "$1")"
	fi
}

# job TAG ARGS...: mpirun in the background, in its own group, tagged;
# its output in $T_DIR/TAG.out and .err, its status in $T_DIR/TAG.rc.
job() {
	local tag=$1
	shift
	t_spawn bash -c "CLUSTER_T0105=$tag timeout --foreground 120 mpirun --oversubscribe $* \
		>'$T_DIR/$tag.out' 2>'$T_DIR/$tag.err'; echo \$? >'$T_DIR/$tag.rc'"
}

job_mpirun() {
	pgrep -g "$1" -x mpirun | head -1
}

# --- normal end of a batch run ------------------------------------------------
# Besides quick tasks: one leaves a child behind in its own process group
# (exec kills the group when the task ends), one leaves a child in a new
# session, out of any group exec knows; that one is re-parented to the
# nanny, which kills it when its worker has ended.
m=$T_DIR/m-end
mkdir -p "$m"
{
	for i in 1 2 3 4; do echo "echo \$CLUSTER_TASK_ID >> $m/\$CLUSTER_TASK_ID"; done
	echo "sleep 300 & echo \$! > $T_DIR/end.bg"
	echo "setsid sh -c 'echo \$\$ > $T_DIR/end.sid; exec sleep 301' </dev/null >/dev/null 2>&1 & while [ ! -s $T_DIR/end.sid ]; do sleep 0.01; done"
} >"$T_DIR/end.txt"
job end -np 3 "$CLUSTER_RANK" "${set_opts[*]}" --name end --run "$T_DIR/end.txt"
wait_for 60 test -s "$T_DIR/end.rc"
t_is "$(cat "$T_DIR/end.rc" 2>/dev/null)" 0 "normal end: the run exits 0"
t_like "$(cat "$T_DIR/end.out")" $'done: 6\nfailed: 0' "normal end: every task done"
if none_tagged end; then
	t_ok "normal end: no process is left when mpirun has ended"
else
	t_fail "normal end: no process is left when mpirun has ended" "$(tagged end)"
fi
t_like "$(cat "$T_DIR/end.err")" "worker '[^']*' left 1 processes running; killed them" \
	"normal end: the nanny killed the process that left its group"

# --- SIGTERM to mpirun mid-run --------------------------------------------------
# Long tasks, every other one deaf to SIGTERM; SIGTERM once two run (or
# one, should the scheduler place no second one soon).
{
	for i in 1 3 5; do echo "echo \$\$ > $T_DIR/term.$i; sleep 60"; done
	for i in 2 4 6; do echo "trap '' TERM; echo \$\$ > $T_DIR/term.$i; sleep 60"; done
} >"$T_DIR/term.txt"
job term -np 3 "$CLUSTER_RANK" "${set_opts[*]}" --name term --run "$T_DIR/term.txt"
term_pg=$T_PID
running_tasks() {
	[ "$(ls "$T_DIR" | grep -c '^term\.[0-9]$')" -ge "$1" ]
}
wait_for 30 running_tasks 1
wait_for 5 running_tasks 2 2>/dev/null
t_check "SIGTERM: tasks run when mpirun gets it" running_tasks 1
kill -TERM "$(job_mpirun "$term_pg")"
wait_for 60 test -s "$T_DIR/term.rc"
t_check "SIGTERM: mpirun ends" test -s "$T_DIR/term.rc"
none_left term "SIGTERM: no rank, worker or task is left"

# --- kill -9 of one worker rank ---------------------------------------------------
# The worker of the killed rank finishes its running task and leaves (it
# gets SIGTERM when its nanny dies); the other worker runs the rest; every
# task runs once.
m=$T_DIR/m-kill
mkdir -p "$m"
{
	echo "echo \$PPID > $T_DIR/kill.wpid; sleep 2; echo \$CLUSTER_WORKER >> $m/1"
	for i in 2 3 4 5 6; do echo "sleep 0.5; echo \$CLUSTER_WORKER >> $m/$i"; done
} >"$T_DIR/kill.txt"
job kill -np 3 --mca orte_enable_recovery 1 "$CLUSTER_RANK" "${set_opts[*]}" \
	--name kill --run "$T_DIR/kill.txt"
if wait_for 30 test -s "$T_DIR/kill.wpid"; then
	wpid=$(cat "$T_DIR/kill.wpid")
	npid=$(awk '/^PPid:/ { print $2 }' "/proc/$wpid/status")
	kill -9 "$npid"
fi
wait_for 60 test -s "$T_DIR/kill.rc"
t_is "$(cat "$T_DIR/kill.rc" 2>/dev/null)" 0 "kill -9 of a worker rank: the run exits 0"
t_like "$(cat "$T_DIR/kill.out")" $'done: 6\nfailed: 0' "kill -9 of a worker rank: every task done"
t_is "$(cat "$m"/* 2>/dev/null | wc -l)" 6 "kill -9 of a worker rank: every task ran once"
t_like "$(cat "$T_DIR/kill.err")" "signal 15: finishing 1 running tasks" \
	"kill -9 of a worker rank: its worker finishes its task and leaves"
none_left kill "kill -9 of a worker rank: no process is left when mpirun has ended"

# --- a head job and a worker-only job, ended in order ---------------------------
job head -np 2 "$CLUSTER_RANK" "${set_opts[*]}" --name head
head_pg=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/head/address" ||
	t_bail "the head job publishes its address" "$(cat "$T_DIR/head.err")"
job wk -np 2 "$CLUSTER_RANK" "${set_opts[*]}" --name head --worker-only
wait_for 30 bash -c "[ \$(grep -c joined '$T_DIR/head.err') -ge 3 ]"
t_run "$CLUSTER" --name head submit -- sh -c "setsid sleep 302 </dev/null >/dev/null 2>&1 &"
t_run "$CLUSTER" --name head submit --array 1-6 -- true
t_run timeout 60 "$CLUSTER" --name head wait
t_is "$T_RC" 0 "head job: the tasks are done"
kill -TERM "$(job_mpirun "$head_pg")"
wait_for 60 test -s "$T_DIR/head.rc" -a -s "$T_DIR/wk.rc"
t_is "$(cat "$T_DIR/wk.rc" 2>/dev/null)" 0 "the worker-only job ends in order with the head job"
none_left head "head job: no process is left when mpirun has ended"
none_left wk "worker-only job: no process is left when mpirun has ended"

# --- kill -9 of the scheduler rank ----------------------------------------------
# The workers kill their tasks when they lose the scheduler and give up
# after worker.death-timeout; their ranks end and so does mpirun.
job sched -np 3 --mca orte_enable_recovery 1 "$CLUSTER_RANK" "${set_opts[*]}" --name sched
wait_for 30 test -s "$CLUSTER_HOME/sched/address"
wait_for 30 bash -c "[ \$(grep -c joined '$T_DIR/sched.err') -ge 2 ]"
t_run "$CLUSTER" --name sched submit --array 1-2 -- sh -c "echo \$\$ > $T_DIR/sched.{}; sleep 60"
wait_for 30 test -s "$T_DIR/sched.1" -a -s "$T_DIR/sched.2"
sched_pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/sched/address")
kill -9 "$sched_pid"
wait_for 60 test -s "$T_DIR/sched.rc"
t_check "kill -9 of the scheduler rank: mpirun ends" test -s "$T_DIR/sched.rc"
none_left sched "kill -9 of the scheduler rank: no process is left when mpirun has ended"

t_done

#!/bin/bash
# A worker that stops hearing its scheduler (here: the scheduler rank is
# frozen with SIGSTOP for longer than three heartbeats) drops the link,
# keeps trying, and joins again when the scheduler answers; the cluster
# then runs new tasks on both workers, well within worker.death-timeout.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

t_spawn bash -c "exec timeout 120 mpirun -np 3 --oversubscribe '$CLUSTER_RANK' \
	--no-bind --cores 1 --set scheduler.host=127.0.0.1 --set worker.heartbeat=1s \
	--set worker.death-timeout=60s --name rc >'$T_DIR/rc.out' 2>'$T_DIR/rc.err'"
pg=$T_PID
wait_for 30 bash -c "[ \$(grep -c joined '$T_DIR/rc.err') -ge 2 ]" ||
	t_bail "both workers join" "$(cat "$T_DIR/rc.err")"
sched=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/rc/address")
t_like "$sched" '^[0-9]+$' "the address file names the scheduler's pid"

kill -STOP "$sched"
sleep 5
kill -CONT "$sched"

t_check "the workers notice the silent scheduler" \
	wait_for 20 bash -c "[ \$(grep -c 'lost the scheduler.*missed heartbeats' '$T_DIR/rc.err') -ge 2 ]"
t_check "both workers join again" \
	wait_for 30 bash -c "[ \$(grep -c joined '$T_DIR/rc.err') -ge 4 ]"

m=$T_DIR/m
mkdir -p "$m"
t_run "$CLUSTER" --name rc submit --array 1-20 -- sh -c "echo \$CLUSTER_WORKER > $m/{}"
t_is "$T_RC" 0 "tasks are accepted after the reconnect"
t_run timeout 60 "$CLUSTER" --name rc wait
t_is "$T_RC" 0 "every task is done"
t_is "$(ls "$m" | wc -l)" 20 "all 20 ran"
t_is "$(cat "$m"/* | sort -u | wc -l)" 2 "both rejoined workers ran tasks"
t_unlike "$(cat "$T_DIR/rc.err")" "gone for [0-9]+ s; exiting" "no worker gave up"

t_kill "$pg"
t_done

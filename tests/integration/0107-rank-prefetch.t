#!/bin/bash
# worker.prefetch: a worker holds that many tasks beyond what it can start,
# so the next task starts without a round trip to the scheduler.  With one
# worker of one core and three long tasks, prefetch 1 puts two on the worker
# (one started and running, one held and assigned), prefetch 0 only one.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

check_prefetch() {
	local n=$1 want=$2 name=pf$1
	t_spawn bash -c "exec timeout 60 mpirun -np 2 --oversubscribe '$CLUSTER_RANK' \
		--no-bind --cores 1 --set scheduler.host=127.0.0.1 \
		--set worker.prefetch=$n --name $name >'$T_DIR/$name.out' 2>'$T_DIR/$name.err'"
	local pg=$T_PID
	wait_for 30 bash -c "grep -q joined '$T_DIR/$name.err'" ||
		t_bail "the worker joins" "$(cat "$T_DIR/$name.err")"
	t_run "$CLUSTER" --name "$name" submit --array 1-3 -- sleep 30
	t_is "$T_RC" 0 "prefetch $n: three tasks submitted"
	wait_for 10 bash -c "[ \$('$CLUSTER' --name $name tasks --state running,assigned | tail -n +2 | wc -l) -ge $want ]"
	sleep 0.5
	t_run "$CLUSTER" --name "$name" tasks --state running,assigned
	t_is "$(printf '%s\n' "$T_OUT" | tail -n +2 | wc -l)" "$want" \
		"prefetch $n: $want of 3 tasks on the one-core worker"
	t_run "$CLUSTER" --name "$name" tasks --state running
	t_is "$(printf '%s\n' "$T_OUT" | tail -n +2 | wc -l)" 1 \
		"prefetch $n: one of them running"
	t_run "$CLUSTER" --name "$name" tasks --state assigned --json
	t_is "$(printf '%s\n' "$T_OUT" | grep -c '"state": *"assigned"')" "$((want - 1))" \
		"prefetch $n: the one held by the worker is assigned in --json"
	t_run "$CLUSTER" --name "$name" status
	if [ "$want" -gt 1 ]; then
		t_like "$T_OUT" "1 queued, 1 running, 1 assigned" \
			"prefetch $n: status counts the held task as assigned"
	else
		t_like "$T_OUT" "2 queued, 1 running, 0 done" "prefetch $n: status says nothing of assigned"
	fi
	t_run "$CLUSTER" --name "$name" tasks --state queued
	t_is "$(printf '%s\n' "$T_OUT" | tail -n +2 | wc -l)" "$((3 - want))" \
		"prefetch $n: the rest stay queued at the scheduler"
	"$CLUSTER" --name "$name" cancel 1-3 >/dev/null
	t_kill "$pg"
}

check_prefetch 1 2
check_prefetch 0 1

t_done

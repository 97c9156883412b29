#!/bin/bash
# worker.prefetch: a worker holds that many tasks beyond what it can start,
# so the next task starts without a round trip to the scheduler.  With one
# worker of one core and three long tasks, prefetch 1 puts two on the worker
# (one started and running, one held and assigned), prefetch 0 only one.
#
# Short tasks are held deeper (cluster.yaml(5) worker.prefetch): a no-spawn
# worker of one core, kept busy by a large array, holds more than one task
# beyond the one it runs.  Long tasks still spread: after short ones have
# run, a long array on three workers of one core runs one task on each and
# holds at most one more on each, and the rest wait at the scheduler.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

check_prefetch() {
	local n=$1 want=$2 name=pf$1
	t_spawn bash -c "exec timeout 60 mpirun -np 2 --oversubscribe '$CLUSTER_RANK' \
		--no-bind --cores 1 --set scheduler.host=127.0.0.1 \
		--set worker.prefetch=$n --name $name >'$T_DIR/$name.out' 2>'$T_DIR/$name.err'"
	local pg=$T_PID
	wait_for 30 bash -c "grep -qs joined '$T_DIR/$name.err'" ||
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

# The tasks held beyond prefetch 1, seen at some moment of a no-spawn run.
held_beyond_one() {
	local n
	n=$("$CLUSTER" --name deep tasks --state assigned --limit 1000 |
		awk '$2 == "assigned"' | wc -l)
	[ "$n" -gt 1 ]
}

t_spawn bash -c "exec timeout 120 mpirun -np 2 --oversubscribe '$CLUSTER_RANK' \
	--no-bind --cores 1 --bench-noop --set scheduler.host=127.0.0.1 \
	--name deep >'$T_DIR/deep.out' 2>'$T_DIR/deep.err'"
pg=$T_PID
wait_for 30 bash -c "grep -qs joined '$T_DIR/deep.err'" ||
	t_bail "the no-spawn worker joins" "$(cat "$T_DIR/deep.err")"
t_run "$CLUSTER" --name deep submit --array 1-5000000 -- true
t_is "$T_RC" 0 "a large array of short tasks submitted"
if wait_for 60 held_beyond_one; then
	t_ok "short tasks: the one-core worker holds more than prefetch 1"
else
	t_fail "short tasks: the one-core worker holds more than prefetch 1" \
		"$("$CLUSTER" --name deep tasks --state running,assigned --limit 100)"
fi
"$CLUSTER" --name deep cancel 1-5000000 >/dev/null
t_kill "$pg"

t_spawn bash -c "exec timeout 120 mpirun -np 4 --oversubscribe '$CLUSTER_RANK' \
	--no-bind --cores 1 --set scheduler.host=127.0.0.1 \
	--name spread >'$T_DIR/spread.out' 2>'$T_DIR/spread.err'"
pg=$T_PID
wait_for 30 bash -c "[ \$(cat '$T_DIR/spread.err' 2>/dev/null | grep -c joined) -ge 3 ]" ||
	t_bail "three workers join" "$(cat "$T_DIR/spread.err")"
t_run "$CLUSTER" --name spread submit --array 1-300 -- true
t_run "$CLUSTER" --name spread wait --timeout 60 1-300
t_is "$T_RC" 0 "300 short tasks done first"
t_run "$CLUSTER" --name spread submit --array 1-12 -- sleep 30
t_is "$T_OUT" "301-312" "twelve long tasks submitted"
wait_for 20 bash -c "[ \$('$CLUSTER' --name spread tasks --state running,assigned | tail -n +2 | wc -l) -ge 6 ]"
sleep 1
t_run "$CLUSTER" --name spread tasks --state running,assigned,queued --from 301
rows=$(printf '%s\n' "$T_OUT" | tail -n +2)
started=$(printf '%s\n' "$rows" | awk '$2 == "running" { print $6 }' | sort)
held=$(printf '%s\n' "$rows" | awk '$2 == "assigned" { print $6 }' | sort)
t_is "$(printf '%s\n' "$started" | sort -u | wc -l) $(printf '%s\n' "$started" | wc -l)" "3 3" \
	"long tasks: one started on each of the three workers"
t_is "$(printf '%s\n' "$held" | uniq -d | wc -l)" 0 \
	"long tasks: no worker holds more than one beyond it"
t_is "$(printf '%s\n' "$rows" | awk '$2 == "queued"' | wc -l)" 6 \
	"long tasks: the other six wait at the scheduler"
"$CLUSTER" --name spread cancel 301-312 >/dev/null
t_kill "$pg"

t_done

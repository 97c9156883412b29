#!/bin/bash
# A worker outlives its scheduler.  The local daemon is killed with
# kill -9 while the worker runs two tasks: both keep running, and one ends
# while no scheduler listens.  A new daemon on the same state directory
# listens on another port with a new token; the worker reads both from
# the state directory, rejoins, and lists its tasks and the end it kept.
# These schedulers keep no journal (journal.enabled=false), so the new
# one knows nothing of the tasks and answers "kill": the task still
# running is killed then, and the worker stays joined and runs the next
# task.  With the journal, the restarted scheduler takes the runs back:
# 0500-journal-local.t; the tasks a worker held unstarted come back at
# once, last below.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
command -v python3 >/dev/null || t_bail "python3 is installed"

c=("$CLUSTER" --profile local --set scheduler.host=127.0.0.1
	--set worker.heartbeat=1s --set journal.enabled=false --name rj)
state=$CLUSTER_HOME/rj
wlog=$T_DIR/worker.err

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
alive() {
	kill -0 "$1" 2>/dev/null
}
# count PATTERN: lines of the worker's log that match
count() {
	grep -c -- "$1" "$wlog"
}
export -f alive

# What the daemons and tasks (process groups of their own) leave behind
# when a step fails.
leftovers=()
rj_cleanup() {
	local p
	for p in "${leftovers[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	t_cleanup
}
trap rj_cleanup EXIT

# No pool workers: the one worker is started by hand.
mkdir -p "$state" && chmod 700 "$state"
echo '{"workers":0}' >"$state/target"

t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "the first scheduler starts"
sched1=$(address_field pid)
[ -n "$sched1" ] || t_bail "the first scheduler publishes its address" "$T_ERR"
leftovers+=("$sched1")
port1=$(address_field port)
token1=$(cat "$state/token")

t_spawn "${c[@]}" -v worker --cores 2 --name w1 2>"$wlog"
wpid=$T_PID
wait_for 30 grep -q "joined the scheduler at '127.0.0.1:$port1'" "$wlog" ||
	t_bail "the worker joins" "$(cat "$wlog")"

t_run "$CLUSTER" --name rj submit -- sh -c "echo \$\$ >'$T_DIR/long'; exec sleep 300"
t_is "$T_RC" 0 "a long task is submitted"
t_run "$CLUSTER" --name rj submit -- sh -c "echo \$\$ >'$T_DIR/short';
	while [ ! -e '$T_DIR/go' ]; do sleep 0.1; done"
t_is "$T_RC" 0 "a task that ends on a signal file is submitted"
wait_for 30 test -s "$T_DIR/long" -a -s "$T_DIR/short" ||
	t_bail "both tasks start" "$(cat "$wlog")"
long=$(cat "$T_DIR/long")
short=$(cat "$T_DIR/short")
leftovers+=("$long" "$short")

kill -9 "$sched1"
wait_for 10 bash -c "! alive $sched1"
t_check "the scheduler is gone" bash -c "! alive $sched1"
t_check "the worker notices and keeps its two tasks" \
	wait_for 20 grep -q "lost the scheduler.*keeping 2 running tasks" "$wlog"
touch "$T_DIR/go"
t_check "one task ends while no scheduler listens" \
	wait_for 20 bash -c "! alive $short"
sleep 2
t_check "the other task still runs" alive "$long"
t_check "the worker waits for a scheduler" alive "$wpid"

port2=$(free_port)
while [ "$port2" = "$port1" ]; do port2=$(free_port); done
t_run timeout 60 "${c[@]}" --set scheduler.port="$port2" start
t_is "$T_RC" 0 "a second scheduler starts on the same state directory"
leftovers+=("$(address_field pid)")
t_is "$(address_field port)" "$port2" "it listens on another port"
t_unlike "$(cat "$state/token")" "^$token1\$" "with a new token"

t_check "the worker reads the new address and token" \
	wait_for 30 grep -q "read the scheduler's address '127.0.0.1:$port2' and token anew" "$wlog"
t_check "and joins the new scheduler" \
	wait_for 30 grep -q "joined the scheduler at '127.0.0.1:$port2'" "$wlog"
t_check "it reports both tasks, one of them ended" \
	wait_for 10 grep -q "told the scheduler of 2 tasks kept from before (1 ended meanwhile)" "$wlog"
t_check "the scheduler hears of them" \
	wait_for 10 grep -q "worker 'w1' says it kept 2 tasks" "$state/scheduler.log"
t_check "it knows neither and answers kill" \
	wait_for 10 grep -q "worker 'w1' claims 2 tasks (task [12] attempt 1, ...) not this scheduler's to take back: killing them" "$state/scheduler.log"
t_check "the running task is killed then" \
	wait_for 20 bash -c "! alive $long"
t_like "$(cat "$wlog")" "killing task 1 \\(attempt 1\\), kept across a lost link" \
	"the worker says why it killed it"
t_unlike "$(cat "$wlog")" "refused this worker|does not know the token" \
	"the new token was never refused"

t_check "the worker stays joined" alive "$wpid"
t_run "$CLUSTER" --name rj workers
t_like "$T_OUT" "w1.*alive" "the new scheduler lists it alive"
t_run "$CLUSTER" --name rj submit -- sh -c "echo here >'$T_DIR/next'"
t_is "$T_RC" 0 "a new task is accepted"
t_run timeout 60 "$CLUSTER" --name rj wait
t_is "$T_RC" 0 "and runs to its end"
t_is "$(cat "$T_DIR/next" 2>/dev/null)" "here" "on the rejoined worker"
t_is "$(count 'joined the scheduler')" 2 "the worker joined twice in all"

t_run timeout 60 "$CLUSTER" --name rj stop
t_is "$T_RC" 0 "the second scheduler stops"
t_check "the worker leaves with it" wait_for 20 bash -c "! alive $wpid"
# Tasks a worker held but had not started.  A one-core worker with
# worker.prefetch 2 runs one task and holds two; the scheduler, this time
# with its journal, is killed with -9.  The worker keeps the running task
# and drops the two it had not started; the restarted scheduler replayed
# all three as running on that worker, and once the worker has rejoined
# and claimed only the one, it requeues the other two at once, not after
# scheduler.rejoin-grace (set far longer than this test waits).
h=("$CLUSTER" --profile local --set scheduler.host=127.0.0.1
	--set worker.heartbeat=1s --set worker.prefetch=2
	--set scheduler.rejoin-grace=1h --name rh)
hstate=$CLUSTER_HOME/rh
hlog=$T_DIR/held-worker.err
marks=$T_DIR/held-marks
mkdir -p "$hstate" "$marks" && chmod 700 "$hstate"
echo '{"workers":0}' >"$hstate/target"
hfield() {
	sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$hstate/address" 2>/dev/null
}
runs_recorded() {	# the runs the journal records, ranges counted whole
	[ "$(python3 -c 'import json, sys
n = 0
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("ev") == "run":
        n += r.get("last", r["id"]) - r["id"] + 1
print(n)' "$hstate/journal" 2>/dev/null)" -ge "$1" ]
}
export -f runs_recorded
export hstate

t_run timeout 60 "${h[@]}" start
t_is "$T_RC" 0 "a scheduler with a journal starts"
hsched1=$(hfield pid)
[ -n "$hsched1" ] || t_bail "it publishes its address" "$T_ERR"
leftovers+=("$hsched1")
t_spawn "${h[@]}" -v worker --cores 1 --name h1 2>"$hlog"
hpid=$T_PID
wait_for 30 grep -q "joined the scheduler" "$hlog" ||
	t_bail "the one-core worker joins" "$(cat "$hlog")"

# each task appends a line to its own marker; the first waits for a file
t_run "$CLUSTER" --name rh submit --array 1-3 -- sh -c "echo run >>$marks/{};
	while [ ! -e '$T_DIR/held-go' ]; do sleep 0.1; done"
t_is "$T_RC" 0 "three tasks are submitted"
wait_for 30 test -s "$marks/1" || t_bail "the first task starts" "$(cat "$hlog")"
t_check "the journal records the three runs on the worker" \
	wait_for 30 runs_recorded 3
t_like "$(grep '"ev":"run"' "$hstate/journal" | tail -1)" '"worker":"h1"' \
	"a run record names its worker"
t_is "$(ls "$marks" | wc -l)" 1 "two of them are held, not started"

kill -9 "$hsched1"
wait_for 10 bash -c "! alive $hsched1"
t_check "the worker drops the two it had not started" \
	wait_for 20 grep -q "dropping 2 tasks not started" "$hlog"
t_check "and keeps the one it runs" \
	wait_for 20 grep -q "keeping 1 running task" "$hlog"

t_run timeout 60 "${h[@]}" start
t_is "$T_RC" 0 "the scheduler starts again from its journal"
t_like "$T_OUT" "resumed" "and says it resumed"
leftovers+=("$(hfield pid)")
t_check "the worker rejoins and claims its one task" \
	wait_for 30 grep -q "worker 'h1' took back 1 task" "$hstate/scheduler.log"
t_check "the two it did not claim are requeued at once" \
	wait_for 10 grep -q "requeued 2 tasks worker 'h1' did not claim" "$hstate/scheduler.log"
t_check "nothing waits for a worker any more" \
	wait_for 10 grep -q "no running task waits for its worker any more" "$hstate/scheduler.log"
touch "$T_DIR/held-go"
t_run timeout 120 "$CLUSTER" --name rh wait
t_is "$T_RC" 0 "every task ends done, long before the grace is out"
for i in 1 2 3; do
	t_is "$(cat "$marks/$i" 2>/dev/null)" "run" "task $i ran exactly once"
done
t_unlike "$(cat "$hstate/scheduler.log")" "no worker claimed within" \
	"the grace requeued nothing"
t_run "$CLUSTER" --name rh tasks --state done
t_is "$(grep -cE "^[0-9]+ +done " <<<"$T_OUT")" 3 "the scheduler lists all three done"
t_run timeout 60 "$CLUSTER" --name rh stop
t_is "$T_RC" 0 "the restarted scheduler stops"
t_check "the worker leaves with it" wait_for 20 bash -c "! alive $hpid"
t_done

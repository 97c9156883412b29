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
# 0500-journal-local.t.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
command -v python3 >/dev/null || t_bail "python3 is installed"

c=("$CLUSTER" --profile local --set scheduler.host=127.0.0.1
	--set worker.heartbeat=1s --set journal.enabled=false --name rj)
state=$CLUSTER_HOME/rj
wlog=$T_DIR/worker.err

field() {
	sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$state/address" 2>/dev/null
}
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
sched1=$(field pid)
[ -n "$sched1" ] || t_bail "the first scheduler publishes its address" "$T_ERR"
leftovers+=("$sched1")
port1=$(field port)
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
leftovers+=("$(field pid)")
t_is "$(field port)" "$port2" "it listens on another port"
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
t_done

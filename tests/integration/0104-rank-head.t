#!/bin/bash
# A head job without --run: rank 0 serves the HTTP API until SIGTERM, a
# --worker-only job joins it through the state directory, a nanny gives up
# on a worker that keeps crashing, and every rank ends with status 0.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"

set_opts=(--set scheduler.host=127.0.0.1 --set worker.heartbeat=1s
	--set worker.death-timeout=2s)

# mpirun in the background; its exit status lands in $T_DIR/NAME.rc
start() {
	local name=$1
	shift
	t_spawn bash -c "exec timeout 120 mpirun --oversubscribe $* \
		>'$T_DIR/$name.out' 2>'$T_DIR/$name.err'"
}

start head -np 3 "$CLUSTER_RANK" "${set_opts[*]}" --name head
head_pg=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/head/address" ||
	t_bail "the head job publishes its address" "$(cat "$T_DIR/head.err")"
wait_for 30 bash -c "[ \$(grep -c joined '$T_DIR/head.err') -ge 2 ]"

m=$T_DIR/m
mkdir -p "$m"
t_run "$CLUSTER" --name head submit --array 1-50 -- sh -c "echo {} > $m/{}"
t_is "$T_RC" 0 "cluster submit reaches the head job's API"
t_run timeout 60 "$CLUSTER" --name head wait
t_is "$T_RC" 0 "cluster wait: every task done"
t_is "$(ls "$m" | wc -l)" 50 "the head job's workers ran the 50 tasks"

# Cancelling a running task: the scheduler sends KILL, the task's
# processes go, and the task ends cancelled.
t_run "$CLUSTER" --name head submit -- sh -c "echo \$\$ > $T_DIR/sleeper.pid; exec sleep 60"
sleeper_id=$(printf '%s\n' "$T_OUT" | grep -o '[0-9][0-9]*' | head -1)
wait_for 30 test -s "$T_DIR/sleeper.pid"
sleeper=$(cat "$T_DIR/sleeper.pid")
t_run "$CLUSTER" --name head cancel "$sleeper_id"
t_is "$T_RC" 0 "cluster cancel of the running task $sleeper_id"
wait_for 20 bash -c "! kill -0 $sleeper 2>/dev/null"
t_check "the cancelled task's process is gone" bash -c "! kill -0 $sleeper 2>/dev/null"
t_run timeout 30 "$CLUSTER" --name head wait "$sleeper_id"
t_like "$("$CLUSTER" --name head tasks 2>&1)" "$sleeper_id +cancelled" "the task ends cancelled"

# A worker job joins through the address file.
start wk -np 2 "$CLUSTER_RANK" "${set_opts[*]}" --name head --worker-only
wk_pg=$T_PID
wait_for 30 bash -c "[ \$(grep -c joined '$T_DIR/head.err') -ge 4 ]"
t_is "$(grep -c joined "$T_DIR/head.err")" 4 "the --worker-only job's 2 workers joined"
t_run "$CLUSTER" --name head submit --array 51-90 -- sh -c "echo {} > $m/{}"
t_run timeout 60 "$CLUSTER" --name head wait
t_is "$(ls "$m" | wc -l)" 90 "tasks submitted later ran too"

# A batch run under the same cluster name leaves the head job's address
# file alone.
addr_before=$(cat "$CLUSTER_HOME/head/address")
printf 'true\ntrue\n' >"$T_DIR/side.txt"
t_run timeout 60 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" "${set_opts[@]}" \
	--name head --run "$T_DIR/side.txt"
t_is "$T_RC" 0 "a batch run beside the head job completes"
t_like "$T_ERR" "already names a scheduler" "it says it does not publish its address"
t_is "$(cat "$CLUSTER_HOME/head/address" 2>/dev/null)" "$addr_before" \
	"the head job's address file is untouched"

# SIGTERM to the head job: workers finish, every rank exits 0.
mpirun_pid=$(pgrep -g "$head_pg" -x mpirun | head -1)
kill -TERM "$mpirun_pid"
wait_for 30 bash -c "! kill -0 $mpirun_pid 2>/dev/null"
t_check "the head job ends on SIGTERM" bash -c "! kill -0 $mpirun_pid 2>/dev/null"
t_check "its address file is gone" test ! -e "$CLUSTER_HOME/head/address"

# The head job told every worker to leave, those of the worker job too.
wk_mpirun=$(pgrep -g "$wk_pg" -x mpirun | head -1)
wait_for 30 bash -c "! kill -0 $wk_mpirun 2>/dev/null"
t_check "the worker job ends with the head job" \
	bash -c "! kill -0 $wk_mpirun 2>/dev/null"
wait "$wk_pg" 2>/dev/null
t_is "$?" 0 "the worker job's mpirun exits 0"
# mpirun itself exits 1 once it has been sent SIGTERM, whatever its ranks
# did; what matters is that none of them ended in disorder.
t_unlike "$(cat "$T_DIR/head.err")" "non-zero status|exited on signal|error:" \
	"every rank of the head job ended in order"

# Rank 1's worker keeps crashing: its nanny restarts it worker.max-restarts
# times within a minute, gives up at the next crash, and the rank ends in
# order.
# Then the scheduler itself is killed: rank 2's worker gives up after
# worker.death-timeout, and its rank ends in order too.
start crash -np 3 --mca orte_enable_recovery 1 "$CLUSTER_RANK" "${set_opts[*]}" \
	--set worker.max-restarts=2 --name crash
crash_pg=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/crash/address"
rank1_worker() {
	pgrep -f -- "--name crash .*worker .*rank1 "
}
for round in 1 2 3; do
	wait_for 30 rank1_worker >/dev/null
	kill -9 $(rank1_worker)
	wait_for 30 bash -c "[ \$(grep -c 'killed by signal 9' '$T_DIR/crash.err') -ge $round ]"
done
wait_for 10 grep -q "not restarting it" "$T_DIR/crash.err"
t_like "$(cat "$T_DIR/crash.err")" "crashed 3 times within a minute \(worker.max-restarts is 2\); not restarting it" \
	"the nanny gives up after worker.max-restarts crashes and says why"
t_like "$(cat "$T_DIR/crash.err")" "rank 1 has no worker any more" "its rank says so"
sched_pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/crash/address")
kill -9 "$sched_pid"
wait_for 30 grep -q "the scheduler is gone" "$T_DIR/crash.err"
t_like "$(cat "$T_DIR/crash.err")" "worker '[^']*rank2' ended: the scheduler is gone" \
	"a worker whose scheduler is gone ends after worker.death-timeout"
wait "$crash_pg" 2>/dev/null
t_check "the job ends" bash -c "! kill -0 $crash_pg 2>/dev/null"

t_done

#!/bin/bash
# What the task commands say about a task's run and what it waits for,
# against a head job (mpirun cluster-rank, rank 0 the scheduler, two
# one-core worker ranks that each hold one task beyond what they run):
# a cancelled running task's signal and run time without an exit code,
# prefetched tasks as assigned and running ones with their elapsed time,
# the warning of a submit no worker can run, a wait that times out naming
# the stuck tasks, --after-any, a cancelled dependency named as such, the
# dependents a cancel takes with it, and a worker that ends in order
# logged as gone, not lost.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"

c() {
	timeout 60 "$CLUSTER" --name T "$@"
}

# t_line TEXT REGEX DESC: some line of TEXT matches REGEX (grep -E).
t_line() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		t_ok "$3"
	else
		t_fail "$3" "no line matches /$2/ in:" "$1"
	fi
}

# pyjson EXPR: read stdin as JSON into j, print EXPR.
pyjson() {
	python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

# --- without a scheduler: job-script -------------------------------------------------
unset PBS_ACCOUNT
t_run "$CLUSTER" --profile derecho job-script
t_is "$T_RC" 0 "job-script for derecho without an account: exit 0"
t_like "$T_ERR" "^cluster: warning: no job\.account and no \\\$PBS_ACCOUNT: NCAR's qsub \(profile 'derecho'\) refuses" \
	"job-script warns that NCAR's qsub needs an account"
t_like "$T_OUT" $'\n#PBS -l select=' "and still prints the script"
t_run "$CLUSTER" --profile casper-gpu job-script
t_like "$T_ERR" "profile 'casper-gpu', from 'casper'" "a profile inheriting casper is NCAR's too"
PBS_ACCOUNT=UABC0001 t_run "$CLUSTER" --profile derecho job-script
t_is "$T_ERR" "" "with \$PBS_ACCOUNT: no warning"
t_run "$CLUSTER" --profile casper --set job.account=UABC0001 job-script
t_is "$T_ERR" "" "with job.account: no warning"
t_run "$CLUSTER" --profile generic-pbs job-script
t_is "$T_ERR" "" "a profile not NCAR's: no warning"

# Sizes as the batch systems write them, and the bytes shown.
t_run "$CLUSTER" --profile generic-slurm --set job.memory=4G --set job.cores=2 --set job.processes=2 job-script
t_like "$T_OUT" $'\n# memory: 4294967296 bytes a node \\(4 GiB; asked as --mem=4G\\), each worker\'s limit 2147483648 bytes \\(2 GiB\\)\n' \
	"job-script: 4G is 4 GiB, and a comment gives the bytes"
t_run "$CLUSTER" --profile generic-pbs --set job.memory=4gb config show
t_like "$T_OUT" $'\njob\\.memory += 4gb \\(4294967296 bytes; rendered mem=4GB\\)' \
	"config show: PBS's 4gb is 4 GiB"
t_run "$CLUSTER" --profile generic-pbs --set job.memory=4GB config show
t_like "$T_OUT" $'\njob\\.memory += 4GB \\(4000000000 bytes;' "config show: 4GB stays 4 * 10^9"

# launch.extra adds to the profile's arguments; launch.args replaces them.
t_run "$CLUSTER" --profile generic-pbs --set 'launch.extra=[--bind-to, core]' job-script
t_like "$T_OUT" '"--hostfile" "\$PBS_NODEFILE" "--bind-to" "core"' \
	"launch.extra follows the profile's launch.args"
t_run "$CLUSTER" --profile generic-pbs --set 'launch.args=[--bind-to, core]' job-script
t_unlike "$T_OUT" 'PBS_NODEFILE"' "launch.args replaces the profile's list"

t_spawn timeout 300 mpirun -np 3 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --set worker.prefetch=1 --name T \
	>"$T_DIR/head.log" 2>&1
have_workers() {
	[ "$(c workers 2>/dev/null | grep -c alive)" -ge 2 ]
}
wait_for 60 have_workers || t_bail "two workers join" "$(cat "$T_DIR/head.log")"
t_ok "the head is up with two workers"

# --- assigned and running -------------------------------------------------------
# Two one-core workers, each holding one more: two run, two are assigned,
# the fifth is queued.
t_run c submit --array 1-5 -- sleep 300
arr=$T_OUT
first=${arr%-*}
started() {
	[ "$(c tasks --json 2>/dev/null | pyjson "sum(1 for t in j if t['elapsed'] is not None)")" = 2 ]
}
wait_for 30 started || t_fail "two tasks start" "$(c tasks 2>&1)"
sleep 1.5
t_run c tasks --wide
t_is "$(printf '%s\n' "$T_OUT" | grep -Ec '^[0-9]+ +running ')" 2 "two tasks show as running"
t_is "$(printf '%s\n' "$T_OUT" | grep -Ec '^[0-9]+ +assigned ')" 2 \
	"the two a worker holds without running them show as assigned"
t_line "$T_OUT" '^[0-9]+ +running .* [1-9][0-9]*\.[0-9]s +- +sleep 300$' \
	"a running task shows the time it has run so far"
t_line "$T_OUT" '^[0-9]+ +assigned .*rank[12] +- +- +- +sleep 300$' \
	"an assigned task shows its worker and no run time"
t_run c tasks --json
t_is "$(printf '%s' "$T_OUT" | pyjson "sorted((t['state'], t['start_time'] is None, t['elapsed'] is None) for t in j)")" \
	"[('assigned', True, True), ('assigned', True, True), ('queued', True, True), ('running', False, False), ('running', False, False)]" \
	"JSON: assigned tasks are assigned with no start_time, started ones have elapsed"

t_run c wait --json --timeout 0s "$arr"
t_is "$(printf '%s' "$T_OUT" | pyjson "j['counts']['running'], j['assigned']")" "4 2" \
	"wait --json: four running, two of them only assigned"

# --- wait that times out names the stuck tasks ---------------------------------------
t_run c wait --timeout 1s "$arr"
t_is "$T_RC" 1 "wait --timeout: exit 1"
t_like "$T_ERR" "timed out: 5 of 5 tasks have not ended" "wait says how many have not ended"
t_line "$T_ERR" "^cluster:   task [0-9]+ running on [^ ]+ for [0-9.]+s$" "wait names a running task and its time"
t_line "$T_ERR" "^cluster:   task [0-9]+ assigned to [^ ]+, waiting for its worker's cores$" \
	"wait names an assigned task and what it waits for"
t_line "$T_ERR" "^cluster:   task $((first + 4)) queued: waiting for a free worker$" \
	"wait names the queued task"

# --- cancel a running task ------------------------------------------------------------
run_id=$(c tasks --json | pyjson "[t['id'] for t in j if t['elapsed'] is not None][0]")
sleep 1
t_run c cancel "$run_id"
t_is "$T_OUT" "cancelled 1 task" "cancel of a running task: one task"
got_report() {
	[ "$(c tasks --json 2>/dev/null | pyjson "[t['peak_memory'] for t in j if t['id'] == $run_id][0] or 0")" != 0 ]
}
wait_for 20 got_report || true
t_run c tasks --json
t_is "$(printf '%s' "$T_OUT" | pyjson "[(t['state'], t['exit_code'], t['signal']) for t in j if t['id'] == $run_id][0]")" \
	"('cancelled', None, 15)" "JSON: a cancelled running task has its signal and no exit code"
rt=$(printf '%s' "$T_OUT" | pyjson "[t['runtime'] for t in j if t['id'] == $run_id][0]")
t_check "JSON: its run time is the time it ran ($rt s), not 0" \
	python3 -c "import sys; sys.exit(0 if 2.0 <= $rt < 200 else 1)"
t_run c tasks --wide
t_line "$T_OUT" "^$run_id +cancelled .* sig15 +[0-9]+\.[0-9]s " \
	"tasks: the cancelled task shows sig15 and its run time"
t_unlike "$(printf '%s\n' "$T_OUT" | grep "^$run_id ")" " 0\.0s " "tasks: its run time is not 0.0s"
t_run c wait "$run_id"
t_is "$T_RC" 1 "wait for the cancelled task: exit 1"
t_line "$T_ERR" "^cluster:   task $run_id cancelled after [0-9]+\.[0-9]s \(signal 15\)$" \
	"wait names it with its run time and signal"
c cancel "$arr" >/dev/null

# --- a submit no worker can run ----------------------------------------------------------
t_run c submit --cores 2 -- true
big=$T_OUT
t_is "$T_RC" 0 "submit of a task too big for every worker: exit 0"
t_like "$T_ERR" "^cluster: warning: no connected worker has 2 cores" "submit warns that no worker has 2 cores"
t_run c submit --memory 1000TiB -- true
huge=$T_OUT
t_like "$T_ERR" "no connected worker has 1 core and 1000 TiB of memory" "submit warns about memory too"
t_run c submit -- true
t_is "$T_ERR" "" "a task a worker can run: no warning"
t_run c wait --timeout 1s "$big"
t_line "$T_ERR" "^cluster:   task $big queued: waiting for a worker with 2 cores$" \
	"wait names what the big task waits for"
c cancel "$big" "$huge" >/dev/null

# --- dependencies ------------------------------------------------------------------------
t_run c submit -- sleep 300
dep=$T_OUT
t_run c submit -- sh -c 'exit 3'
bad=$T_OUT
t_run c submit --after "$dep" -- true
strict=$T_OUT
t_run c submit --after "$strict" -- true
chain=$T_OUT
t_run c submit --after-any "$dep,$bad" -- touch "$T_DIR/reduced"
reduce=$T_OUT
t_run c tasks --json
t_is "$(printf '%s' "$T_OUT" | pyjson "[t['reason'] for t in j if t['id'] == $strict][0]")" \
	"waiting for task $dep" "a waiting task says what it waits for"
t_run c cancel "$dep"
t_is "$T_OUT" "cancelled 1 task
cancelled with it 2 waiting tasks that depended on it: $strict-$chain" \
	"cancel reports the dependents it cancelled with it"
t_run c wait "$reduce"
t_is "$T_RC" 0 "--after-any: the task runs though one dependency failed and one was cancelled"
t_check "--after-any: the task ran" test -e "$T_DIR/reduced"
t_run c tasks --json
t_is "$(printf '%s' "$T_OUT" | pyjson "[t['reason'] for t in j if t['id'] == $strict][0]")" \
	"dependency $dep cancelled" "a dependent of a cancelled task says 'dependency N cancelled'"
t_is "$(printf '%s' "$T_OUT" | pyjson "[t['reason'] for t in j if t['id'] == $chain][0]")" \
	"dependency $strict cancelled" "and its own dependent names it"
t_run c submit --after-any 0 -- true
t_is "$T_RC" 2 "--after-any 0: a usage error"
t_like "$T_ERR" "^cluster: --after-any: id '0' is out of range" "--after-any 0: the error names the option"
t_run c submit --after-any 99999 -- true
t_is "$T_RC" 1 "--after-any of an unknown task: exit 1"
t_like "$T_ERR" "dependency 99999 is not an earlier task" "--after-any of an unknown task: said so"

# --- a worker that ends in order -------------------------------------------------------
t_spawn "$CLUSTER" --name T worker --name solo --cores 1 >"$T_DIR/solo.log" 2>&1
solo=$T_PID
solo_joined() {
	c workers 2>/dev/null | grep -q ' solo .*alive'
}
wait_for 30 solo_joined || t_fail "a standalone worker joins" "$(cat "$T_DIR/solo.log")"
t_like "$(cat "$T_DIR/solo.log")" "joined the scheduler at '[^']+' as worker [0-9]+" \
	"a standalone worker says when it joined"
kill -TERM "$solo"
solo_gone() {
	! kill -0 "$solo" 2>/dev/null
}
wait_for 30 solo_gone || t_fail "the worker ends after SIGTERM" "$(cat "$T_DIR/solo.log")"
left() {
	grep -q "worker 'solo' left: signal 15" "$T_DIR/head.log"
}
wait_for 10 left
t_like "$(cat "$T_DIR/head.log")" "worker 'solo' left: signal 15" \
	"the scheduler logs an orderly worker exit as left, with why"
t_unlike "$(cat "$T_DIR/head.log")" "warning: worker 'solo' lost" \
	"and not as a lost worker"

t_done

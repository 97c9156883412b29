#!/bin/bash
# The task commands against a running head job (mpirun cluster-rank, rank
# 0 the scheduler, two worker ranks): submit one task, an array and a task
# file, wait (0 when all succeed, 1 when one fails or is cancelled), list
# by state, print logs, cancel, list workers, a failed dependency cancels
# its dependent, and the HTTP API refuses a wrong token.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"

c() {
	timeout 60 "$CLUSTER" --name T "$@"
}

# Nothing runs yet: a clear error, exit 1.
t_run c tasks
t_is "$T_RC" 1 "no scheduler: exit 1"
t_like "$T_ERR" "^cluster: " "no scheduler: the error says so"

t_spawn timeout 300 mpirun -np 3 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --name T >"$T_DIR/head.log" 2>&1
head=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/T/address" ||
	t_bail "the head publishes its address" "$(cat "$T_DIR/head.log")"
have_workers() {
	[ "$(c workers 2>/dev/null | grep -c alive)" -ge 2 ]
}
wait_for 30 have_workers || t_bail "two workers join" "$(cat "$T_DIR/head.log")"
t_ok "the head is up with two workers"

# --- one task -------------------------------------------------------------
t_run c submit -- sh -c 'echo hello from $CLUSTER_TASK_ID; echo oops >&2'
t_is "$T_OUT" 1 "submit prints the task id"
t_run c wait 1
t_is "$T_RC" 0 "wait 1: exit 0"
t_run c logs 1
t_is "$T_OUT" "hello from 1" "logs prints the task's stdout"
t_run c logs --stderr 1
t_is "$T_OUT" "oops" "logs --stderr prints its stderr"
# Read from the log of the worker that ran the task: copies of every
# worker log under a name no worker has (which a look through every log
# would read as well) do not double it.
logs=$CLUSTER_HOME/T/logs
for idx in "$logs"/worker-*.idx; do
	cp "$idx" "${idx%.idx}-copy.idx"
	cp "${idx%.idx}.log" "${idx%.idx}-copy.log"
done
t_run c logs 1
t_is "$T_OUT" "hello from 1" "logs reads only the log of the worker that ran the task"
rm -f "$logs"/worker-*-copy.idx "$logs"/worker-*-copy.log

# --- an array ---------------------------------------------------------------
mkdir -p "$T_DIR/out"
t_run c submit --array 1-50 -- sh -c "echo {} > $T_DIR/out/{}"
t_is "$T_OUT" "2-51" "an array of 50 prints its id range"
t_run c wait 2-51
t_is "$T_RC" 0 "wait for the array: exit 0"
bad=
for i in $(seq 1 50); do
	[ "$(cat "$T_DIR/out/$i" 2>/dev/null)" = "$i" ] || bad="$bad $i"
done
t_is "$bad" "" "each element wrote its own index"

# --- a task file --------------------------------------------------------------
cat >"$T_DIR/tasks.txt" <<EOT
# two commands
echo first > $T_DIR/f1

echo second > $T_DIR/f2
EOT
t_run c submit --file "$T_DIR/tasks.txt"
t_is "$T_OUT" "52-53" "submit --file prints the range of its lines"
t_run c wait
t_is "$T_RC" 0 "wait for everything: exit 0"
t_is "$(cat "$T_DIR/f1" "$T_DIR/f2" 2>&1)" $'first\nsecond' "both lines ran"

# --- failure, dependency, listing -----------------------------------------
t_run c submit --name broken -- sh -c 'exit 3'
fail_id=$T_OUT
t_run c submit --after "$fail_id" -- touch "$T_DIR/never"
dep_id=$T_OUT
t_run c wait "$fail_id" "$dep_id"
t_is "$T_RC" 1 "wait with a failing task: exit 1"
t_like "$T_ERR" "2 of 2 tasks failed" "wait says how many failed"
t_run c tasks --state failed
t_like "$T_OUT" "$fail_id +failed +broken" "tasks --state failed lists the failed task"
t_unlike "$T_OUT" " done " "tasks --state failed lists no done task"
t_run c tasks --state cancelled
t_like "$T_OUT" "$dep_id +cancelled .*dependency $fail_id" \
	"the dependent of a failed task is cancelled, and says why"
t_check "the dependent never ran" test ! -e "$T_DIR/never"
t_run c tasks --limit 3
t_is "$(printf '%s\n' "$T_OUT" | wc -l)" 4 "tasks --limit 3: a header and three rows"

# --- cancel -------------------------------------------------------------------
t_run c submit -- sleep 60
sleep_id=$T_OUT
is_running() {
	c tasks --state running | grep -q "^$sleep_id "
}
wait_for 20 is_running
t_run c cancel "$sleep_id"
t_is "$T_OUT" "cancelled 1 task" "cancel a running task"
t_run c wait "$sleep_id"
t_is "$T_RC" 1 "waiting on a cancelled task: exit 1"
t_run c tasks --state cancelled
t_like "$T_OUT" "$sleep_id +cancelled" "the task shows as cancelled"

# --- workers, usage and server errors -----------------------------------------
t_run c workers
t_like "$T_OUT" "ID +NAME +CORES" "workers prints a table header"
t_is "$(printf '%s\n' "$T_OUT" | grep -c alive)" 2 "workers lists both workers"
t_run c submit --cores zero -- true
t_is "$T_RC" 2 "a bad option: exit 2"
t_like "$T_ERR" "usage: cluster submit" "a bad option prints the usage"
t_run c submit --after 9999 -- true
t_is "$T_RC" 1 "an unknown dependency: exit 1"
t_like "$T_ERR" "^cluster: .*9999" "the server's message names the id"
t_run c logs 9999
t_is "$T_RC" 1 "logs of an unknown task: exit 1"

# --- the API's token ------------------------------------------------------------
if command -v curl >/dev/null; then
	port=$(sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/T/address")
	code=$(curl -s -o "$T_DIR/401" -w '%{http_code}' \
		-H 'Authorization: Bearer wrong' "http://127.0.0.1:$port/api/v1/counters")
	t_is "$code" 401 "curl with a wrong token gets 401"
	t_like "$(cat "$T_DIR/401")" '"error"' "the 401 carries a JSON error"
	token=$(cat "$CLUSTER_HOME/T/token")
	code=$(curl -s -o "$T_DIR/ok" -w '%{http_code}' \
		-H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/counters")
	t_is "$code" 200 "curl with the token gets the counters"
else
	t_skip "curl with a wrong token gets 401" "no curl"
fi

t_kill "$head"
t_done

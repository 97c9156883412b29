#!/bin/bash
# One scheduler per cluster name: a second head job under a name whose
# scheduler is running is refused with a message saying so, and the first
# keeps its address file and keeps serving; once the first is gone (even
# killed with SIGKILL) the name is free again.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

head_job() {
	echo "exec timeout 60 mpirun -np 2 --oversubscribe '$CLUSTER_RANK' \
		--no-bind --cores 1 --set scheduler.host=127.0.0.1 --name one \
		>'$T_DIR/$1.out' 2>'$T_DIR/$1.err'"
}

t_spawn bash -c "$(head_job first)"
first=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/one/address" ||
	t_bail "the first head job publishes its address" "$(cat "$T_DIR/first.err")"
addr=$(cat "$CLUSTER_HOME/one/address")

t_run timeout 60 bash -c "$(head_job second)"
t_unlike "$T_RC" '^0$' "a second scheduler under the same name fails"
t_like "$(cat "$T_DIR/second.err")" "another scheduler already runs for '[^']*one'" \
	"and says another scheduler runs"
t_is "$(cat "$CLUSTER_HOME/one/address")" "$addr" "the first one's address file is untouched"
t_run "$CLUSTER" --name one submit -- true
t_is "$T_RC" 0 "the first scheduler still serves"

sched=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/one/address")
kill -9 "$sched"
t_kill "$first"
t_spawn bash -c "$(head_job third)"
t_check "after the first is killed, a new head job takes the name" \
	wait_for 30 bash -c "grep -q 'scheduler listening' '$T_DIR/third.err'"

# Where the lock cannot be taken at all (here its path is a directory; on
# some shared file systems flock is refused), the scheduler runs anyway
# and says it is unguarded.
mkdir -p "$CLUSTER_HOME/other/lock"
t_spawn bash -c "$(head_job fourth | sed 's/--name one/--name other/')"
t_check "a scheduler whose lock cannot be taken still starts" \
	wait_for 30 bash -c "grep -q 'scheduler listening' '$T_DIR/fourth.err'"
t_like "$(cat "$T_DIR/fourth.err")" "cannot (open )?lock .*a second scheduler under this name would not be refused" \
	"and warns that it is unguarded"
t_done

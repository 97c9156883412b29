#!/bin/bash
# Task id lists on the command line (cancel, wait, submit --after): a bad
# id is one line on stderr that names it, exit 2, before any scheduler is
# asked; an id too large for 64 bits is an error, never a wrapped number.
# Then, against a running head job, lists and ranges such as 5,1-2 reach
# the scheduler sorted and merged.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"

c() {
	timeout 60 "$CLUSTER" --name T "$@"
}

# bad_ids WHAT WANT CMD...: exit 2, one line on stderr matching WANT.
bad_ids() {
	local what=$1 want=$2
	shift 2
	t_run c "$@"
	t_is "$T_RC" 2 "$what: exit 2"
	t_like "$T_ERR" "^cluster: .*$want" "$what: the error names it"
	t_is "$(printf '%s\n' "$T_ERR" | wc -l)" 1 "$what: one line"
	t_is "$T_OUT" "" "$what: nothing on stdout"
}

# --- no scheduler needed: the ids are refused first ----------------------------
bad_ids "cancel a 20-digit id" "'99999999999999999999' is out of range" \
	cancel 99999999999999999999
bad_ids "cancel a range ending past 64 bits" "'18446744073709551616'" \
	cancel 1-18446744073709551616
bad_ids "cancel id 0" "'0' is out of range" cancel 0
bad_ids "cancel a reversed range" "'9-1' is reversed" cancel 9-1
bad_ids "cancel garbage" "got 'x'" cancel 1 x
bad_ids "cancel an empty item" "empty item" cancel 1,,2
bad_ids "cancel a huge range" "too many" cancel 1-100000000
bad_ids "wait on a 20-digit id" "'99999999999999999999'" wait 99999999999999999999
bad_ids "wait on garbage" "got '4-x'" wait 4-x

t_run c submit --after 2,99999999999999999999 -- true
t_is "$T_RC" 2 "submit --after a 20-digit id: exit 2"
t_like "$T_ERR" "^cluster: --after: id '99999999999999999999' is out of range" \
	"submit --after names the bad id"

# --- against a scheduler ------------------------------------------------------
if [ ! -x "$CLUSTER_RANK" ] || ! command -v mpirun >/dev/null; then
	t_skip "lists reach the scheduler" "no cluster-rank or mpirun"
	t_done
fi
t_spawn timeout 300 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --name T >"$T_DIR/head.log" 2>&1
head=$T_PID
have_worker() {
	c workers 2>/dev/null | grep -q alive
}
wait_for 30 have_worker || t_bail "a worker joins" "$(cat "$T_DIR/head.log")"

t_run c submit --array 1-6 -- sleep 60
t_is "$T_OUT" "1-6" "an array of six"
t_run c submit --after 1-2,4 -- true
t_is "$T_OUT" 7 "submit --after takes a list with a range"
t_run c cancel 5,1-2 3 2
t_is "$T_OUT" "cancelled 4 tasks
cancelled with them 1 waiting task that depended on them: 7" \
	"cancel 5,1-2 3 2 cancels four distinct tasks, and the one after 1-2,4"
t_run c tasks --state cancelled
t_like "$T_OUT" "7 +cancelled .*dependency [12]" \
	"the task after 1-2,4 is cancelled with its dependency"
t_run c wait 3-1
t_is "$T_RC" 2 "wait on a reversed range: exit 2"
t_run c wait 1-3 7
t_is "$T_RC" 1 "wait 1-3 7: exit 1, they were cancelled"
t_like "$T_ERR" "4 of 4 tasks failed" "wait 1-3 7 counts four tasks"
t_run c cancel 4,6 100
t_is "$T_RC" 1 "cancel with an unknown id: exit 1"
t_like "$T_ERR" "no task 100" "the scheduler names the unknown id"
t_run c cancel 6,4
t_is "$T_OUT" "cancelled 2 tasks" "nothing was cancelled by the refused list"

t_kill "$head"
t_done

#!/bin/bash
# A journal that cannot be written: the scheduler's file size limit is
# cut below the journal's size (prlimit; the same write error a full
# disk or a spent quota gives, EFBIG for ENOSPC, without filling a
# real disk).  The scheduler lives on and runs the tasks; the log,
# `cluster status` and /metrics say the journal is failing and why, and
# submit warns that its tasks are not in the journal yet.
# Once the limit is lifted the records that waited in memory are
# written, the status says so, and a scheduler killed with -9 then
# comes back with every task as it ended: none lost, none run twice; a
# stop while it fails ends the scheduler all the same.
# With journal.enabled false, status says the journal is off.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
command -v prlimit >/dev/null || t_bail "prlimit is installed"

local_cluster jf
N=200

metric() {	# the value of /metrics' sample $1
	local port token
	port=$(address_field http_port)
	token=$(cat "$state/token")
	curl -s -H "Authorization: Bearer $token" \
		"http://127.0.0.1:$port/metrics" | sed -n "s/^$1 //p"
}
failing() {
	"$CLUSTER" --name jf status 2>/dev/null | grep -q '^journal .*FAILING'
}
not_failing() {
	"$CLUSTER" --name jf status 2>/dev/null | grep -q '^journal ' && ! failing
}

t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "cluster start"
pid=$(address_field pid)
t_run timeout 20 "$CLUSTER" --name jf status
t_like "$T_OUT" "journal +$state/journal, [0-9.]+ [kKMG]?i?B" \
	"status names the journal and its size"
t_unlike "$T_OUT" "FAILING" "a journal written is not failing"
t_is "$(metric cluster_journal_failing)" 0 "/metrics: not failing"

# --- the scheduler may not grow the journal (its soft limit: the hard
# one only root's CAP_SYS_RESOURCE could raise again) ----------------------------------
# 8 KiB more than the journal: room for the log's lines, not for a
# task with an argument of 9000 bytes
size=$(stat -c %s "$state/journal")
prlimit --pid "$pid" --fsize="$((size + 8192)):unlimited"
t_run timeout 60 "$CLUSTER" --name jf submit -- true "$(printf '%9000s' x)"
t_is "$T_RC" 0 "submit answers while the journal cannot be written"
t_run timeout 60 "$CLUSTER" --name jf submit --array 1-$N -- \
	sh -c "echo run >>$marks/{}"
t_is "$T_RC" 0 "so does the next"
t_like "$T_ERR" "cluster: warning: not in the journal yet, lost if the scheduler is killed before it is: cannot write the journal" \
	"submit warns that its tasks are not in the journal yet"
t_run timeout 120 "$CLUSTER" --name jf wait
t_is "$T_RC" 0 "every task runs meanwhile"
t_check "the scheduler still lives" kill -0 "$pid"
wait_for 10 failing
t_run timeout 20 "$CLUSTER" --name jf status
t_like "$T_OUT" "journal .*FAILING since [0-9-]+ [0-9:]+ \(.* ago\): cannot write the journal '$state/journal': File too large \(the file size limit, ulimit -f\)" \
	"status says since when and why the journal fails"
t_is "$(metric cluster_journal_failing)" 1 "/metrics: failing"
t_run timeout 20 "$CLUSTER" --name jf top --once
t_like "$T_OUT" "journal +FAILING: cannot write the journal" "top says the journal is failing"
if command -v chromium >/dev/null; then
	port=$(address_field http_port)
	t_like "$(chromium_dom "http://127.0.0.1:$port/pool#token=$(cat "$state/token")")" \
		"journal failing: cannot write the journal [^<]*File too large" \
		"the dashboard's pool page says the journal is failing, and why"
else
	t_skip "the dashboard's pool page of a failing journal" "no chromium"
fi
t_is "$(metric cluster_journal_failures_total)" 1 "/metrics: one failure began"
t_check "the log says why, once" \
	test "$(grep -c "cannot write the journal" "$state/scheduler.log")" = 1
t_check "the file holds no torn line" \
	bash -c "tail -c 1 '$state/journal' | od -An -c | grep -q '\\\\n'"

# --- the limit lifted: what waited is written ---------------------------------
prlimit --pid "$pid" --fsize=unlimited:unlimited
wait_for 20 not_failing
t_run timeout 20 "$CLUSTER" --name jf status
t_unlike "$T_OUT" "FAILING" "status: the journal is written again"
t_check "the log says so" grep -q "the journal is written again" "$state/scheduler.log"
t_is "$(metric cluster_journal_failing)" 0 "/metrics: not failing any more"

kill -9 "$pid"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
"$CLUSTER" --name jf stop --force >/dev/null 2>&1
t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "start again after kill -9"
t_check "the killed scheduler's log is kept in scheduler.log.1" \
	grep -q "the journal is written again" "$state/scheduler.log.1"
done=$("$CLUSTER" --name jf tasks --state done 2>/dev/null | grep -c done)
t_is "$done" "$((N + 1))" "every task is known done after the restart"
sleep 2
bad=0
for i in $(seq 1 $N); do
	[ "$(wc -l <"$marks/$i" 2>/dev/null)" = 1 ] || bad=$((bad + 1))
done
t_is "$bad" 0 "every task ran exactly once"

# --- a stop while the journal cannot be written ends all the same -------------
pid=$(address_field pid)
prlimit --pid "$pid" --fsize="$(stat -c %s "$state/journal"):unlimited"
t_run timeout 20 "$CLUSTER" --name jf submit -- true "$(printf '%9000s' x)"
t_is "$T_RC" 0 "a submission to the cut-off journal is answered"
t_run timeout 90 "$CLUSTER" --name jf stop
t_is "$T_RC" 0 "cluster stop with a failing journal: exit 0"
wait_for 15 bash -c "! kill -0 $pid 2>/dev/null"
t_check "the scheduler is gone" bash -c "! kill -0 $pid 2>/dev/null"
t_check "and its address file" test ! -e "$state/address"
t_like "$(cat "$state/scheduler.log")" "the journal ends without its last [0-9]+ bytes of records" \
	"its log says what the journal lacks"

# --- no journal ------------------------------------------------------------------
t_run timeout 60 "$CLUSTER" --profile local --set scheduler.host=127.0.0.1 \
	--set journal.enabled=false --name jn start
t_is "$T_RC" 0 "start with journal.enabled false"
t_run timeout 20 "$CLUSTER" --name jn status
t_like "$T_OUT" "journal +off \(journal.enabled is false\)" "status says the journal is off"
"$CLUSTER" --name jn stop --force >/dev/null 2>&1
t_done

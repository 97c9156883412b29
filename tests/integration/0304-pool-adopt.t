#!/bin/bash
# A scheduler killed with kill -9 leaves its pool's jobs running; the next
# `cluster start` on the same state directory adopts them from the `jobs`
# file: the same local jobs (process groups it did not fork, checked by
# their leaders' start times) are in `cluster status`, none is added and
# none cancelled; one that ended while no scheduler ran is replaced, by
# one job; `scale 1` cancels one of them and `stop` leaves no process.
# Workers of an adopted job keep looking for the scheduler they knew, so
# worker.death-timeout is long enough that they outlive the test.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
command -v python3 >/dev/null || t_bail "python3 is installed"

name=adopt
state=$CLUSTER_HOME/$name
opts=(--profile local --set scheduler.host=127.0.0.1 --set job.cores=1
	--set job.processes=1 --set pool.poll-interval=1s
	--set worker.heartbeat=1s --set worker.death-timeout=10m)

c() {
	timeout 60 "$CLUSTER" --name "$name" "${opts[@]}" "$@"
}

# Every pid the pool's jobs had: their groups are killed at exit.
touch "$T_DIR/pids"
kill_jobs() {
	local pg
	timeout 30 "$CLUSTER" --name "$name" stop --force >/dev/null 2>&1
	for pg in $(sort -u "$T_DIR/pids"); do
		kill -KILL -- "-$pg" 2>/dev/null
	done
	t_cleanup
}
trap kill_jobs EXIT

# py EXPR: EXPR over the status document `d` (live: the jobs not ended).
py() {
	c status --json >"$T_DIR/st.json" 2>"$T_DIR/st.err" || return 1
	python3 - "$T_DIR/st.json" "$T_DIR/pids" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
live = [j for j in d["jobs"] if j["state"] in
        ("queued", "starting", "held", "running", "suspended", "ending")]
ids = sorted(j["id"] for j in live)
with open(sys.argv[2], "a") as f:
    for j in d["jobs"]:
        if j["id"]:
            f.write(j["id"] + "\n")
print(eval(sys.argv[3]))
EOF
}
is() {
	[ "$(py "$1")" = "$2" ]
}
daemon() {
	address_field pid
}
kill_daemon() {
	local pid
	pid=$(daemon)
	kill -9 "$pid"
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
}
# the start time of a process, field 22 of /proc/PID/stat
started() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}

t_run c start
t_is "$T_RC" 0 "cluster start"
t_run c scale 2
t_is "$T_RC" 0 "scale 2"
wait_for 60 is 'd["actual"]' 2
t_is "$(py 'd["actual"]')" 2 "2 workers joined, one local job each"
before=$(py '" ".join(ids)')
read -r a b <<<"$before"
t_like "$before" '^[0-9]+ [0-9]+$' "two jobs: $before"
sa=$(started "$a")
sb=$(started "$b")

# --- kill -9 of the scheduler, then start again: both adopted ----------------
kill_daemon
t_check "the jobs outlive their scheduler" kill -0 -- "-$a" "-$b"
t_run c start
t_is "$T_RC" 0 "cluster start on the state directory of the killed one"
t_like "$(cat "$state/scheduler.log")" "adopted 2 jobs an earlier scheduler recorded: ($a $b|$b $a)" \
	"its log says which jobs it adopted"
wait_for 30 is 'd["last_poll"] is not None' True
sleep 3	# three polls: a job submitted beside them would show by now
t_is "$(py '" ".join(ids)')" "$before" "cluster status shows the same two jobs, none extra"
t_is "$(py 'sorted(j["adopted"] for j in live)')" "[True, True]" "both marked adopted"
t_is "$(py 'd["target"], d["target_jobs"], d["actual_jobs"]')" "(2, 2, 2)" \
	"the target is kept and they count toward it"
t_is "$(started "$a") $(started "$b")" "$sa $sb" "the same processes run, none restarted"

# --- one ends while no scheduler runs: only it is replaced ------------------
kill_daemon
kill -KILL -- "-$a"
wait_for 10 bash -c "! kill -0 -- -$a 2>/dev/null"
t_run c start
t_is "$T_RC" 0 "cluster start again"
wait_for 30 is 'len(live)' 2
sleep 3
t_is "$(py 'len(live)')" 2 "two live jobs"
t_is "$(py "'$b' in ids, '$a' in ids")" "(True, False)" \
	"the live one is adopted, the ended one is not"
t_is "$(py 'sorted(j["adopted"] for j in live)')" "[False, True]" \
	"and one new job replaces the ended one"
new=$(py "[i for i in ids if i != '$b'][0]")
t_is "$(py "[j['state'] for j in d['jobs'] if j['id'] == '$a']")" "['lost']" \
	"status shows the ended one as lost"

# --- scale 1 cancels one of them --------------------------------------------
t_run c scale 1
t_is "$T_RC" 0 "scale 1"
wait_for 30 is 'len(live)' 1
t_is "$(py 'len(live)')" 1 "one live job left"
gone=$(py "[i for i in ('$b', '$new') if i not in ids][0]")
wait_for 15 bash -c "! kill -0 -- -$gone 2>/dev/null"
t_check "the cancelled job's process group is gone" bash -c "! kill -0 -- -$gone 2>/dev/null"
kept=$(py 'ids[0]')
t_check "the other still runs" kill -0 -- "-$kept"

# --- the adopted job is stopped like any other -------------------------------
kill_daemon
t_run c start
t_is "$T_RC" 0 "a third start"
wait_for 30 is "ids" "['$kept']"
t_is "$(py 'ids')" "['$kept']" "the last job is adopted again"
t_run timeout 60 "$CLUSTER" --name "$name" stop
t_is "$T_RC" 0 "cluster stop"
wait_for 15 bash -c "! kill -0 -- -$kept 2>/dev/null"
t_check "no process of the adopted job is left" bash -c "! kill -0 -- -$kept 2>/dev/null"
t_like "$(cat "$state/jobs")" '"jobs":\[\]' "the jobs file lists no job"

t_done

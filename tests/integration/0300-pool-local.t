#!/bin/bash
# The pool on the local backend against a real head (mpirun cluster-rank,
# rank 0 the scheduler and no worker rank of its own), through the CLI:
# a scale before the scheduler starts is kept and applied; scale 3 brings
# 3 workers and repeating it submits nothing; a job killed with kill -9 is
# replaced; scale 1 while tasks run drains the busy jobs and kills no task;
# scale 0 leaves no process of the pool's jobs; adapt grows to a burst and
# back to 0; scale --jobs 2 with 2 processes a job is 4 workers; and with a
# 1-minute walltime the jobs drain before their end and are replaced while
# 5-second tasks keep running, none killed.  The walltime part waits for a
# job to reach its end, so the script takes about two minutes.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"
command -v python3 >/dev/null || t_bail "python3 is installed"

common=(--profile local --set scheduler.host=127.0.0.1
	--set pool.poll-interval=1s --set worker.heartbeat=1s)
opts=("${common[@]}" --set job.processes=1 --set job.cores=1)

c() {
	timeout 120 "$CLUSTER" --name "$name" "${opts[@]}" "$@"
}

# Every pid the pool's jobs ever had: their process groups are killed at
# exit, whatever the test saw of them.
touch "$T_DIR/pids"
kill_jobs() {
	local pg
	for pg in $(sort -u "$T_DIR/pids"); do
		kill -KILL -- "-$pg" 2>/dev/null
	done
	t_cleanup
}
trap kill_jobs EXIT

# py EXPR: EXPR over the status document `d`; records the jobs' pids.
py() {
	c status --json >"$T_DIR/st.json" 2>"$T_DIR/st.err" || return 1
	python3 - "$T_DIR/st.json" "$T_DIR/pids" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
live = [j for j in d["jobs"] if j["state"] in
        ("queued", "starting", "held", "running", "suspended", "ending")]
with open(sys.argv[2], "a") as f:
    for j in d["jobs"]:
        if j["id"] and not j["head"]:
            f.write(j["id"] + "\n")
print(eval(sys.argv[3]))
EOF
}
is() {
	[ "$(py "$1")" = "$2" ]
}

start_head() {
	t_spawn timeout 600 mpirun -np 1 --oversubscribe "$CLUSTER_RANK" \
		"${opts[@]}" --name "$name" >"$T_DIR/$name.log" 2>&1
	head=$T_PID
	wait_for 30 test -s "$CLUSTER_HOME/$name/address" ||
		t_bail "the head of '$name' publishes its address" \
			"$(cat "$T_DIR/$name.log")"
}

# --- a target before the scheduler, then scale 3 -------------------------
name=P
t_run c scale 3
t_is "$T_RC" 0 "scale with no scheduler: exit 0"
t_like "$T_OUT" "applies when it starts" "scale with no scheduler keeps the target"
t_is "$(cat "$CLUSTER_HOME/P/target" 2>&1)" '{"workers":3}' \
	"the kept target is in the state directory"

start_head
t_run c scale 3 --wait --timeout 60
t_is "$T_RC" 0 "scale 3 --wait: exit 0 once 3 workers joined"
t_like "$T_OUT" "target: 3 workers \\(3 jobs of 1\\)" "scale says the target in workers and jobs"
t_like "$T_OUT" "3 of 3 workers joined" "scale --wait reports the joins"
t_is "$(py 'd["target"], d["target_jobs"], d["actual"], len(live)')" "(3, 3, 3, 3)" \
	"status --json: target 3 workers in 3 jobs, 3 joined"
t_is "$(py 'sum(j["expected"] for j in live)')" 3 "status --json: 3 workers expected"
t_run c status
t_like "$T_OUT" "target +3 workers \\(3 jobs\\)" "status: the target in workers and jobs"
t_like "$T_OUT" "actual +3 workers joined" "status: the actual size"
t_like "$T_OUT" "scheduler +local, pid [0-9]+ .*workers connect to 127.0.0.1:[0-9]+, since" \
	"status: where the scheduler runs, its address and since when"
t_is "$(printf '%s\n' "$T_OUT" | grep -c ' running .* 1/1 ')" 3 \
	"status: one line per running job, 1 of 1 workers joined"

before=$(py 'len(d["jobs"])')
t_run c scale 3
sleep 3
t_is "$(py 'len(d["jobs"])')" "$before" "repeating scale 3 submits nothing"

# --- a job killed is replaced ----------------------------------------------
victim=$(py 'live[0]["id"]')
kill -KILL -- "-$victim"
replaced() {
	is "d['actual'] == 3 and len(live) == 3 and '$victim' not in [j['id'] for j in live]" True
}
wait_for 30 replaced
t_check "a job killed with kill -9 is replaced, 3 workers again" replaced

# --- scale 1 while busy: drained, no task killed ---------------------------
t_run c submit --array 1-8 -- sleep 2
t_is "$T_RC" 0 "submit 8 tasks of 2 s"
wait_for 20 is 'd["tasks"]["running"] >= 3' True
t_run c scale 1
t_is "$T_RC" 0 "scale 1 while every worker is busy"
wait_for 10 is 'sum(1 for j in live if j["draining"]) >= 2' True
t_check "busy jobs are drained, not cancelled" is 'sum(1 for j in live if j["draining"]) >= 2' True
t_run timeout 120 "$CLUSTER" --name P wait
t_is "$T_RC" 0 "cluster wait: exit 0, every task done"
t_is "$(py 'd["tasks"]["done"], d["tasks"]["failed"], d["tasks"]["cancelled"]')" "(8, 0, 0)" \
	"all 8 tasks done, none failed or cancelled"
wait_for 30 is 'len(live), d["actual"]' "(1, 1)"
t_is "$(py 'len(live), d["actual"]')" "(1, 1)" "the drained jobs are gone once their tasks ended"

# --- scale 0: no process of the pool's jobs remains ------------------------
t_run c scale 0 --wait --timeout 60
t_is "$T_RC" 0 "scale 0 --wait: exit 0"
none_alive() {
	local pg
	for pg in $(sort -u "$T_DIR/pids"); do
		kill -0 -- "-$pg" 2>/dev/null && return 1
	done
	return 0
}
wait_for 30 none_alive
t_check "no process of the pool's $(sort -u "$T_DIR/pids" | wc -l) jobs remains" none_alive
t_is "$(py 'len(live)')" 0 "status: no job queued or running"

# --- adapt: a burst, then back to 0 ----------------------------------------
t_run c adapt --min 0 --max 3 --idle-timeout 5s
t_is "$T_RC" 0 "adapt --min 0 --max 3 --idle-timeout 5s"
t_like "$T_OUT" "adapt: 0 to 3 workers" "adapt says its bounds"
t_run c submit --array 1-12 -- sleep 2
wait_for 20 is 'd["target"]' 3
t_check "a burst of 12 tasks grows the target to the maximum" is 'd["target"]' 3
t_run c status
t_like "$T_OUT" "adapt +0 to 3 workers" "status shows adapt's bounds"
t_run timeout 120 "$CLUSTER" --name P wait
t_is "$T_RC" 0 "the burst's tasks all done"
wait_for 60 is 'd["target"], len(live)' "(0, 0)"
t_is "$(py 'd["target"], len(live)')" "(0, 0)" "after the burst and the idle timeout: back to 0"
# a task of a GPU, which no worker of this profile has: no job for it
t_run c submit --gpus 1 -- true
gpu_task=$(grep -o '[0-9][0-9]*' <<<"$T_OUT" | tail -1)
unrunnable() {
	c status | grep -q "^unrunnable .*task $gpu_task needs 1 GPU, a worker has 0 GPUs"
}
wait_for 30 unrunnable
t_check "status names the GPU task no worker could run" unrunnable
t_is "$(py 'd["target"], len(live)')" "(0, 0)" "and the pool submits no job for it"
c cancel "$gpu_task" >/dev/null
t_run c adapt --off
t_is "$T_RC" 0 "adapt --off"
t_run c resume
t_is "$T_RC" 0 "resume of a pool that is not paused"
t_kill "$head"

# --- jobs of 2 workers, a 40-second walltime ---------------------------------
# A drain margin of a quarter of the walltime, the most the pool takes.
name=W
opts=("${common[@]}" --set job.processes=2 --set job.cores=2
	--set job.walltime=00:00:40
	--set pool.drain-margin=10s)
start_head
t_run c scale --jobs 2
t_like "$T_OUT" "target: 4 workers \\(2 jobs of 2\\)" "scale --jobs 2 with 2 processes a job: 4 workers"
t_is "$(py 'd["target"], d["target_jobs"]')" "(4, 2)" "status: target 4 workers, 2 jobs"
wait_for 60 is 'd["actual"]' 4
t_is "$(py 'd["actual"]')" 4 "4 workers joined"
first=$(py '" ".join(j["id"] for j in live)')
# 3-second tasks for about 36 s across the first jobs' end
t_run c submit --array 1-48 -- sleep 3
early=0 gone=0
for ((i = 0; i < 100; i++)); do
	read -r g n <<<"$(py "'%d %d' % (1 not in [j['seq'] for j in live], sum(1 for j in live if j['seq'] > 2 and j['joined'] > 0))")"
	if [ "${g:-0}" = 1 ]; then
		gone=1
		[ "${n:-0}" -gt 0 ] && early=1
		break
	fi
	sleep 1
done
t_is "$gone" 1 "the first job ended within its walltime"
t_is "$early" 1 "a replacement had joined before the first job ended"
t_run timeout 180 "$CLUSTER" --name W wait
t_is "$T_RC" 0 "cluster wait: exit 0 across the walltime drain"
t_is "$(py 'd["tasks"]["done"], d["tasks"]["failed"], d["tasks"]["cancelled"]')" "(48, 0, 0)" \
	"all 48 tasks done, none killed by the walltime"
t_run timeout 60 "$CLUSTER" --name W tasks
t_unlike "$(printf '%s\n' "$T_OUT" | awk 'NR > 1 && $5 != 1')" "[0-9]" \
	"every task ran once (no attempt lost to a drain)"
t_run c scale 0 --wait --timeout 60
t_is "$T_RC" 0 "scale 0 of the walltime pool"
wait_for 30 none_alive
t_check "no process of the pool's jobs remains" none_alive
t_kill "$head"
t_done

#!/bin/bash
# The journal of a head job's scheduler on the private Slurm: its rank
# (rank 0 of the head job) killed with -9 in the middle of a few hundred
# short tasks, each of which appends a line to its own marker file, and
# `cluster start` again.  The old head job runs on with its worker rank;
# a new head job's scheduler replays the journal, adopts the pool's worker
# jobs (squeue shows the same ids before and after, and no job beside
# them), the workers of both kinds rejoin it with their running tasks,
# every task ends done, once, and `cluster wait` exits 0.  The journal
# shows each worker job submitted, running, and adopted; stop leaves no
# job of ours, the old head job's worker leaving with the rest.  About a
# minute and a half.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v python3 >/dev/null || t_bail "python3 is installed"
if ! have_slurm; then
	t_skip "the journal of a head job on Slurm" "no Slurm packages or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

name=jsl
state=$CLUSTER_HOME/$name
marks=$T_DIR/marks
N=300
# one process a job: the head job is the scheduler and one worker rank,
# and with a kept target of 3 workers the pool submits 2 worker jobs
c=("$CLUSTER" --profile generic-slurm --set job.queue=debug --set job.cores=1
	--set job.processes=1 --set job.memory=400MB --set job.walltime=00:10:00
	--set scheduler.host=127.0.0.1 --set pool.poll-interval=2s
	--set worker.heartbeat=1s --set worker.death-timeout=5m --name "$name")
mkdir -p "$state" "$marks" && chmod 700 "$state"
echo '{"workers":3}' >"$state/target"

head_id() {
	sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' "$state/head-job" 2>/dev/null
}
# the pool's worker jobs in the queue (pending, running, completing)
worker_jobs() {
	squeue -h -o '%i %j %t' | awk -v p="^$name-" '$2 ~ p {print $1}' | sort
}
# jobs_in EV: the jobs of the journal's EV records (export on stdin), as
# squeue names them (ID, or ID_INDEX for an array's element)
jobs_in() {
	python3 -c 'import json, sys
ids = []
for line in sys.stdin:
    r = json.loads(line)
    if r["ev"] == sys.argv[1]:
        ids.append(r["id"] + ("_%d" % r["index"] if "index" in r else ""))
print(" ".join(sorted(ids)))' "$1"
}
# every job of ours in the queue: the worker jobs and the head jobs
HEADS=
track_all() {
	local id
	for id in $HEADS $(worker_jobs); do
		slurm_track "$id"
	done
}
stop_all() {
	timeout 90 "$CLUSTER" --name "$name" stop --timeout 10 >/dev/null 2>&1
	track_all
	t_cleanup
}
trap stop_all EXIT
export -f worker_jobs
export name

t_run timeout 150 "${c[@]}" start --timeout 120
HEADS="$(head_id)"
track_all
t_is "$T_RC" 0 "cluster start: the head job's scheduler answers"
wait_for 90 bash -c "[ \$(worker_jobs | wc -l) -ge 2 ]"
track_all
t_is "$(worker_jobs | wc -l)" 2 "the pool submitted 2 worker jobs"

t_run timeout 60 "$CLUSTER" --name "$name" submit --array 1-$N -- \
	sh -c "echo run >>$marks/{}; sleep 0.1"
t_is "$T_RC" 0 "submit $N tasks"
wait_for 120 bash -c "[ \$(ls $marks | wc -l) -ge 40 ]"
before=$(worker_jobs | paste -sd' ')
head=$(head_id)
pid=$(address_field pid)
t_check "the scheduler rank's pid is in the address file ($pid)" \
	bash -c "[ -n '$pid' ] && kill -0 '$pid'"
kill -9 "$pid"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
ran=$(ls "$marks" | wc -l)
t_check "some tasks ran before the kill, not all ($ran)" \
	test "$ran" -gt 0 -a "$ran" -lt "$N"

# The head job runs on without its scheduler: its worker rank, like the
# worker jobs', keeps its task and joins the next scheduler.
t_is "$(squeue -h -j "$head" -o '%t' 2>/dev/null)" R "the head job runs on"
t_run timeout 150 "${c[@]}" start --timeout 120
HEADS="$HEADS $(head_id)"
track_all
t_is "$T_RC" 0 "cluster start again"
t_like "$T_OUT" "head job $head runs without its scheduler \\(pid $pid\\)" \
	"it says the old head job lost its scheduler"
t_like "$T_OUT" "resumed from the journal: $N tasks, [0-9]+ unfinished" \
	"it says how much it found"
t_check "a new head job" test "$(head_id)" != "$head"
t_run timeout 300 "$CLUSTER" --name "$name" wait
t_is "$T_RC" 0 "cluster wait exits 0"
t_run timeout 60 "$CLUSTER" --name "$name" tasks --state done
t_is "$(grep -c done <<<"$T_OUT")" "$N" "every task ends done"
t_is "$(ls "$marks" | wc -l)" "$N" "every task ran"
more=0
for f in "$marks"/*; do
	[ "$(wc -l <"$f")" -gt 1 ] && more=$((more + 1))
done
t_is "$more" 0 "every marker has exactly one line"
t_like "$(cat "$state/cluster-$(head_id).err")" "took back [0-9]+ tasks?" \
	"the workers rejoined the new scheduler with their running tasks"
t_is "$(worker_jobs | paste -sd' ')" "$before" \
	"squeue shows the same worker jobs before and after, and no other"

t_run "$CLUSTER" --name "$name" journal export
t_is "$T_RC" 0 "cluster journal export"
t_is "$(jobs_in job-submit <<<"$T_OUT")" "$before" "it shows each worker job submitted"
t_is "$(jobs_in job-adopt <<<"$T_OUT")" "$before" "and adopted by the new scheduler"
t_like "$T_OUT" '"ev":"job-state",[^}]*"state":"running"' "and running, as polled"
t_is "$(grep -c '"ev":"scheduler-start"' <<<"$T_OUT")" 2 "two scheduler starts"

# compacted while the jobs live: each kept with its last record, the
# ended tasks' runs gone
t_run "$CLUSTER" --name "$name" journal compact
t_is "$T_RC" 0 "cluster journal compact"
t_run "$CLUSTER" --name "$name" journal export
t_is "$(jobs_in job-adopt <<<"$T_OUT")" "$before" "the compacted journal keeps the live worker jobs"
t_is "$(grep -c '"ev":"job-\(submit\|end\)"' <<<"$T_OUT")" 0 "and no earlier record of them"
t_is "$(grep -c '"ev":"run"' <<<"$T_OUT")" 0 "nor a run of the ended tasks"

t_run timeout 120 "$CLUSTER" --name "$name" stop --timeout 30
t_is "$T_RC" 0 "cluster stop"
wait_for 60 bash -c "[ -z \"\$(worker_jobs)\" ]"
t_is "$(worker_jobs)" "" "squeue shows none of the worker jobs"
wait_for 60 bash -c "[ -z \"\$(squeue -h -j $(echo $HEADS | tr ' ' ,) -o %i 2>/dev/null)\" ]"
t_is "$(squeue -h -j "$(echo $HEADS | tr ' ' ,)" -o %i 2>/dev/null)" "" \
	"nor either head job: the old one's worker left with the rest"
t_done

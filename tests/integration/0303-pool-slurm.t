#!/bin/bash
# The pool on the private Slurm with the scheduler as a local daemon
# (scheduler.location local, backend slurm) that submits every worker
# job: scale 4 with 2 processes a job is one array of 2; an element
# cancelled with scancel is replaced; an sbatch that creates the job and
# then exits 1 yields one job, not two, even beside ended jobs of the same
# name that an earlier run left in the listing; squeue runs about once per
# poll interval; a daemon killed with kill -9 and started again adopts its
# jobs (squeue shows the same ids, none added); stop leaves none of our jobs
# in the queue.  A partition Slurm does not have fails `cluster start` with
# Slurm's message (a dry run of the worker job) and starts nothing; an
# sbatch that refuses the jobs of a running pool pauses it with that
# message, and a start whose first submission is refused fails.  A job
# that reaches its walltime is replaced and no task is killed: that pool
# starts first and runs beside the rest, since it waits for a 1-minute job
# to end.  Then the PBS path through Slurm's qsub/qstat/qdel wrappers, as
# far as they go: qsub -J makes the array and qdel cancels it, but the
# wrapper's qstat knows no -F json, so the PBS poll fails (shown in status,
# no job changes) and what a poll would show (replacement, walltime)
# cannot be tested there.  About two minutes.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v python3 >/dev/null || t_bail "python3 is installed"
if ! have_slurm; then
	t_skip "the pool on Slurm" "no Slurm packages or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

# Wrappers first on the daemons' PATH: squeue logs each call with its
# caller's pid; sbatch logs each submission (with the job's name), calls
# the real one, then exits 1 once when $WRAP/fail-once exists, and refuses
# every submission but a dry run while $WRAP/refuse exists.
WRAP=$T_DIR/wrap
mkdir -p "$WRAP"
real_sbatch=$(command -v sbatch)
real_squeue=$(command -v squeue)
cat >"$WRAP/squeue" <<EOF
#!/bin/bash
echo "\$(date +%s.%N) \$PPID" >>"$WRAP/squeue.calls"
exec "$real_squeue" "\$@"
EOF
cat >"$WRAP/sbatch" <<EOF
#!/bin/bash
case " \$* " in *" --test-only "*) exec "$real_sbatch" "\$@" ;; esac
echo "\$*" >>"$WRAP/sbatch.calls"
if [ -e "$WRAP/refuse" ]; then
	echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2
	exit 1
fi
"$real_sbatch" "\$@"
rc=\$?
if [ -e "$WRAP/fail-once" ]; then
	rm -f "$WRAP/fail-once"
	echo "sbatch: error: Socket timed out on send/recv operation" >&2
	exit 1
fi
exit \$rc
EOF
chmod +x "$WRAP/squeue" "$WRAP/sbatch"

common=(--profile generic-slurm --set scheduler.location=local
	--set scheduler.host=127.0.0.1 --set job.queue=debug
	--set job.memory=500MB --set pool.poll-interval=2s
	--set worker.heartbeat=2s --set worker.death-timeout=5m)

c() {
	PATH=$WRAP:$PATH timeout 120 "$CLUSTER" --name "$name" "${opts[@]}" "$@"
}

# our jobs in the queue (any state squeue still shows but ended ones)
our_jobs() {
	"$real_squeue" -h -r -o '%i %F %K %j %t' |
		awk -v p="^$1-" '$4 ~ p && $5 !~ /^(CD|CA|TO|F|NF|PR|OOM|BF|DL)$/'
}
track_all() {
	local id
	for id in $("$real_squeue" -h -o '%F %j' | awk '$2 ~ /^p[a-z]-/ {print $1}' | sort -u); do
		slurm_track "$id"
	done
}
stop_all() {
	local n
	[ -n "${watcher:-}" ] && kill "$watcher" 2>/dev/null
	[ -n "${pt_pid:-}" ] && kill -CONT "$pt_pid" 2>/dev/null
	for n in pa pb pr pt pp; do
		timeout 60 "$CLUSTER" --name "$n" stop --timeout 5 >/dev/null 2>&1
	done
	track_all
	t_cleanup
}
trap stop_all EXIT

# py EXPR: EXPR over the status document `d` (live: jobs not ended)
py() {
	c status --json >"$T_DIR/st.json" 2>"$T_DIR/st.err" || return 1
	python3 - "$T_DIR/st.json" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
live = [j for j in d["jobs"] if j["state"] in
        ("queued", "starting", "held", "running", "suspended", "ending")]
print(eval(sys.argv[2]))
EOF
}
is() {
	[ "$(py "$1")" = "$2" ]
}
daemon_pid() {
	sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/$1/address"
}
export -f our_jobs
export real_squeue

# --- the walltime pool first: its job reaches its walltime while the rest run -
# No drain margin, and tasks of a 10 s time limit, only started where
# they fit, so none is killed.  The pool would cancel the idle job at its
# end before Slurm's time-limit check (every 30 s) marks it TIMEOUT, so
# the daemon is stopped (SIGSTOP) from 4 s before the end until Slurm has
# ended the job: as when the scheduler is busy or its host slow.
name=pt
pt_opts=("${common[@]}" --set job.cores=1 --set job.walltime=00:01:00
	--set pool.drain-margin=0s)
opts=("${pt_opts[@]}")
t_run c start
t_is "$T_RC" 0 "cluster start of the walltime pool"
t_run c scale 1
wait_for 90 is 'd["actual"]' 1
first=$(py '[j["id"] for j in live][0]')
slurm_track "$first"
t_run c submit --time-limit 10s --array 1-36 -- sleep 2
left=$(py '[int(j["walltime_left"]) for j in live if j["id"] == "'"$first"'"][0]')
pt_pid=$(daemon_pid pt)
(
	sleep $((left > 4 ? left - 4 : 0))
	kill -STOP "$pt_pid"
	wait_for 90 slurm_state_is "$first" "TIMEOUT|CANCELLED|COMPLETED|FAILED"
	kill -CONT "$pt_pid"
) &
watcher=$!

# --- one array of 2, an element cancelled, a lost answer, the poll rate ---
name=pa
opts=("${common[@]}" --set job.cores=2 --set job.processes=2
	--set job.walltime=00:10:00)
t_run c start
t_is "$T_RC" 0 "cluster start of a local daemon on the slurm backend"
t_run c scale 4
t_like "$T_OUT" "target: 4 workers \\(2 jobs of 2\\)" "scale 4 with 2 processes: 2 jobs"
wait_for 60 bash -c "[ \$(our_jobs pa | wc -l) -ge 2 ]"
track_all
t_is "$(our_jobs pa | wc -l)" 2 "squeue shows 2 jobs"
t_is "$(our_jobs pa | awk '{print $2}' | sort -u | wc -l)" 1 "of one array"
arr=$(our_jobs pa | awk '{print $2}' | head -1)
t_is "$(our_jobs pa | awk '{print $1}' | sort | tr '\n' ' ')" "${arr}_0 ${arr}_1 " \
	"its elements ${arr}_0 and ${arr}_1"
t_is "$(grep -c -- --job-name=pa- "$WRAP/sbatch.calls")" 1 "made with one sbatch call"
wait_for 90 is 'd["actual"]' 4
t_is "$(py 'd["actual"]')" 4 "4 workers joined"

# scancel of one element: the pool replaces it with one job
scancel "${arr}_1"
wait_for 60 bash -c "our_jobs pa | grep -qv '^${arr}_'"
wait_for 30 bash -c "! our_jobs pa | grep -q '^${arr}_1 '"
track_all
t_is "$(our_jobs pa | grep -vc "^${arr}_")" 1 "the cancelled element is replaced by one job"
t_is "$(our_jobs pa | grep -c "^${arr}_")" 1 "the other element still runs"
wait_for 90 is 'd["actual"]' 4
t_is "$(py 'd["actual"], d["target"]')" "(4, 4)" "4 workers again, target kept"
# Slurm shows the element completing (CG) until its processes are gone
el='sorted(j["state"] for j in d["jobs"] if j["id"] == "'"$arr"'" and j["index"] == 1)'
wait_for 60 is "$el" "['cancelled']"
t_is "$(py "$el")" "['cancelled']" "status shows the element cancelled"

# an sbatch that creates the job and then fails: one job, not two.  The
# private Slurm lists ended jobs for an hour, so a run of this test within
# the hour left ended jobs of the same names (pa-4, ...) there.
before=$(our_jobs pa | wc -l)
touch "$WRAP/fail-once"
t_run c scale 6
wait_for 60 bash -c "[ \$(our_jobs pa | wc -l) -gt $before ]"
track_all
sleep 12	# past the submit backoff (10 s): a second job would show by now
t_is "$(our_jobs pa | wc -l)" "$((before + 1))" \
	"an sbatch that created the job and exited 1 yields one job"
t_is "$(py 'd["target_jobs"], d["actual_jobs"]')" "(3, 3)" "the pool counts it as its third job"
wait_for 90 is 'd["actual"]' 6
t_is "$(py 'd["actual"]')" 6 "and its workers join"

# squeue: about one call per poll interval of 2 s over 12 s
: >"$WRAP/squeue.calls"
sleep 12
n=$(awk -v p="$(daemon_pid pa)" '$2 == p' "$WRAP/squeue.calls" | wc -l)
t_check "squeue ran about once per 2 s over 12 s ($n calls)" \
	test "$n" -ge 4 -a "$n" -le 8

# kill -9 of the daemon, then start again: the same jobs, adopted
ids=$(our_jobs pa | awk '{print $1}' | sort | tr '\n' ' ')
calls=$(grep -c -- --job-name=pa- "$WRAP/sbatch.calls")
pid=$(daemon_pid pa)
kill -9 "$pid"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
t_run c start
t_is "$T_RC" 0 "cluster start after kill -9 of the daemon"
wait_for 30 is 'd["last_poll"] is not None' True
sleep 6		# three polls
t_is "$(our_jobs pa | awk '{print $1}' | sort | tr '\n' ' ')" "$ids" \
	"squeue shows the same jobs before and after, none added"
t_is "$(grep -c -- --job-name=pa- "$WRAP/sbatch.calls")" "$calls" "no sbatch since"
t_is "$(py 'len(live), all(j["adopted"] for j in live), d["target"]')" "(3, True, 6)" \
	"status shows the 3 jobs adopted, and the target kept"

t_run timeout 120 "$CLUSTER" --name pa stop --timeout 30
t_is "$T_RC" 0 "cluster stop"
wait_for 30 bash -c "[ -z \"\$(our_jobs pa)\" ]"
t_is "$(our_jobs pa)" "" "squeue shows none of our jobs"

# --- a partition Slurm does not have --------------------------------------
name=pb
opts=("${common[@]}" --set job.cores=1 --set job.queue=nosuch
	--set job.walltime=00:10:00)
t_run c start
t_is "$T_RC" 1 "cluster start fails for a partition Slurm does not have"
t_like "$T_ERR" "[Ii]nvalid partition" "with Slurm's message"
t_like "$T_ERR" "nothing was started" "and says nothing was started"
t_check "no daemon runs" test ! -e "$CLUSTER_HOME/pb/address"
t_is "$(our_jobs pb)" "" "nothing is queued"

# --- submissions refused while the pool runs, and at start ----------------
name=pr
opts=("${common[@]}" --set job.cores=1 --set job.walltime=00:10:00)
t_run c start
t_is "$T_RC" 0 "a daemon starts while sbatch takes jobs"
touch "$WRAP/refuse"
t_run c scale 2
wait_for 30 bash -c "'$CLUSTER' --name pr status | grep -q '^paused'"
t_run c status
t_like "$T_OUT" "paused .*[Ii]nvalid partition" "status shows the pool paused with Slurm's message"
sleep 4
t_is "$(grep -c -- --job-name=pr- "$WRAP/sbatch.calls")" 1 "a paused pool submits nothing more"
t_is "$(our_jobs pr)" "" "nothing is queued"
t_run timeout 60 "$CLUSTER" --name pr stop
t_is "$T_RC" 0 "stop of the paused pool"
t_run c start
t_is "$T_RC" 1 "a start whose first submission (the kept target of 2) is refused fails"
t_like "$T_ERR" "cannot start: submission refused: .*[Ii]nvalid partition" \
	"and says why in Slurm's words"
t_check "and stops its daemon" test ! -e "$CLUSTER_HOME/pr/address"
rm -f "$WRAP/refuse"

# --- the PBS path, through Slurm's qsub/qstat/qdel ---------------------------
name=pp
opts=(--profile generic-pbs --set scheduler.location=local
	--set scheduler.host=127.0.0.1 --set job.queue=debug --set job.cores=1
	--set job.memory=500MB --set job.walltime=00:10:00
	--set pool.poll-interval=2s)
t_run c start
t_is "$T_RC" 0 "cluster start on the pbs backend"
t_run c scale 2
wait_for 60 bash -c "[ \$(our_jobs pp | wc -l) -ge 2 ]"
track_all
t_is "$(our_jobs pp | awk '{print $2}' | sort -u | wc -l)" 1 "qsub -J made one array"
t_is "$(our_jobs pp | wc -l)" 2 "of 2 elements"
wait_for 30 bash -c "'$CLUSTER' --name pp status --json | grep -q '\"poll_error\":\"'"
t_run c status --json
t_like "$T_OUT" '"poll_error":"[^"]+' "the wrapper's qstat takes no -F json: the poll error shows"
t_is "$(py 'd["target_jobs"], d["actual_jobs"]')" "(2, 2)" "and the failed polls change no job"
t_run timeout 120 "$CLUSTER" --name pp stop --timeout 10
t_is "$T_RC" 0 "cluster stop on the pbs backend"
wait_for 30 bash -c "[ -z \"\$(our_jobs pp)\" ]"
t_is "$(our_jobs pp)" "" "qdel left none of our jobs in the queue"

# --- the walltime pool, which ran beside the rest ---------------------------
name=pt
opts=("${pt_opts[@]}")
wait "$watcher"
watcher=
t_is "$(slurm_field "$first" JobState)" TIMEOUT "the first job reached its walltime (TIMEOUT)"
wait_for 90 bash -c "our_jobs pt | grep -qv '^$first '"
track_all
t_check "a replacement job was submitted" bash -c "our_jobs pt | grep -qv '^$first '"
t_run timeout 240 "$CLUSTER" --name pt wait
t_is "$T_RC" 0 "cluster wait: exit 0 across the walltime"
t_is "$(py 'd["tasks"]["done"], d["tasks"]["failed"], d["tasks"]["cancelled"]')" "(36, 0, 0)" \
	"all 36 tasks done, none killed by the walltime"
t_run timeout 60 "$CLUSTER" --name pt tasks
t_unlike "$(printf '%s\n' "$T_OUT" | awk 'NR > 1 && $5 != 1')" "[0-9]" \
	"every task ran once"
t_run timeout 120 "$CLUSTER" --name pt stop --timeout 30
wait_for 30 bash -c "[ -z \"\$(our_jobs pt)\" ]"
t_is "$(our_jobs pt)" "" "squeue shows none of the walltime pool's jobs"

t_done

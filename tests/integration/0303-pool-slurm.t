#!/bin/bash
# Not run by make check yet (tools/check.sh runs tests/integration/[0-9]*.t):
# check 12 fails when an array is already in the pool: the job made by an
# sbatch that then exited 1 is not adopted by name, and a fourth job is
# submitted.  Run it by hand: CLUSTER_BUILD=$PWD/build bash THIS_FILE
#
# The pool on the private Slurm with the scheduler as a local daemon
# (scheduler.location local, backend slurm) that submits every worker
# job: scale 4 with 2 processes a job is one array of 2; an element
# cancelled with scancel is replaced; a job that reaches its walltime is
# replaced and no task is killed; a partition Slurm does not have pauses
# the pool with Slurm's message; an sbatch that creates the job and then
# exits 1 yields one job, not two; squeue runs about once per poll
# interval; stop leaves none of our jobs in the queue.  Then the PBS path
# through Slurm's qsub/qstat/qdel wrappers, as far as they go: qsub -J
# makes the array and qdel cancels it, but the wrapper's qstat knows no
# -F json, so the PBS poll fails (shown in status, no job changes) and
# what a poll would show (replacement, walltime) cannot be tested there.
# The walltime part waits for a 1-minute job to end: about 4 minutes.
. "$(dirname "$0")/../lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v python3 >/dev/null || t_bail "python3 is installed"
if ! have_slurm; then
	t_skip "the pool on Slurm" "no Slurm packages or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

# Wrappers first on the daemon's PATH: squeue counts its calls; sbatch
# calls the real one, then exits 1 once when $WRAP/fail-once exists.
WRAP=$T_DIR/wrap
mkdir -p "$WRAP"
real_sbatch=$(command -v sbatch)
real_squeue=$(command -v squeue)
cat >"$WRAP/squeue" <<EOF
#!/bin/bash
echo "\$(date +%s.%N)" >>"$WRAP/squeue.calls"
exec "$real_squeue" "\$@"
EOF
cat >"$WRAP/sbatch" <<EOF
#!/bin/bash
echo "\$*" >>"$WRAP/sbatch.calls"
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
	--set worker.heartbeat=2s)

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
	for n in pa pb pt pp; do
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
export -f our_jobs
export real_squeue

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
t_is "$(wc -l <"$WRAP/sbatch.calls")" 1 "made with one sbatch call"
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
t_is "$(py 'sorted(j["state"] for j in d["jobs"] if j["id"] == "'"$arr"'" and j["index"] == 1)')" \
	"['cancelled']" "status shows the element cancelled"

# an sbatch that creates the job and then fails: one job, not two
before=$(our_jobs pa | wc -l)
touch "$WRAP/fail-once"
t_run c scale 6
wait_for 60 bash -c "[ \$(our_jobs pa | wc -l) -gt $before ]"
track_all
sleep 16	# past the submit backoff: a second job would show by now
t_is "$(our_jobs pa | wc -l)" "$((before + 1))" \
	"an sbatch that created the job and exited 1 yields one job"
t_is "$(py 'd["target_jobs"], d["actual_jobs"]')" "(3, 3)" "the pool counts it as its third job"
wait_for 90 is 'd["actual"]' 6
t_is "$(py 'd["actual"]')" 6 "and its workers join"

# squeue: about one call per poll interval of 2 s over 20 s
: >"$WRAP/squeue.calls"
sleep 20
n=$(wc -l <"$WRAP/squeue.calls")
t_check "squeue ran about once per 2 s over 20 s ($n calls)" \
	test "$n" -ge 8 -a "$n" -le 12

t_run timeout 120 "$CLUSTER" --name pa stop --timeout 30
t_is "$T_RC" 0 "cluster stop"
wait_for 30 bash -c "[ -z \"\$(our_jobs pa)\" ]"
t_is "$(our_jobs pa)" "" "squeue shows none of our jobs"

# --- a partition Slurm does not have --------------------------------------
name=pb
opts=("${common[@]}" --set job.cores=1 --set job.queue=nosuch
	--set job.walltime=00:10:00)
: >"$WRAP/sbatch.calls"
t_run c start
t_is "$T_RC" 0 "a daemon starts whatever the partition"
t_run c scale 2
wait_for 30 bash -c "'$CLUSTER' --name pb status | grep -q '^paused'"
t_run c status
t_like "$T_OUT" "paused .*[Ii]nvalid partition" "status shows the pool paused with Slurm's message"
sleep 6
t_is "$(wc -l <"$WRAP/sbatch.calls")" 1 "a paused pool submits nothing more"
t_is "$(our_jobs pb)" "" "nothing is queued"
t_run timeout 60 "$CLUSTER" --name pb stop
t_is "$T_RC" 0 "stop of the paused pool"

# --- a job that reaches its walltime --------------------------------------
# No drain margin, and tasks of a 10 s time limit, only started where
# they fit, so none is killed.  The pool would cancel the idle job at its
# end before Slurm's time-limit check (every 30 s) marks it TIMEOUT, so
# the daemon is stopped (SIGSTOP) from 4 s before the end until Slurm has
# ended the job: as when the scheduler is busy or its host slow.
name=pt
opts=("${common[@]}" --set job.cores=1 --set job.walltime=00:01:00
	--set pool.drain-margin=0s)
t_run c start
t_is "$T_RC" 0 "cluster start of the walltime pool"
t_run c scale 1
wait_for 90 is 'd["actual"]' 1
first=$(py '[j["id"] for j in live][0]')
slurm_track "$first"
t_run c submit --time-limit 10s --array 1-45 -- sleep 2
left=$(py '[int(j["walltime_left"]) for j in live if j["id"] == "'"$first"'"][0]')
dpid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/pt/address")
sleep $((left > 4 ? left - 4 : 0))
kill -STOP "$dpid"
wait_for 90 slurm_state_is "$first" "TIMEOUT|CANCELLED|COMPLETED|FAILED"
kill -CONT "$dpid"
t_is "$(slurm_field "$first" JobState)" TIMEOUT "the first job reached its walltime (TIMEOUT)"
wait_for 90 bash -c "our_jobs pt | grep -qv '^$first '"
track_all
t_check "a replacement job was submitted" bash -c "our_jobs pt | grep -qv '^$first '"
t_run timeout 240 "$CLUSTER" --name pt wait
t_is "$T_RC" 0 "cluster wait: exit 0 across the walltime"
t_is "$(py 'd["tasks"]["done"], d["tasks"]["failed"], d["tasks"]["cancelled"]')" "(45, 0, 0)" \
	"all 45 tasks done, none killed by the walltime"
t_run timeout 60 "$CLUSTER" --name pt tasks
t_unlike "$(printf '%s\n' "$T_OUT" | awk 'NR > 1 && $5 != 1')" "[0-9]" \
	"every task ran once"
t_run timeout 120 "$CLUSTER" --name pt stop --timeout 30
wait_for 30 bash -c "[ -z \"\$(our_jobs pt)\" ]"
t_is "$(our_jobs pt)" "" "squeue shows none of the walltime pool's jobs"

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

t_done

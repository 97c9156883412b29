#!/bin/bash
# cluster start and stop with scheduler.location job on the private
# Slurm (the generic-slurm profile): the head job's state shown while it
# waits, a partition the site does not have rejected by the dry run with
# Slurm's words and nothing submitted, and a stop that leaves none of the
# cluster's jobs in the queue, whether the scheduler gets SIGTERM on this
# host or its head job is cancelled (as from another host).
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
if ! have_slurm; then
	t_skip "cluster start on Slurm" "no Slurm packages or not root"
	t_done
fi
slurm_up || t_bail "the private Slurm starts"

c=("$CLUSTER" --profile generic-slurm --set job.queue=debug --set job.cores=1
	--set job.memory=500MB --set job.walltime=00:10:00
	--set scheduler.host=127.0.0.1 --set pool.poll-interval=2s)

# our jobs in the queue (pending or running): the pool's are named
# sl-SEQ, the head job by job.name, so known by its recorded id
head_id() {
	sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' "$CLUSTER_HOME/sl/head-job" 2>/dev/null
}
HEADS=
our_jobs() {
	local h
	h=$(head_id)
	[ -n "$h" ] && HEADS="$HEADS $h"
	squeue -h -o '%i %j %t' | awk -v heads="$HEADS" '
		BEGIN { n = split(heads, a, " "); for (i = 1; i <= n; i++) h[a[i]] = 1 }
		$2 ~ /^sl(bad)?-/ || ($1 in h)'
}
track_all() {
	local id
	for id in $(our_jobs | awk '{print $1}'); do
		slurm_track "$id"
	done
}
trap 'track_all; t_cleanup' EXIT

# A partition Slurm does not have: the dry run says so, nothing queued.
t_run timeout 60 "${c[@]}" --set job.queue=nosuch --name slbad start
t_is "$T_RC" 1 "start with a nonexistent partition fails"
t_like "$T_ERR" "dry run rejects the head job" "at the dry run"
t_like "$T_ERR" "[Ii]nvalid partition" "with Slurm's own message"
t_is "$(squeue -h -o '%j' | grep -c '^slbad' || true)" 0 "nothing was submitted"
t_check "no head job is recorded" test ! -e "$CLUSTER_HOME/slbad/head-job"

# The head job, with a kept target of 2: one more worker job.
mkdir -p "$CLUSTER_HOME/sl" && chmod 700 "$CLUSTER_HOME/sl"
echo '{"workers":2}' >"$CLUSTER_HOME/sl/target"
t_run timeout 150 "${c[@]}" --name sl start --timeout 120
track_all
t_is "$T_RC" 0 "cluster start: the head job's scheduler answers"
t_like "$T_OUT" "submitted head job [0-9]+" "it says which job it submitted"
t_like "$T_ERR" "job [0-9]+ (queued|running)" "it shows the job's batch state"
t_like "$T_OUT" "scheduler of 'sl' runs at 127.0.0.1:" "and where the scheduler runs"
head=$(head_id)
t_check "the head job's id is recorded" test -n "$head"
t_is "$(slurm_field "$head" JobState)" RUNNING "the head job runs"

t_run "${c[@]}" --name sl start
t_is "$T_RC" 1 "a second start fails"
t_like "$T_ERR" "already runs at 127.0.0.1:" "saying where"

export -f our_jobs head_id
export HEADS CLUSTER_HOME
wait_for 60 bash -c "[ \$(our_jobs | wc -l) -ge 2 ]"
t_is "$(our_jobs | wc -l)" 2 "the pool submitted one worker job beside the head job"
track_all
t_run timeout 60 "$CLUSTER" --name sl submit -- true
t_run timeout 90 "$CLUSTER" --name sl wait
t_is "$T_RC" 0 "a task runs on the pool"

t_run timeout 120 "$CLUSTER" --name sl stop --timeout 60
t_is "$T_RC" 0 "cluster stop"
t_like "$T_OUT" "asked the scheduler of 'sl'.* to stop" "by SIGTERM on this host"
HEADS="$HEADS $head"
export HEADS
wait_for 30 bash -c "[ -z \"\$(our_jobs)\" ]"
t_is "$(our_jobs)" "" "squeue shows none of our jobs"
t_check "the address file is gone" test ! -e "$CLUSTER_HOME/sl/address"

# As from another host: the head job is cancelled, Slurm sends SIGTERM,
# srun hands it to rank 0, which stops its pool.
echo '{"workers":2}' >"$CLUSTER_HOME/sl/target"
t_run timeout 150 "${c[@]}" --name sl start --timeout 120
track_all
t_is "$T_RC" 0 "cluster start again"
wait_for 60 bash -c "[ \$(our_jobs | wc -l) -ge 2 ]"
track_all
HEADS="$HEADS $(head_id)"
export HEADS
sed -i 's/"node": *"[^"]*"/"node":"elsewhere"/' "$CLUSTER_HOME/sl/address"
t_run timeout 120 "$CLUSTER" --name sl stop --timeout 60
t_is "$T_RC" 0 "cluster stop of a head job on another host"
t_like "$T_OUT" "cancelled head job [0-9]+" "by cancelling the head job"
wait_for 40 bash -c "[ -z \"\$(our_jobs)\" ]"
t_is "$(our_jobs)" "" "squeue shows none of our jobs"

t_done

#!/bin/bash
# cluster start and stop with the local profile: the scheduler as a
# detached daemon on this host, a second start refused, tasks run by the
# pool's local jobs, a stop that leaves no process and no address file,
# and --force after the daemon was killed; pool.min-workers and
# pool.max-workers from the start on.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"

c=("$CLUSTER" --profile local --set scheduler.host=127.0.0.1 --name loc)
state=$CLUSTER_HOME/loc


# pids of processes whose environment or command line names this cluster
ours() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "--name loc" &&
			echo "${p#/proc/}"
	done
}
export -f ours

# `scale` may not exist here: the pool's kept target does the same
mkdir -p "$state" && chmod 700 "$state"
echo '{"workers":2}' >"$state/target"

t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "cluster start: the daemon answers"
t_like "$T_OUT" "scheduler of 'loc' runs at 127.0.0.1:" "it prints the address"
t_like "$T_OUT" "http://127.0.0.1:" "and the dashboard URL"
t_like "$T_OUT" "cluster --name loc submit --" "and how to submit"
pid=$(address_field pid)
t_check "the daemon runs in a session of its own" \
	bash -c "[ \"\$(ps -o sid= -p $pid | tr -d ' ')\" = $pid ]"
t_check "its log is in the state directory" test -s "$state/scheduler.log"
# SIGPIPE is signal 13, bit 12 of SigIgn: a client or worker that goes
# away mid-answer must not end the daemon
t_is "$(( 0x$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$pid/status) >> 12 & 1 ))" 1 \
	"the daemon ignores SIGPIPE"

t_run "${c[@]}" start
t_is "$T_RC" 1 "a second start fails"
t_like "$T_ERR" "already runs at 127.0.0.1:[0-9]+ \\(pid $pid" \
	"and says where the scheduler runs"

t_run timeout 60 "$CLUSTER" --name loc submit -- true
t_is "$T_RC" 0 "cluster submit reaches the daemon"
t_run timeout 60 "$CLUSTER" --name loc wait
t_is "$T_RC" 0 "cluster wait: the pool's workers ran the task"
wait_for 30 bash -c "[ \$('$CLUSTER' --name loc workers | grep -c alive) -eq 2 ]"
t_is "$("$CLUSTER" --name loc workers | grep -c alive)" 2 \
	"the kept target of 2 workers is one local job of 2"

t_run timeout 90 "$CLUSTER" --name loc stop
t_is "$T_RC" 0 "cluster stop"
t_like "$T_OUT" "stopped" "it says the scheduler stopped"
# the launcher's ranks, in groups of their own, end before the stop does
t_is "$(ours | grep -vx "$pid")" "" "when stop returns, no process of the pool's jobs is left"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
t_check "the daemon is gone" bash -c "! kill -0 $pid 2>/dev/null"
t_check "the address file is gone" test ! -e "$state/address"
wait_for 10 bash -c "[ -z \"\$(ours)\" ]"
t_is "$(ours)" "" "no process of the cluster is left"
t_like "$(cat "$state/jobs")" '"jobs":\[\]' "the jobs file lists no job"

t_run "$CLUSTER" --name loc stop
t_is "$T_RC" 0 "stop of a stopped cluster"
t_like "$T_OUT" "no scheduler runs" "says nothing runs"

# kill -9 of the daemon: its local jobs stay; --force ends them.
t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "cluster start again"
pid=$(address_field pid)
wait_for 30 grep -q '"state":"running"' "$state/jobs"
job=$(sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' "$state/jobs")
t_check "the jobs file lists a running local job" test -n "$job"
kill -9 "$pid"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
t_check "the local job outlives its scheduler" kill -0 "$job"
t_run "$CLUSTER" --name loc stop --force
t_is "$T_RC" 0 "cluster stop --force"
t_like "$T_OUT" "killed local jobs \\(process groups\\): $job" \
	"it says which jobs it killed"
t_like "$T_OUT" "removed the address file" "and that the stale address went"
wait_for 10 bash -c "! kill -0 -- -$job 2>/dev/null"
t_check "the job's process group is gone" bash -c "! kill -0 -- -$job 2>/dev/null"
t_check "the address file is gone" test ! -e "$state/address"
wait_for 10 bash -c "[ -z \"\$(ours)\" ]"
t_is "$(ours)" "" "no process of the cluster is left"

# A daemon that dies before answering: its log's last lines.
t_run timeout 30 "$CLUSTER" --profile local --set scheduler.interface=nosuch0 \
	--name bad start
t_is "$T_RC" 1 "start fails when the daemon cannot start"
t_like "$T_ERR" "exited with status" "it says the daemon exited"
t_like "$T_ERR" "the last lines of .*scheduler.log" "and shows its log"
t_like "$T_ERR" "no such network interface 'nosuch0'" "whose words say why"

# scheduler.interface: the address of that interface is advertised.
t_run timeout 60 "$CLUSTER" --profile local --set scheduler.interface=lo \
	--name lo start
t_is "$T_RC" 0 "start with scheduler.interface lo"
t_like "$T_OUT" "runs at 127.0.0.1:" "the scheduler advertises lo's address"
t_run timeout 60 "$CLUSTER" --name lo stop
t_is "$T_RC" 0 "and stops"

# pool.min-workers and pool.max-workers: checked before anything starts,
# the pool starts at its minimum, and scale and adapt keep within them.
t_run timeout 30 "$CLUSTER" --profile local --set scheduler.host=127.0.0.1 \
	--set pool.min-workers=3 --set pool.max-workers=2 --name mm start
t_is "$T_RC" 1 "start fails when pool.min-workers is above pool.max-workers"
t_like "$T_ERR" "pool.min-workers \\(3\\) is more than pool.max-workers \\(2\\)" \
	"and names both keys"
t_check "nothing was started" test ! -e "$CLUSTER_HOME/mm/address"
mm=("$CLUSTER" --profile local --set scheduler.host=127.0.0.1 --set job.cores=1
	--set job.processes=1 --set pool.min-workers=2 --set pool.max-workers=3
	--set pool.poll-interval=1s --name mm)
t_run timeout 60 "${mm[@]}" start
t_is "$T_RC" 0 "start with pool.min-workers 2"
wait_for 60 bash -c "[ \$('$CLUSTER' --name mm workers | grep -c alive) -eq 2 ]"
t_is "$("$CLUSTER" --name mm workers | grep -c alive)" 2 \
	"the pool starts at pool.min-workers with no scale"
t_run timeout 30 "${mm[@]}" scale 4
t_is "$T_RC" 1 "scale past pool.max-workers fails"
t_like "$T_ERR" "4 workers is more than pool.max-workers \\(3\\)" "and says so"
t_run timeout 30 "${mm[@]}" scale 1
t_is "$T_RC" 1 "scale below pool.min-workers fails"
t_like "$T_ERR" "1 worker is fewer than pool.min-workers \\(2\\)" "and says so"
t_run timeout 30 "${mm[@]}" adapt --max 3
t_like "$T_OUT" "adapt: 2 to 3 workers" "adapt's minimum is pool.min-workers"
t_run timeout 90 "$CLUSTER" --name mm stop
t_is "$T_RC" 0 "and it stops"

t_done

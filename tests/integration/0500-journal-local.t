#!/bin/bash
# The journal of a local scheduler daemon: killed with -9 in the middle
# of a few hundred short tasks and started again, it resumes them (the
# finished ones keep their results, the rest run) and every task ends
# done; the pool's jobs are recorded as submitted, then as adopted by
# the next scheduler; a task whose submission was answered survives a
# kill right after the answer; a torn last line is dropped, a bad line
# stops the start; a block of zeros is skipped with a warning.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"

local_cluster jl
N=300

job_ids() {	# the pool's jobs, as its state directory records them
	python3 -c 'import json, sys
print(" ".join(sorted(j["id"] for j in json.load(open(sys.argv[1]))["jobs"])))' "$state/jobs"
}
count() {	# tasks in state $1
	"$CLUSTER" --name jl tasks --state "$1" 2>/dev/null | grep -c "$1"
}
# kill_daemon [keep]: kill -9 the scheduler; its pool's local jobs live
# on, and are ended too (the journal kept) unless `keep`: then the next
# start adopts them and their workers rejoin it with their running tasks.
kill_daemon() {
	local pid
	pid=$(address_field pid)
	kill -9 "$pid"
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
	[ "${1:-}" = keep ] || "$CLUSTER" --name jl stop --force >/dev/null 2>&1
}

t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "cluster start"
t_unlike "$T_OUT" "resumed" "a first start resumes nothing"

# each task appends a line to its own marker file: once the workers
# rejoin a restarted scheduler, every marker must have exactly one line
t_run timeout 60 "$CLUSTER" --name jl submit --array 1-$N -- \
	sh -c "echo run >>$marks/{}; sleep 0.2"
t_is "$T_RC" 0 "submit $N tasks"
wait_for 120 bash -c "[ \$(ls $marks | wc -l) -ge 40 ]"
jobs_before=$(job_ids)
kill_daemon keep
t_check "the journal is in the state directory" test -s "$state/journal"
t_like "$(head -1 "$state/journal")" '"format":"cluster-journal","version":"2\.' \
	"its first line names the format and version"
t_check "every line is JSON (jq reads it)" \
	bash -c "! command -v jq >/dev/null || jq -e . '$state/journal' >/dev/null"
ran=$(ls "$marks" | wc -l)
t_check "some tasks ran before the kill, not all ($ran)" \
	test "$ran" -gt 0 -a "$ran" -lt "$N"

t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "cluster start again"
t_like "$T_OUT" "resumed from the journal: $N tasks, [0-9]+ unfinished" \
	"it says how much it found"
t_run timeout 300 "$CLUSTER" --name jl wait
t_is "$T_RC" 0 "cluster wait exits 0"
t_is "$(count done)" "$N" "every task ends done"
t_is "$(ls "$marks" | wc -l)" "$N" "every task ran"
more=0
for f in "$marks"/*; do
	[ "$(wc -l <"$f")" -gt 1 ] && more=$((more + 1))
done
# the runs under way at the kill went on in the workers that outlived
# the scheduler, which claimed them from the next one: none ran twice
t_is "$more" 0 "every task ran exactly once"
t_like "$(cat "$state/scheduler.log")" "took back [0-9]+ tasks?" \
	"the workers rejoined with their running tasks"
t_is "$(job_ids)" "$jobs_before" "the pool's jobs were adopted, none replaced"
t_run "$CLUSTER" --name jl journal export
t_like "$T_OUT" '"ev":"job-submit","t":[0-9.]+,"seq":1,"name":"jl-1","id":"[0-9]+"' \
	"the journal records the pool's jobs as submitted"
t_is "$(sed -n 's/.*"ev":"job-adopt".*"id":"\([0-9]*\)".*/\1/p' <<<"$T_OUT" | sort | paste -sd' ')" \
	"$jobs_before" "and as adopted by the next scheduler"
t_run "$CLUSTER" --name jl tasks --from 1 --limit 1
t_like "$T_OUT" "1 +done +sh" "an early task kept its result"
t_is "$(wc -l <"$marks/1")" 1 "and did not run again"

# kill -9 right after submit returns: the task is there after a restart
t_run timeout 60 "$CLUSTER" --name jl submit --after 1 -- true
t_is "$T_RC" 0 "submit one more"
id=$(sed -n 's/.*\b\([0-9][0-9]*\)$/\1/p' <<<"$T_OUT" | tail -1)
kill_daemon
t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "start after a kill right after submit"
t_run timeout 120 "$CLUSTER" --name jl wait
t_is "$T_RC" 0 "it waits for the new task too"
t_is "$(count done)" "$((N + 1))" "the task submitted before the kill exists and ran"
t_run "$CLUSTER" --name jl journal export
t_is "$T_RC" 0 "cluster journal export"
t_like "$T_OUT" '"ev":"scheduler-start"' "export prints the events"
t_is "$(grep -c '"ev":"submit"' <<<"$T_OUT")" 2 "two submissions recorded"
t_run "$CLUSTER" --name jl journal export --since 1h
t_like "$T_OUT" '"ev":"end"' "export --since 1h prints the recent events"
t_run "$CLUSTER" --name jl journal export --since $(( $(date +%s) + 3600 ))
t_is "$T_OUT" "" "and --since an hour ahead prints none"
t_run "$CLUSTER" --name jl journal export --since soon
t_is "$T_RC" 1 "a bad --since fails"
t_like "$T_ERR" "--since: expected Unix seconds or a duration" "saying what it takes"

# a running scheduler compacts on demand; the state stays the same
t_run "$CLUSTER" --name jl journal compact
t_is "$T_RC" 0 "cluster journal compact on a running cluster"
t_like "$T_OUT" "compacted" "it says so"
kill_daemon
t_run timeout 60 "${c[@]}" start
t_like "$T_OUT" "resumed from the journal: $((N + 1)) tasks, 0 unfinished" \
	"a compacted journal gives the same tasks"
kill_daemon
t_run "$CLUSTER" --name jl journal compact
t_is "$T_RC" 0 "cluster journal compact on a stopped cluster"
t_like "$T_OUT" "compacted the journal .*$((N + 1)) tasks" "it says what it kept"
t_run timeout 60 "${c[@]}" start
t_like "$T_OUT" "resumed from the journal: $((N + 1)) tasks, 0 unfinished" \
	"and the journal still gives the same tasks"
kill_daemon

# a torn last line is dropped; a bad line in the middle stops the start
size=$(stat -c %s "$state/journal")
printf '{"ev":"end","id":' >>"$state/journal"
t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "start with a torn last line"
t_like "$(tail -c +$((size + 1)) "$state/journal" | head -1)" '^\{"ev":"scheduler-start"' \
	"the torn line is gone and the journal goes on"
kill_daemon
# a block of zeros a crash of the machine left (ext4 after a power cut,
# NFS): skipped with a warning, and what follows it stands
head -c 4000 /dev/zero >>"$state/journal"
echo >>"$state/journal"
t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 0 "start with a block of zeros in the journal"
t_like "$(cat "$state/scheduler.log")" "journal: 1 line from line [0-9]+ hold zeros \(4001 bytes" \
	"the log says what it skipped"
t_like "$T_OUT" "resumed from the journal: $((N + 1)) tasks, 0 unfinished" \
	"and every task is still there"
t_run "$CLUSTER" --name jl journal export
t_like "$T_ERR" "hold zeros" "export says it left them out"
kill_daemon
sed -i '3s/.*/not json/' "$state/journal"
sum=$(md5sum <"$state/journal")
t_run timeout 60 "${c[@]}" start
t_is "$T_RC" 1 "a bad line stops the start"
t_like "$T_ERR$(cat "$state/scheduler.log")" "journal:3: " "naming its line"
t_is "$(md5sum <"$state/journal")" "$sum" "and leaves the file untouched"
"$CLUSTER" --name jl stop --force >/dev/null 2>&1
t_done

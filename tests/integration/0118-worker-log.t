#!/bin/bash
# Task output in one log per worker (task.output: worker-log, the
# default; cluster(1) WORKER LOGS): no file per task, nothing for a task
# that writes nothing, `cluster logs` (and --follow) through a scheduler
# and after the job, retries, a worker restarted by its nanny, one slot's
# pipes reused task after task, rotation, and the other two choices of
# task.output.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"

batch() {
	local name=$1 file=$2
	shift 2
	t_run timeout 60 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
		--set scheduler.host=127.0.0.1 "$@" --name "$name" --run "$file"
}

# --- a batch: what it leaves, read after the job ------------------------------

cat >"$T_DIR/tasks.txt" <<'EOT'
sh -c "echo out-of-one; echo err-of-one >&2; exit 3"
/bin/true
echo out-of-three
sh -c "head -c 200000 /dev/zero | tr '\0' x"
EOT
batch B "$T_DIR/tasks.txt"
logs=$CLUSTER_HOME/B/logs
t_is "$T_RC" 1 "a batch with a failing task ends non-zero"
t_like "$T_OUT" "output: the worker logs in $logs \\(cluster logs 1\\)" \
	"the summary says where the failed task's output is"
t_is "$(find "$logs" -name '*.out' -o -name '*.err' | wc -l)" 0 "no file per task"
t_is "$(ls "$logs" | sort | tr '\n' ' ')" \
	"worker-$(hostname | tr -c 'A-Za-z0-9_.\n-' _)_rank1.idx worker-$(hostname | tr -c 'A-Za-z0-9_.\n-' _)_rank1.lock worker-$(hostname | tr -c 'A-Za-z0-9_.\n-' _)_rank1.log " \
	"one worker, one log, its index and its lock"
t_run "$CLUSTER" --name B logs 1
t_is "$T_RC" 0 "logs after the job: exit 0"
t_is "$T_OUT" out-of-one "logs after the job reads the worker log"
t_like "$T_ERR" "no scheduler answers for 'B'; reading the worker logs in $logs \\(run 1 of task 1\\)" \
	"it says where it reads"
t_run "$CLUSTER" --name B logs --stderr 1
t_is "$T_OUT" err-of-one "logs --stderr after the job"
t_run "$CLUSTER" --name B logs 3
t_is "$T_OUT" out-of-three "logs of another task"
t_run "$CLUSTER" --name B logs 4
t_is "${#T_OUT}" 200000 "output larger than a pipe holds is all there"
t_run "$CLUSTER" --name B logs 2
t_is "$T_RC" 0 "logs of a task that wrote nothing: exit 0"
t_is "$T_OUT" "" "and prints nothing"
t_like "$T_ERR" "task 2 wrote no stdout to the worker logs in $logs" "saying it wrote nothing"

# --- retries: the last attempt, and how many before it wrote ----------------

n=$T_DIR/tries
cat >"$T_DIR/flaky.sh" <<EOS
#!/bin/sh
echo x >>"$n"
k=\$(wc -l <"$n")
echo "out of try \$k"
[ "\$k" -ge 3 ]
EOS
chmod +x "$T_DIR/flaky.sh"
echo "$T_DIR/flaky.sh" >"$T_DIR/retry.txt"
batch R "$T_DIR/retry.txt" --retries 2
t_is "$T_RC" 0 "a task that succeeds at its third attempt"
t_run "$CLUSTER" --name R logs 1
t_is "$T_OUT" "out of try 3" "logs prints the last attempt"
t_like "$T_ERR" "run 3 of task 1" "it names the run"
t_like "$T_ERR" "2 earlier runs wrote to stdout too" "and says earlier runs wrote"

# --- a worker killed and restarted by its nanny appends to its log ----------

cat >"$T_DIR/crash.sh" <<EOS
#!/bin/sh
if [ ! -e "$T_DIR/crashed" ]; then
	touch "$T_DIR/crashed"
	echo before-the-crash
	sleep 1
	kill -KILL \$PPID
	sleep 5
fi
echo after-the-restart
EOS
chmod +x "$T_DIR/crash.sh"
echo "$T_DIR/crash.sh" >"$T_DIR/crash.txt"
batch N "$T_DIR/crash.txt"
t_is "$T_RC" 0 "the task killing its worker runs again on the restarted one"
t_is "$(ls "$CLUSTER_HOME/N/logs" | grep -c '\.log$')" 1 \
	"the restarted worker took its log again, no second one"
t_is "$(tr -d '\0' <"$CLUSTER_HOME"/N/logs/worker-*.log | grep -a -c -e before-the-crash -e after-the-restart)" 2 \
	"the log holds both runs' output"
t_is "$("$CLUSTER" --name N logs 1 2>/dev/null)" after-the-restart \
	"cluster logs shows the run after the restart"

# --- one slot's pipes, task after task --------------------------------------

# One worker of one core runs them in turn, so each task gets the pipes
# the one before it left: every output is still its own task's.  Task 1
# leaves a process of its own session holding its stdout; that process
# writes while task 2 runs, and must not land in task 2's output.
cat >"$T_DIR/turns.txt" <<EOT
sh -c "setsid sh -c 'touch $T_DIR/stray-up; while [ ! -e $T_DIR/two-runs ]; do sleep 0.01; done; echo stray' & while [ ! -e $T_DIR/stray-up ]; do sleep 0.01; done; echo first"
sh -c "touch $T_DIR/two-runs; sleep 0.5; echo second"
EOT
for i in $(seq 3 60); do
	echo "sh -c \"echo out-$i; echo err-$i >&2\""
done >>"$T_DIR/turns.txt"
batch P "$T_DIR/turns.txt" --cores 1
t_is "$T_RC" 0 "60 tasks in turn on one core"
t_is "$(test -e "$T_DIR/stray-up" && "$CLUSTER" --name P logs 1 2>/dev/null)" first \
	"the task that left a process behind has its own output"
t_is "$("$CLUSTER" --name P logs 2 2>/dev/null)" second \
	"the next task's output has nothing of that process"
bad=
for i in $(seq 3 60); do
	[ "$("$CLUSTER" --name P logs "$i" 2>/dev/null)" = "out-$i" ] &&
		[ "$("$CLUSTER" --name P logs --stderr "$i" 2>/dev/null)" = "err-$i" ] ||
		bad+=" $i"
done
t_is "${bad:-none}" none "each task's stdout and stderr are its own"

# --- rotation keeps a worker's log bounded -----------------------------------

for i in $(seq 1 30); do
	echo "sh -c \"head -c 1500 /dev/zero | tr '\\\\0' a; echo ' end of $i'\""
done >"$T_DIR/many.txt"
batch T "$T_DIR/many.txt" --set task.output-log-size=4KiB
t_is "$T_RC" 0 "30 tasks of 1.5 kB with a 4 KiB log"
t_is "$(ls "$CLUSTER_HOME/T/logs" | grep -c -e '\.log\.1$')" 1 "the log was rotated"
t_is "$(ls "$CLUSTER_HOME/T/logs" | wc -l)" 5 "two generations kept, nothing more"
bytes=$(cat "$CLUSTER_HOME"/T/logs/worker-*.log* | wc -c)
t_check "at most about twice the size on disk ($bytes bytes)" test "$bytes" -le 10000
t_like "$("$CLUSTER" --name T logs 30 2>/dev/null)" "end of 30$" "the last task reads whole"

# --- a serving head job: logs and --follow through the API -------------------

t_spawn timeout 120 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
	--set scheduler.host=127.0.0.1 --name S >"$T_DIR/head.log" 2>&1
head=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/S/address" ||
	t_bail "the head job publishes its address" "$(cat "$T_DIR/head.log")"
t_run timeout 30 "$CLUSTER" --name S submit -- sh -c 'echo one; sleep 2; echo two >&2; echo three'
t_run timeout 60 "$CLUSTER" --name S logs -f 1
t_is "$T_RC" 0 "logs -f of a task that ends well: exit 0"
t_is "$T_OUT" $'one\nthree' "logs -f prints the output as it comes, to the end"
t_run timeout 30 "$CLUSTER" --name S logs --stderr 1
t_is "$T_OUT" two "logs --stderr through the scheduler"
t_run timeout 30 "$CLUSTER" --name S submit -- true
t_run timeout 30 "$CLUSTER" --name S wait 2
t_run timeout 30 "$CLUSTER" --name S logs 2
t_is "$T_RC:$T_OUT" "0:" "logs of a task that wrote nothing: empty, exit 0"
t_run timeout 30 "$CLUSTER" --name S submit --stdout "$T_DIR/own.out" -- echo in-its-own-file
t_run timeout 30 "$CLUSTER" --name S wait 3
t_is "$(cat "$T_DIR/own.out" 2>&1)" in-its-own-file "--stdout FILE still writes the file"
t_run timeout 30 "$CLUSTER" --name S logs 3
t_is "$T_OUT" in-its-own-file "and logs reads it there"
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/S/address")
kill -TERM "$pid"
wait_for 60 bash -c "! kill -0 -- -$head 2>/dev/null" || t_kill "$head"

# --- task.output: files and discard ------------------------------------------

printf 'echo to-a-file\n' >"$T_DIR/one.txt"
batch F "$T_DIR/one.txt" --set task.output=files
t_is "$(cat "$CLUSTER_HOME/F/logs/1.out" 2>&1)" to-a-file "task.output=files: logs/ID.out"
t_is "$(ls "$CLUSTER_HOME/F/logs" | grep -c worker-)" 0 "and no worker log"
batch D "$T_DIR/one.txt" --set task.output=discard
t_is "$T_RC" 0 "task.output=discard: the batch runs"
t_is "$(ls "$CLUSTER_HOME/D/logs" | wc -l)" 0 "and leaves no output at all"
batch X "$T_DIR/one.txt" --set task.output=somewhere
t_is "$T_RC" 2 "a bad task.output is a usage error"
t_like "$T_ERR" "task.output" "naming the key"

t_done

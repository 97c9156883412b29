#!/bin/bash
# After a batch job, and around it (cluster-rank(1), cluster(1) logs):
# the output a batch left in the state directory, a worker job that
# starts before its head job, and the output of every attempt of a
# retried task.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

# --- cluster logs ID after the job: read from the state directory ---------

printf 'sh -c "echo out-of-one; echo err-of-one >&2; exit 3"\necho out-of-two\n' \
	>"$T_DIR/after.txt"
t_run timeout 60 mpirun -np 2 "$CLUSTER_RANK" --no-bind --set scheduler.host=127.0.0.1 \
	--set task.output=files --name after --run "$T_DIR/after.txt"
t_is "$T_RC" 1 "a batch with a failing task ends non-zero"
t_run "$CLUSTER" --name after logs 1
t_is "$T_RC" 0 "logs after the job: exit 0"
t_is "$T_OUT" out-of-one "logs after the job prints the task's stdout from the state directory"
t_like "$T_ERR" "no scheduler answers.*reading .*/after/logs/1.out" "it says which file it reads"
t_run "$CLUSTER" --name after logs --stderr 1
t_is "$T_OUT" err-of-one "logs --stderr after the job prints the task's stderr"
t_run "$CLUSTER" --name after logs 2
t_is "$T_OUT" out-of-two "logs of the other task"
t_run "$CLUSTER" --name after logs 9
t_is "$T_RC" 1 "logs of a task with no output there: exit 1"
t_like "$T_ERR" "task 9 has no stdout in '[^']*/after/logs'" "it says the task has no output there"
t_is "$T_OUT" "" "and prints nothing on stdout"

# Several runs' folders (logs/RUN/ID.out): the newest, named.
mkdir -p "$CLUSTER_HOME/after/logs/run-a" "$CLUSTER_HOME/after/logs/run-b"
echo older >"$CLUSTER_HOME/after/logs/run-a/1.out"
touch -d '2 hours ago' "$CLUSTER_HOME/after/logs/run-a/1.out"
touch -d '1 hour ago' "$CLUSTER_HOME/after/logs/1.out"
echo newest >"$CLUSTER_HOME/after/logs/run-b/1.out"
t_run "$CLUSTER" --name after logs 1
t_is "$T_OUT" newest "of several runs, logs reads the newest"
t_like "$T_ERR" "reading .*/logs/run-b/1.out, the newest of 3 runs" "it says which run it reads"
t_run "$CLUSTER" --name nosuch logs 1
t_is "$T_RC" 1 "logs of a cluster that never ran: exit 1"

# --- a worker job that starts before its head job ---------------------------

# A target of 0 makes the cluster's state directory, which a worker job
# waits in, and keeps its head job from starting a pool job of its own:
# the only workers that can join are the early job's.
"$CLUSTER" --name early scale 0 >/dev/null || t_fail "a target before the head job"
# Without recovery: Open MPI 4.1's mpirun with orte_enable_recovery exits 0
# however its ranks ended.
for rec in 0; do
	start=$(date +%s)
	t_run timeout 60 mpirun -np 2 --mca orte_enable_recovery $rec "$CLUSTER_RANK" \
		--no-bind --set scheduler.host=127.0.0.1 --set worker.death-timeout=3s \
		--name early --worker-only
	took=$(($(date +%s) - start))
	t_unlike "$T_RC" '^0$' "recovery $rec: a worker job no scheduler answers fails"
	t_check "recovery $rec: it waited for worker.death-timeout (${took} s)" test "$took" -ge 3
	t_like "$T_ERR" "no scheduler address in '[^']*/early/address' after 3 s \(worker.death-timeout\)" \
		"recovery $rec: it says why it gave up"
done

t_spawn bash -c "timeout 120 mpirun -np 2 '$CLUSTER_RANK' --no-bind \
	--set scheduler.host=127.0.0.1 --set worker.death-timeout=30s \
	--name early --worker-only >'$T_DIR/wk.out' 2>'$T_DIR/wk.err'; echo \$? >'$T_DIR/wk.rc'"
wk_pg=$T_PID
sleep 2
t_spawn bash -c "exec timeout 120 mpirun -np 1 '$CLUSTER_RANK' --no-bind \
	--set scheduler.host=127.0.0.1 --name early >'$T_DIR/hd.out' 2>'$T_DIR/hd.err'"
hd_pg=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/early/address" ||
	t_fail "the late head job publishes its address" "head job:" "$(cat "$T_DIR/hd.err")" \
		"worker job:" "$(cat "$T_DIR/wk.err")"
early_joined="worker '[^':]*:rank[01]' joined"
wait_for 30 bash -c "[ \$(grep -c \"$early_joined\" '$T_DIR/hd.err') -ge 2 ]"
if [ "$(grep -c "$early_joined" "$T_DIR/hd.err")" = 2 ]; then
	t_ok "the early worker job's two workers joined the late head job"
else
	t_fail "the early worker job's two workers joined the late head job" \
		"head job:" "$(cat "$T_DIR/hd.err")" "worker job:" "$(cat "$T_DIR/wk.err")"
fi
"$CLUSTER" --name early submit -- true >/dev/null
t_run timeout 60 "$CLUSTER" --name early wait
t_is "$T_RC" 0 "a task runs on them"
kill -TERM $(pgrep -g "$hd_pg" -x mpirun)
wait_for 30 test -s "$T_DIR/wk.rc"
t_is "$(cat "$T_DIR/wk.rc" 2>/dev/null)" 0 "the worker job ends with 0 when its head job ends in order"

# --- a retried task keeps the output of every attempt ---------------------

n=$T_DIR/tries
cat >"$T_DIR/flaky.sh" <<EOS
#!/bin/sh
echo x >>"$n"
k=\$(wc -l <"$n")
echo "out of try \$k"
echo "err of try \$k" >&2
[ "\$k" -ge 3 ]
EOS
chmod +x "$T_DIR/flaky.sh"
echo "$T_DIR/flaky.sh" >"$T_DIR/retry.txt"
t_run timeout 60 mpirun -np 2 "$CLUSTER_RANK" --no-bind --set scheduler.host=127.0.0.1 \
	--set task.output=files --name retry --retries 2 --run "$T_DIR/retry.txt"
t_is "$T_RC" 0 "a task that succeeds at its third attempt: the batch succeeds"
logs=$CLUSTER_HOME/retry/logs
t_is "$(cat "$logs/1.out" 2>/dev/null)" "out of try 3" "ID.out holds the last attempt's output"
t_is "$(cat "$logs/1.attempt-1.out" 2>/dev/null)" "out of try 1" "ID.attempt-1.out holds the first"
t_is "$(cat "$logs/1.attempt-2.out" 2>/dev/null)" "out of try 2" "ID.attempt-2.out holds the second"
t_is "$(cat "$logs/1.attempt-1.err" 2>/dev/null)" "err of try 1" "stderr is kept the same way"
t_run "$CLUSTER" --name retry logs 1
t_is "$T_OUT" "out of try 3" "logs prints the last attempt"
t_like "$T_ERR" "earlier attempts: [^ ]*/1.attempt-1.out [^ ]*/1.attempt-2.out" \
	"and names the earlier attempts' files"


t_done

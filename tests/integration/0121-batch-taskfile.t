#!/bin/bash
# Task files with order and shape (cluster-rank(1), "Task file syntax"):
# a prep, sweep, reduce file with a barrier and an array runs reduce
# only after the last sweep task ended (timestamps in marker files);
# after= and afterany= by name; options per line; a parse error names its
# line and column and runs nothing.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

m=$T_DIR/m
mkdir -p "$m"
cat >"$T_DIR/psr.txt" <<EOT
# prep, then a sweep of 6, then reduce
[name=prep] sh -c 'date +%s.%N > $m/prep.start; sleep 0.5; date +%s.%N > $m/prep.end'
---
[name=sweep array=1-6 retries=0] sh -c 'date +%s.%N > $m/sweep.{}.start; sleep 0.\$((RANDOM % 9 + 1)); date +%s.%N > $m/sweep.{}.end'
---
[name=reduce] sh -c 'date +%s.%N > $m/reduce.start'
[name=check after=reduce] sh -c 'exit 3'
[after=check] sh -c 'touch $m/never'
[afterany=check] sh -c 'touch $m/cleanup'
[cores=2 memory=64MiB time=1m] sh -c 'echo \$CLUSTER_TASK_ID > $m/shaped'
EOT
t_run timeout 120 mpirun -np 4 "$CLUSTER_RANK" --no-bind --cores 2 \
	--set scheduler.host=127.0.0.1 --name tf --run "$T_DIR/psr.txt"
t_is "$T_RC" 1 "the batch fails: one task failed, one was cancelled"
t_like "$T_OUT" $'tasks: 12\ndone: 10\nfailed: 1\ncancelled: 1' "the summary counts every line and array element"
t_like "$T_OUT" 'dependency [0-9]+ failed' "the task after the failed one was cancelled"

# latest FILES: the largest timestamp; earliest FILES: the smallest.
latest() { cat "$@" | sort -g | tail -1; }
earliest() { cat "$@" | sort -g | head -1; }
before() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

t_is "$(ls "$m"/sweep.*.end 2>/dev/null | wc -l)" 6 "all six sweep tasks ran"
t_check "the sweep starts after prep ended" \
	before "$(latest "$m/prep.end")" "$(earliest "$m"/sweep.*.start)"
t_check "reduce starts after the last sweep task ended" \
	before "$(latest "$m"/sweep.*.end)" "$(cat "$m/reduce.start")"
t_check "after=: a task after a failed one never runs" test ! -e "$m/never"
t_check "afterany=: a task after a failed one runs all the same" test -e "$m/cleanup"
t_check "a line with cores, memory and time options runs" test -s "$m/shaped"

# --- parse errors ------------------------------------------------------------
printf 'echo a\n[name=a cores=x] echo b\n' >"$T_DIR/bad.txt"
t_run timeout 60 mpirun -np 2 "$CLUSTER_RANK" --no-bind --set scheduler.host=127.0.0.1 \
	--name tf --run "$T_DIR/bad.txt"
t_is "$T_RC" 2 "a task file with a syntax error exits 2"
t_like "$T_ERR" "bad.txt': line 2, column 15: " "the error names the line and column"
printf 'echo a\n[afterany=nobody] echo b\n' >"$T_DIR/bad2.txt"
t_run timeout 60 "$CLUSTER_RANK" --set scheduler.host=127.0.0.1 --name tf --run "$T_DIR/bad2.txt"
t_like "$T_ERR" "line 2, column 11: no task named 'nobody' above" "an unknown name is an error"

t_done

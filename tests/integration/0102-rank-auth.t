#!/bin/bash
# The worker port refuses a wrong token and random bytes, says so in the
# scheduler's log, and keeps serving the real workers: the run completes.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"

# Task 1 holds the run open until the test has made its bad connections.
m=$T_DIR/m
mkdir -p "$m"
{
	echo "while [ ! -e $T_DIR/go ]; do sleep 0.05; done; echo 1 > $m/1"
	for i in $(seq 2 30); do echo "echo $i > $m/$i"; done
} >"$T_DIR/tasks.txt"

t_spawn bash -c "timeout 120 mpirun -np 3 --oversubscribe '$CLUSTER_RANK' \
	--set scheduler.host=127.0.0.1 --name auth --run '$T_DIR/tasks.txt' \
	>'$T_DIR/out' 2>'$T_DIR/err'; echo \$? >'$T_DIR/rc'"
mpi_pg=$T_PID
addr=$CLUSTER_HOME/auth/address
wait_for 30 test -s "$addr" || t_bail "the scheduler publishes its address"
port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$addr")
t_like "$port" "^[0-9]+$" "the address file gives the worker port"

# A worker with the wrong token: refused, and it does not retry.
printf '%064d\n' 7 >"$T_DIR/wrong-token"
chmod 600 "$T_DIR/wrong-token"
t_run timeout 20 "$CLUSTER" --set worker.death-timeout=5s worker \
	--connect "127.0.0.1:$port" --name intruder --token-file "$T_DIR/wrong-token"
t_is "$T_RC" 2 "a worker with the wrong token exits 2"
t_like "$T_ERR" "refused this worker" "it says the scheduler refused it"
wait_for 10 grep -q "dropped connection from 127.0.0.1:[0-9]*: wrong token" "$T_DIR/err"
t_check "the scheduler logs the wrong token" \
	grep -q "dropped connection from 127.0.0.1:[0-9]*: wrong token" "$T_DIR/err"
t_unlike "$(cat "$T_DIR/err")" "worker 'intruder' joined" "the intruder never joined"

# Random bytes, then a frame header with a bad magic, then silence.
head -c 4096 /dev/urandom >"$T_DIR/noise"
(exec 3<>"/dev/tcp/127.0.0.1/$port" && cat "$T_DIR/noise" >&3 && sleep 0.2) 2>/dev/null
printf 'GET / HTTP/1.0\r\n\r\n' >"$T_DIR/http"
(exec 3<>"/dev/tcp/127.0.0.1/$port" && cat "$T_DIR/http" >&3 && sleep 0.2) 2>/dev/null
wait_for 10 bash -c "[ \$(grep -c 'dropped connection from' '$T_DIR/err') -ge 3 ]"
t_is "$(grep -c 'dropped connection from' "$T_DIR/err")" 3 \
	"the random bytes and the stray HTTP request are dropped and logged"

touch "$T_DIR/go"
wait_for 60 test -s "$T_DIR/rc"
t_is "$(cat "$T_DIR/rc" 2>/dev/null)" 0 "the real workers finish the run: exit 0"
t_is "$(ls "$m" | wc -l)" 30 "every task ran"
t_like "$(cat "$T_DIR/out")" $'done: 30\nfailed: 0' "summary: 30 done"
t_kill "$mpi_pg"

t_done

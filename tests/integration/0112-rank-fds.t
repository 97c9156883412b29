#!/bin/bash
# A head job's worker and its tasks hold only descriptors they opened: the
# rank around the nanny holds the MPI library's (its listening TCP
# sockets, its link to mpirun), the worker the nanny starts inherits none
# of them, nor does a worker it restarts, and a task gets stdin, stdout
# and stderr only.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"

t_spawn bash -c "exec timeout 120 mpirun -np 2 --oversubscribe '$CLUSTER_RANK' \
	--no-bind --cores 1 --set scheduler.host=127.0.0.1 --set worker.heartbeat=1s \
	--name fds >'$T_DIR/fds.out' 2>'$T_DIR/fds.err'"
pg=$T_PID
wait_for 30 grep -qs joined "$T_DIR/fds.err" ||
	t_bail "the worker joins" "$(cat "$T_DIR/fds.err")"
port=$(sed -n 's/.*scheduler listening on [^ ]*:\([0-9]*\).*/\1/p' "$T_DIR/fds.err" | head -1)
[ -n "$port" ] || t_bail "the scheduler says its port" "$(cat "$T_DIR/fds.err")"

worker_pid() {
	pgrep -f -- "worker --connect [^ ]*:$port .*rank1 " | head -1
}

# Socket inodes of a process, one a line.
sockets_of() {
	ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | sort -u
}

# Inodes of listening sockets: TCP in state 0A, Unix with __SO_ACCEPTCON.
listening() {
	{
		awk 'FNR > 1 && $4 == "0A" { print $10 }' /proc/net/tcp /proc/net/tcp6
		awk 'NR > 1 && $4 == "00010000" { print $7 }' /proc/net/unix
	} 2>/dev/null | sort -u
}

# Inode of the TCP connection whose remote port is $1.
connection_to() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'FNR > 1 && $4 == "01" && substr($3, length($3) - 4) == p { print $10 }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# check_worker WHEN: the worker's sockets are its one link to the
# scheduler, and none listens.
check_worker() {
	local when=$1 w socks listen mine
	w=$(worker_pid)
	[ -n "$w" ] || { t_fail "$when: the worker runs"; return; }
	socks=$(sockets_of "$w")
	listen=$(listening)
	mine=$(connection_to "$port")
	t_is "$(comm -12 <(printf '%s\n' "$socks") <(printf '%s\n' "$listen") | grep -c .)" 0 \
		"$when: the worker holds no listening socket"
	t_is "$(printf '%s\n' "$socks" | grep -c .)" 1 "$when: the worker holds one socket"
	t_check "$when: it is the worker's link to the scheduler" \
		bash -c "printf '%s\n' '$mine' | grep -qx '$socks'"
	t_unlike "$(ls -l "/proc/$w/fd")" "/dev/shm|openmpi|pmix|ompi" \
		"$when: no file of the MPI library's either"
}

# The test means something only if the rank has what the worker must not.
w=$(worker_pid)
rank=$(ps -o ppid= -p "$w" | tr -d ' ')
rank_listen=$(comm -12 <(sockets_of "$rank") <(listening) | grep -c .)
if [ "$rank_listen" -gt 0 ]; then
	t_ok "the rank holds $rank_listen listening sockets of the MPI library"
else
	t_skip "the rank holds listening sockets of the MPI library" "none here"
fi
check_worker "started by the nanny"

# A task: stdin, stdout, stderr, and the directory ls reads.
t_run "$CLUSTER" --name fds submit -- ls /proc/self/fd
id=$(printf '%s\n' "$T_OUT" | grep -o '[0-9][0-9]*' | head -1)
t_run timeout 30 "$CLUSTER" --name fds wait "$id"
t_is "$T_RC" 0 "the listing task is done"
t_is "$("$CLUSTER" --name fds logs "$id" | tr '\n' ' ')" "0 1 2 3 " \
	"a task has only 0, 1 and 2 open (3 is the listing's own)"
t_run "$CLUSTER" --name fds submit -- sh -c 'ls -l /proc/$$/fd'
id=$(printf '%s\n' "$T_OUT" | grep -o '[0-9][0-9]*' | head -1)
t_run timeout 30 "$CLUSTER" --name fds wait "$id"
# 1 and 2 are the pipes to the worker log (task.output: worker-log).
t_unlike "$("$CLUSTER" --name fds logs "$id" | grep -v ' [12] -> pipe:')" "socket:|pipe:|anon_inode:" \
	"a task's shell holds no socket, pipe or event descriptor of the worker"

# A worker the nanny restarts is started the same way.
# (the scheduler says "joined from" once for each join of the worker)
kill -9 "$w"
wait_for 30 bash -c "[ \$(grep -c 'joined from' '$T_DIR/fds.err') -ge 2 ]" ||
	t_bail "the restarted worker joins" "$(cat "$T_DIR/fds.err")"
check_worker "restarted"

t_kill "$pg"
t_done

#!/bin/bash
# A head job whose scheduler was killed (SIGKILL: no clean-up) leaves its
# address file behind.  The CLI then says the scheduler is not running,
# with its pid, exits non-zero and sends nothing: a listener that took over
# the recorded ports receives no connection and no byte, so never the
# token.  The next head job under that name draws a new token, and the
# CLI works with it.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"
command -v mpirun >/dev/null || t_bail "mpirun is installed"
command -v python3 >/dev/null || t_bail "python3 is installed"

dir=$CLUSTER_HOME/stale
addr=$dir/address
head_job() {
	echo "exec timeout 120 mpirun -np 2 --oversubscribe '$CLUSTER_RANK' \
		--no-bind --cores 1 --set scheduler.host=127.0.0.1 --name stale \
		>'$T_DIR/$1.out' 2>'$T_DIR/$1.err'"
}
field() {
	sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$addr"
}

t_spawn bash -c "$(head_job first)"
first=$T_PID
wait_for 30 test -s "$addr" ||
	t_bail "the head job publishes its address" "$(cat "$T_DIR/first.err")"
token1=$(cat "$dir/token")
t_run timeout 15 "$CLUSTER" --name stale tasks
t_is "$T_RC" 0 "the running scheduler answers"

sched=$(field pid)
port=$(field port)
http=$(field http_port)
t_like "$sched $port $http" '^[0-9]+ [0-9]+ [0-9]+$' \
	"the address file names the scheduler's pid and ports"
kill -9 "$sched"
t_kill "$first"
wait_for 20 bash -c "! kill -0 $sched 2>/dev/null"
t_check "the scheduler is gone" bash -c "! kill -0 $sched 2>/dev/null"
t_check "its address file is left behind" test -s "$addr"

# Someone else's listener on both recorded ports, keeping every byte.
cat >"$T_DIR/listen.py" <<'EOF'
import select, socket, sys, time
out = open(sys.argv[1], "ab", buffering=0)
socks = []
for p in sys.argv[3:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(p)))
    s.listen(8)
    socks.append(s)
open(sys.argv[2], "w").close()
conns = []
end = time.time() + 300
while time.time() < end:
    ready, _, _ = select.select(socks + conns, [], [], 0.2)
    for s in ready:
        if s in socks:
            c, _ = s.accept()
            conns.append(c)
            out.write(b"[connection]\n")
            continue
        data = s.recv(65536)
        if data:
            out.write(data)
        else:
            conns.remove(s)
            s.close()
EOF
: >"$T_DIR/received"
t_spawn python3 "$T_DIR/listen.py" "$T_DIR/received" "$T_DIR/listening" \
	"$http" "$port"
listener=$T_PID
wait_for 10 test -e "$T_DIR/listening" ||
	t_bail "a listener takes over the recorded ports" "ports $http $port"

t_run timeout 15 "$CLUSTER" --name stale tasks
t_unlike "$T_RC" '^0$' "cluster tasks against the dead scheduler fails"
t_like "$T_ERR" "the scheduler of 'stale' is not running \\(pid $sched died\\)" \
	"and says the scheduler is not running, with its pid"
t_run timeout 15 "$CLUSTER" --name stale submit -- true
t_unlike "$T_RC" '^0$' "cluster submit fails the same way"
t_like "$T_ERR" "is not running \\(pid $sched died\\)" "and says so too"
sleep 0.5
t_is "$(wc -c <"$T_DIR/received")" 0 "the listener received no connection and no byte"
t_unlike "$(cat "$T_DIR/received")" "$token1" "so never the token"

# The listener does catch what reaches it: the check above can fail.
(exec 3<>"/dev/tcp/127.0.0.1/$http" && printf 'probe' >&3 && sleep 0.2) 2>/dev/null
wait_for 5 grep -q probe "$T_DIR/received"
t_check "the listener records what reaches it" grep -q probe "$T_DIR/received"
t_kill "$listener"

# A new head job: a new secret, and the CLI uses it.
t_spawn bash -c "$(head_job second)"
second=$T_PID
wait_for 30 bash -c "grep -qs 'scheduler listening' '$T_DIR/second.err'" ||
	t_bail "a new head job starts under the name" "$(cat "$T_DIR/second.err")"
wait_for 10 bash -c "[ \"\$(sed -n 's/.*\"pid\": *\([0-9]*\).*/\1/p' '$addr')\" != $sched ]"
token2=$(cat "$dir/token")
t_like "$token2" '^[0-9a-f]{64}$' "the new head job has a token"
t_unlike "$token2" "^$token1\$" "and it is not the killed scheduler's"
t_run timeout 15 "$CLUSTER" --name stale tasks
t_is "$T_RC" 0 "the CLI works with the new scheduler"
t_kill "$second"
t_done

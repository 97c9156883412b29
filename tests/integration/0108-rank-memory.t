#!/bin/bash
# The memory a worker rank announces by default: the node's memory as the
# OS reports it (MemTotal), capped by the process's cgroup limit, divided
# by the ranks on the node.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"

total=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024))

# The cgroup limit of this process, when one is set on its own cgroup.
limit=
if line=$(grep -m1 -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' /proc/self/cgroup); then
	f=/sys/fs/cgroup/memory${line##*:}/memory.limit_in_bytes
else
	line=$(grep -m1 '^0::' /proc/self/cgroup)
	f=/sys/fs/cgroup${line#0::}/memory.max
fi
[ -r "$f" ] && limit=$(cat "$f")
expect=$total
if [[ $limit =~ ^[0-9]+$ ]] && ((limit < total)); then
	expect=$limit
fi

echo true >"$T_DIR/t.txt"
t_run timeout 60 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --name mem --run "$T_DIR/t.txt"
t_is "$T_RC" 0 "a run with one worker rank ends with 0"
got=$(sed -n "s/.*worker '[^']*' joined from .*: [0-9]* cores*, \([0-9]*\) bytes.*/\1/p" \
	<<<"$T_ERR" | head -1)
t_like "$got" '^[0-9]+$' "the worker announced its memory"
half=$((expect / 2))
if [ -n "$got" ] && ((got >= half * 95 / 100 && got <= half * 105 / 100)); then
	t_ok "two ranks on the node: the worker announces half the node's memory"
else
	t_fail "two ranks on the node: the worker announces half the node's memory" \
		"got: ${got:-nothing} bytes" "want: about $half bytes (MemTotal $total, cgroup limit ${limit:-none})"
fi

# --memory overrides the share.
t_run timeout 60 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --name mem2 --memory 3GiB --run "$T_DIR/t.txt"
t_like "$T_ERR" "joined from .*: [0-9]+ cores?, 3221225472 bytes" "--memory 3GiB is announced as given"

t_done

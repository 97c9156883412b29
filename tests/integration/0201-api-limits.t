#!/bin/bash
# The HTTP API against strangers and slow peers, on a running head job:
# thirty connections announcing 64 MiB bodies without the right token,
# sending 2 MiB of it and then dripping the rest, are refused with 401 at
# once, cost the scheduler no memory and are closed within the head
# timeout (10 s); heads dripped a byte at a time get 408 and are closed
# as soon; the API answers all along.  And `cluster cancel` of a million
# ids goes through (ranges, not one number per id).  The memory check
# means nothing under AddressSanitizer, whose quarantine keeps what is
# freed: run it on a plain build.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"

c() {
	timeout 60 "$CLUSTER" --name L "$@"
}

t_spawn timeout 300 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" \
	--set scheduler.host=127.0.0.1 --name L >"$T_DIR/head.log" 2>&1
head=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/L/address" ||
	t_bail "the head publishes its address" "$(cat "$T_DIR/head.log")"
has_worker() {
	c workers 2>/dev/null | grep -q alive
}
wait_for 30 has_worker || t_bail "a worker joins" "$(cat "$T_DIR/head.log")"
port=$(sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/L/address")
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$CLUSTER_HOME/L/address")
[ -n "$port" ] && [ -r "/proc/$pid/status" ] ||
	t_bail "the address file names the port and the scheduler's pid"
t_ok "the head is up"

rss() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status"
}
[[ $(rss) =~ ^[0-9]+$ ]] || t_bail "the scheduler's VmRSS can be read" "$(cat "/proc/$pid/status")"

# Writes to a connection the scheduler closed must not end the script.
trap '' PIPE

# --- strangers announcing large bodies ------------------------------------
t_run c tasks
before=$(rss)
fds=()
start=$SECONDS
for i in $(seq 1 30); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || t_bail "connection $i opens"
	if ((i % 2)); then auth=$'Authorization: Bearer wrong\r\n'; else auth=; fi
	printf 'POST /api/v1/tasks/batch HTTP/1.1\r\nHost: x\r\n%sContent-Length: 67108864\r\n\r\n' \
		"$auth" >&"$fd"
	fds+=("$fd")
done
# 2 MiB of the body at once on each (60 MiB in all), then a byte a second.
for fd in "${fds[@]}"; do
	head -c 2097152 /dev/zero >&"$fd" 2>/dev/null
done
sleep 1
max=$(rss)
bad=
for fd in "${fds[@]}"; do
	IFS= read -r -t 2 -u "$fd" status || status=
	[[ $status == "HTTP/1.1 401 "* ]] || bad+=" $fd:'$status'"
done
t_is "$bad" "" "each stranger gets 401 before its body"
while ((SECONDS - start < 12)); do
	for fd in "${fds[@]}"; do
		printf x >&"$fd" 2>/dev/null
	done
	now=$(rss)
	((now > max)) && max=$now
	sleep 1
done
grown=$((max - before))
if ((grown < 4096)); then
	t_ok "the scheduler's memory grew by ${grown} KiB (under 4 MiB)"
else
	t_fail "the scheduler's memory stays within 4 MiB" "VmRSS $before kB, then up to $max kB"
fi
open=0
for fd in "${fds[@]}"; do
	timeout 2 cat <&"$fd" >/dev/null 2>&1 || open=$((open + 1))
	exec {fd}>&-
done
t_is "$open" 0 "every stranger's connection is closed within the head timeout"

# --- heads dripped a byte at a time ---------------------------------------------
fds=()
start=$SECONDS
for i in $(seq 1 5); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || t_bail "connection $i opens"
	fds+=("$fd")
done
while ((SECONDS - start < 12)); do
	for fd in "${fds[@]}"; do
		printf X >&"$fd" 2>/dev/null
	done
	sleep 1
done
bad=
for fd in "${fds[@]}"; do
	IFS= read -r -t 2 -u "$fd" status || status=
	[[ $status == "HTTP/1.1 408 "* ]] || bad+=" $fd:'$status'"
	timeout 2 cat <&"$fd" >/dev/null 2>&1 || bad+=" $fd:open"
	exec {fd}>&-
done
t_is "$bad" "" "a dripped head gets 408 and its connection is closed"

t_run c tasks
t_is "$T_RC" 0 "the API still answers"
t_like "$(grep 'refused' "$T_DIR/head.log" | head -1)" \
	"api: refused 'POST /api/v1/tasks/batch' from 127\.0\.0\.1:[0-9]+: (wrong|no) token" \
	"the scheduler logs the refused strangers"

# --- a million ids at once --------------------------------------------------------
t_run c submit -- sleep 120
sleeper=$T_OUT
t_run c submit --after "$sleeper" --array 1-1000000 -- true
t_like "$T_OUT" "^[0-9]+-[0-9]+$" "an array of a million waits on the sleeper"
range=$T_OUT
t_run c cancel "$range"
t_is "$T_RC" 0 "cancel ${range}: exit 0"
t_is "$T_OUT" "cancelled 1000000 tasks" "cancel of a million ids goes through"
t_run c cancel "$sleeper"
t_is "$T_OUT" "cancelled 1 task" "and the sleeper"

t_kill "$head"
t_done

#!/bin/bash
# With neither scheduler.host, scheduler.interface nor scheduler.bind set,
# both ports listen on one address, the one the scheduler advertises (that
# of the interface carrying the default route), not on every interface;
# scheduler.bind: 0.0.0.0 widens them to all.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
command -v mpirun >/dev/null || t_bail "mpirun is installed"
command -v ss >/dev/null || t_bail "ss is installed"

# listening NAME: "addr:port addr:port" of the scheduler's two ports.
listening() {
	local a=$CLUSTER_HOME/$1/address port http
	port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$a")
	http=$(sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p' "$a")
	ss -Hltn | awk -v p=":$port" -v h=":$http" \
		'{ n = length($4) } substr($4, n - length(p) + 1) == p ||
		 substr($4, n - length(h) + 1) == h { print $4 }' | sort | tr '\n' ' '
}
host_of() {
	sed -n 's/.*"host": *"\([^"]*\)".*/\1/p' "$CLUSTER_HOME/$1/address"
}

t_spawn timeout 120 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
	--name D >"$T_DIR/d.log" 2>&1
d=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/D/address" ||
	t_bail "the head publishes its address" "$(cat "$T_DIR/d.log")"
host=$(host_of D)
t_like "$host" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' "it advertises an IPv4 address ($host)"
if awk 'NR > 1 && $2 == "00000000" { f = 1 } END { exit !f }' /proc/net/route; then
	t_unlike "$host" '^127\.' "not a loopback one, while there is a default route"
else
	t_skip "not a loopback one" "this machine has no default route"
fi
got=$(listening D)
t_unlike "$got" '(0\.0\.0\.0|\*|\[::\]):' "neither port listens on every interface"
t_is "$(tr ' ' '\n' <<<"$got" | grep -c "^$host:")" 2 "both listen on $host"
t_run timeout 20 "$CLUSTER" --name D tasks
t_is "$T_RC" 0 "the CLI reaches the API there"
wait_for 30 bash -c "timeout 20 '$CLUSTER' --name D workers | grep -q alive"
t_ok "the head's worker joined there"
t_kill "$d"

t_spawn timeout 120 mpirun -np 2 --oversubscribe "$CLUSTER_RANK" --no-bind \
	--set scheduler.bind=0.0.0.0 --name W >"$T_DIR/w.log" 2>&1
w=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/W/address" ||
	t_bail "the widened head publishes its address" "$(cat "$T_DIR/w.log")"
t_is "$(host_of W)" "$host" "scheduler.bind: 0.0.0.0 advertises the same address"
got=$(listening W)
t_is "$(tr ' ' '\n' <<<"$got" | grep -c '^0\.0\.0\.0:')" 2 \
	"and both ports listen on every interface"
t_kill "$w"

t_done

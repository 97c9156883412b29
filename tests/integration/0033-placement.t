#!/bin/bash
# Where the launch line of a job script puts its ranks.
#
# Torque's $PBS_NODEFILE names each node once per ppn slot, so a plain
# `mpirun --hostfile $PBS_NODEFILE -np N` fills the first node's slots
# before touching the next and puts a job of few ranks per node on one
# node.  The torque profile's scripts run here with Debian's Open MPI over
# a Torque-style node file of two (or three) made-up host names:
# `mpirun --display-map --do-not-launch` prints the map without reaching
# the hosts, and the ranks must split evenly, the head job's extra rank 0
# (the scheduler) on the first node.
#
# Made-up hosts are taken to have this machine's topology, which may have
# fewer cores than a node file lists slots; binding is switched off for
# the map, as it would not be on a real node.
#
# Derecho's Cray PALS mpiexec is not available here: its launch lines are
# checked in the golden files of 0032 only.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"
real_mpirun=$(command -v mpirun) || {
	t_skip "rank placement" "no mpirun"
	t_done
}
unset PBS_ACCOUNT SLURM_ACCOUNT

# An mpirun first on PATH that only shows the map.
mkdir -p "$T_DIR/bin"
cat >"$T_DIR/bin/mpirun" <<EOF
#!/bin/sh
exec "$real_mpirun" --display-map --do-not-launch --bind-to none "\$@"
EOF
chmod +x "$T_DIR/bin/mpirun"

# The made-up hosts go into the node file as addresses of a documentation
# network, which mpirun takes without asking DNS (a resolver that lets a
# lookup of a made-up name time out costs seconds a host), and come back
# as names in the map; a network this machine is on is not taken.
net=203.0.113
ip -o -4 addr 2>/dev/null | grep -q " inet $net\." && net=198.51.100
declare -A addr=([nodea]=$net.11 [nodeb]=$net.12 [nodec]=$net.13)
unmap="s/$net\.11/nodea/g; s/$net\.12/nodeb/g; s/$net\.13/nodec/g"

# nodefile N PPN HOST...: each host PPN times, as Torque writes it.
nodefile() {
	local ppn=$1 h i
	shift
	for h in "$@"; do
		for ((i = 0; i < ppn; i++)); do echo "${addr[$h]}"; done
	done >"$T_DIR/nodefile"
}

# map SCRIPT: "host:procs" per node of the map, then "rank0=host".
map() {
	PATH=$T_DIR/bin:$PATH PBS_NODEFILE=$T_DIR/nodefile timeout 60 bash "$1" 2>&1 |
		sed "$unmap" |
		awk '/Data for node:/ { host = $4; for (i = 1; i <= NF; i++)
					if ($i == "procs:") printf "%s:%s ", host, $(i + 1) }
		     /Process rank: 0 / { r0 = host }
		     END { printf "rank0=%s\n", r0 }'
}

# placed ROLE NODES PPN WANT: render the torque script, map it.
placed() {
	local role=$1 nodes=$2 ppn=$3 want=$4 script=$T_DIR/$1-$2.sh got
	local hosts=(nodea nodeb nodec)
	"$CLUSTER" --profile torque --name place --set job.nodes="$nodes" \
		--set job.cores="$ppn" --set job.processes=4 \
		job-script --role "$role" >"$script" ||
		t_bail "job-script renders the torque $role script"
	nodefile "$ppn" "${hosts[@]:0:$nodes}"
	got=$(map "$script")
	t_is "$got" "$want" "torque $role job, $nodes nodes of $ppn slots, 4 workers each: $want"
}

placed worker 2 12 "nodea:4 nodeb:4 rank0=nodea"
placed head 2 12 "nodea:5 nodeb:4 rank0=nodea"
placed worker 3 12 "nodea:4 nodeb:4 nodec:4 rank0=nodea"
placed head 3 12 "nodea:5 nodeb:4 nodec:4 rank0=nodea"
# one rank per slot: the head's extra rank oversubscribes the first node
placed head 2 4 "nodea:5 nodeb:4 rank0=nodea"

# A profile that places its ranks itself is left alone.
"$CLUSTER" --profile torque --set job.cores=12 --set job.processes=4 --set job.nodes=2 \
	--set 'launch.args=[--hostfile, $PBS_NODEFILE, --npernode, "4"]' \
	job-script --role worker >"$T_DIR/own.sh"
t_unlike "$(cat "$T_DIR/own.sh")" "--map-by" "launch.args with --npernode get no --map-by"
nodefile 12 nodea nodeb
t_is "$(map "$T_DIR/own.sh")" "nodea:4 nodeb:4 rank0=nodea" "and --npernode 4 places them"

t_done

#!/bin/bash
# Binding: each worker rank is bound with hwloc to its own share of the
# node's cores (node-local rank from MPI), its tasks inherit that share,
# and --no-bind leaves them where mpirun put them.  mpirun's own binding is
# switched off (--bind-to none) so only cluster-rank's shows.
. "$(dirname "$0")/lib.sh"

ncpu=$(nproc --all)
[ "$ncpu" -ge 2 ] || { t_skip "binding needs 2 or more CPUs" ; t_done; }

tasks=$T_DIR/tasks.txt
for i in $(seq 1 40); do
	echo "echo \$CLUSTER_WORKER \$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status) >> $T_DIR/seen.$i"
done >"$tasks"

run() {
	timeout 120 mpirun -np 3 --oversubscribe --bind-to none "$CLUSTER_RANK" \
		--set scheduler.host=127.0.0.1 "$@" --run "$tasks"
}

t_run run --name bound
t_is "$T_RC" 0 "a bound run of 40 tasks on 2 worker ranks exits 0"
cat "$T_DIR"/seen.* | sort -u >"$T_DIR/bound"
workers=$(awk '{print $1}' "$T_DIR/bound" | sort -u | wc -l)
t_is "$workers" 2 "both worker ranks ran tasks"
# One CPU set per worker, and the two sets differ and are each one CPU of
# this 2-CPU share (2 local worker ranks split the node's cores).
sets=$(awk '{print $2}' "$T_DIR/bound" | sort -u)
t_is "$(awk '{print $1}' "$T_DIR/bound" | uniq -d | wc -l)" 0 \
	"each worker's tasks always saw the same CPU set"
t_is "$(echo "$sets" | wc -l)" 2 "the two workers have different CPU sets"
all=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
for s in $sets; do
	t_unlike "$s" "^$all\$" "worker CPU set '$s' is a share, not the whole node ($all)"
done

rm -f "$T_DIR"/seen.*
t_run run --name unbound --no-bind
t_is "$T_RC" 0 "an unbound run exits 0"
sets=$(cat "$T_DIR"/seen.* | awk '{print $2}' | sort -u)
t_is "$sets" "$all" "with --no-bind tasks see every CPU mpirun gave ($all)"

t_done

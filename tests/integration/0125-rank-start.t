#!/bin/bash
# How ranks start and end without MPI holding them: a head job's ranks
# are done with MPI once their workers have joined (only their own thread
# is left), a worker job's ranks take where they are from the launcher's
# environment without starting MPI, and when mpirun is killed outright
# every rank, nanny and worker of its job ends by itself.  Under mpirun
# the ranks ask its PMIx server and start no MPI; alone, they ask MPI.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER"

set_opts=(--set scheduler.host=127.0.0.1 --set worker.heartbeat=1s
	--set worker.death-timeout=20s)

# pids of the processes whose command line names cluster NAME
ours() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "--name $1 " &&
			echo "${p#/proc/}"
	done
}
export -f ours

# threads PID...: the number of threads of each, the journal's writer
# (a scheduler's own thread, by its name) left out
threads() {
	local p
	for p in "$@"; do
		cat "/proc/$p"/task/*/comm 2>/dev/null | grep -cvx journal-writer
	done
}
export -f threads

# --- a head job: MPI finalized while it serves ------------------------------
t_spawn bash -c "exec timeout 120 mpirun --oversubscribe -np 3 '$CLUSTER_RANK' \
	${set_opts[*]} --name st >'$T_DIR/st.out' 2>'$T_DIR/st.err'"
st_pg=$T_PID
wait_for 30 bash -c "[ \$(grep -c joined '$T_DIR/st.err') -ge 2 ]" ||
	t_bail "the head job's workers join" "$(cat "$T_DIR/st.err")"
mp=$(pgrep -g "$st_pg" -x mpirun | head -1)
t_check "mpirun of the head job found" test -n "$mp"
# Open MPI puts each rank in a process group of its own
ranks=$(pgrep -P "$mp" -f "^$CLUSTER_RANK" | tr '\n' ' ')
t_is "$(echo $ranks | wc -w)" 3 "the head job has 3 ranks"
# shellcheck disable=SC2086
wait_for 20 bash -c "[ \"\$(threads $ranks | sort -u)\" = 1 ]"
# shellcheck disable=SC2086
t_is "$(threads $ranks | sort -u)" 1 \
	"each rank is down to one thread besides the journal's: MPI is finalized, its threads gone"
t_run timeout 60 "$CLUSTER" --name st submit -- true
t_run timeout 60 "$CLUSTER" --name st wait
t_is "$T_RC" 0 "the head job runs a task after MPI_Finalize"

# --- mpirun killed outright ---------------------------------------------------
before=$(ours st | wc -l)
t_check "ranks, nannies and workers run (found $before)" test "$before" -ge 5
kill -KILL "$mp"
wait_for 30 bash -c "[ -z \"\$(ours st)\" ]"
t_is "$(ours st | wc -l)" 0 \
	"mpirun killed with kill -9: every rank, nanny and worker ends by itself"

# --- a worker job's ranks without MPI ----------------------------------------
t_spawn bash -c "exec timeout 120 mpirun --oversubscribe -np 1 '$CLUSTER_RANK' \
	${set_opts[*]} --name wo >'$T_DIR/wo.out' 2>'$T_DIR/wo.err'"
wo_pg=$T_PID
wait_for 30 test -s "$CLUSTER_HOME/wo/address" ||
	t_bail "the head job of 'wo' publishes its address" "$(cat "$T_DIR/wo.err")"
# No mpirun: only the environment an Open MPI launcher gives its ranks.
# Started so, a rank that called MPI_Init would be a singleton, rank 0 of
# 1, and take the whole node.
t_spawn env OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=4 \
	OMPI_COMM_WORLD_LOCAL_RANK=1 OMPI_COMM_WORLD_LOCAL_SIZE=2 \
	"$CLUSTER_RANK" "${set_opts[@]}" --no-bind --name wo --worker-only \
	>"$T_DIR/w.out" 2>"$T_DIR/w.err"
w_pg=$T_PID
wait_for 30 bash -c "grep -q 'rank3.*joined' '$T_DIR/wo.err'"
t_like "$(cat "$T_DIR/wo.err")" "worker '[^']*:rank3' joined" \
	"a worker rank takes its rank from the launcher's environment"
t_is "$(threads "$w_pg")" 1 "it runs without MPI's threads"
t_kill "$w_pg"
t_kill "$wo_pg"
wait "$w_pg" "$wo_pg" 2>/dev/null

# --- who tells a rank where it is ---------------------------------------------
# Under mpirun, a PMIx server: the ranks ask it and start no MPI.  The
# parameters the bootstrap sets for itself (the PML MPI would pick, the
# PMIx store, hwloc's plugins) are not left to the workers' tasks.
echo "env >'$T_DIR'/\$CLUSTER_TASK_ID.env" >"$T_DIR/env.txt"
t_run timeout 60 mpirun --oversubscribe -np 3 "$CLUSTER_RANK" \
	"${set_opts[@]}" -v --name px --run "$T_DIR/env.txt"
t_is "$T_RC" 0 "a batch run under mpirun exits 0"
for r in 0 1 2; do
	t_like "$T_ERR" "cluster-rank\[$r\]: debug: rank $r of 3, [0-2] of 3 on this node, from PMIx" \
		"rank $r learns where it is from mpirun's PMIx server"
done
t_unlike "$T_ERR" "from MPI" "no rank starts MPI"
t_check "the task wrote its environment" test -s "$T_DIR/1.env"
t_is "$(grep -c '^OMPI_MCA_pml=\|^PMIX_MCA_gds=\|^HWLOC_PLUGINS_BLACKLIST=' \
	"$T_DIR/1.env")" 0 "the task gets none of the bootstrap's own parameters"
t_like "$(cat "$T_DIR/1.env")" "OMPI_COMM_WORLD_SIZE=3" \
	"the task still gets the launcher's environment"

# Without a launcher, MPI (a singleton) says the rank is alone.
t_run timeout 60 env -u PMIX_NAMESPACE "$CLUSTER_RANK" "${set_opts[@]}" -v \
	--name alone --run "$T_DIR/env.txt"
t_is "$T_RC" 0 "a batch run without a launcher exits 0"
t_like "$T_ERR" "rank 0 of 1, 0 of 1 on this node, from MPI" \
	"without a launcher the rank asks MPI"

t_done

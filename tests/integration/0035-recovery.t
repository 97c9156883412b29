#!/bin/bash
# launch.recovery: the job script keeps the other ranks running when one
# rank dies, in the words of the launcher it finds at run time.
#
# Open MPI 4 (ORTE) takes --mca orte_enable_recovery 1 and refuses
# PRRTE's --prtemca; Open MPI 5 (Casper's default module) knows the
# switch only as prte_enable_recovery.  A batch job of the local profile
# runs for real with the Open MPI Debian ships (4.1) and must get the 4.1
# spelling; an mpirun that says it is 5.0 must get PRRTE's.
. "$(dirname "$0")/lib.sh"

[ -x "$CLUSTER" ] || t_bail "cluster is built" "missing $CLUSTER (run make BUILD=... all)"
[ -x "$CLUSTER_RANK" ] || t_bail "cluster-rank is built" "missing $CLUSTER_RANK"
real_mpirun=$(command -v mpirun) || {
	t_skip "launch.recovery" "no mpirun"
	t_done
}
unset PBS_ACCOUNT SLURM_ACCOUNT
cd "$T_DIR" || t_bail "cd $T_DIR"

# --- Debian's Open MPI, a real run ---------------------------------------------

mkdir -p "$T_DIR/real" "$T_DIR/marks"
cat >"$T_DIR/real/mpirun" <<WRAP
#!/bin/sh
[ "\$1" = --version ] || printf '%s\n' "\$*" >>"$T_DIR/launched"
exec "$real_mpirun" "\$@"
WRAP
chmod +x "$T_DIR/real/mpirun"
for i in 1 2 3 4; do
	echo "echo \"\$CLUSTER_TASK_ID\" > $T_DIR/marks/$i"
done >"$T_DIR/tasks.txt"

t_run "$CLUSTER" --profile local --name rec --set scheduler.host=127.0.0.1 \
	job-script --batch "$T_DIR/tasks.txt"
t_is "$T_RC" 0 "job-script renders a local batch script"
printf '%s\n' "$T_OUT" >"$T_DIR/batch.sh"
t_like "$("$real_mpirun" --version 2>&1 | head -1)" "Open MPI\\) 4\\." \
	"this machine's mpirun is Open MPI 4"
t_run env PATH="$T_DIR/real:$PATH" timeout 120 bash "$T_DIR/batch.sh"
t_is "$T_RC" 0 "the batch job runs under Open MPI 4 with the recovery switch"
t_like "$T_OUT" $'tasks: 4\ndone: 4\nfailed: 0' "and its tasks are done"
t_like "$(cat "$T_DIR/launched" 2>&1)" "(^| )--mca orte_enable_recovery 1 " \
	"mpirun got Open MPI 4's spelling, --mca orte_enable_recovery 1"
t_run "$real_mpirun" --prtemca prte_enable_recovery 1 -np 1 true
t_is "$T_RC" 1 "(Open MPI 4 refuses Open MPI 5's spelling)"

# --- what other versions get --------------------------------------------------

# fake VERSION: an mpirun that prints VERSION for --version and its
# arguments otherwise.
fake() {
	mkdir -p "$T_DIR/fake$1"
	cat >"$T_DIR/fake$1/mpirun" <<WRAP
#!/bin/sh
if [ "\$1" = --version ]; then
	echo "mpirun (Open MPI) $1"
	echo
	echo "Report bugs to https://www.open-mpi.org/community/help/"
	exit 0
fi
printf '%s\n' "\$*"
WRAP
	chmod +x "$T_DIR/fake$1/mpirun"
}

for profile in generic-pbs torque local casper; do
	"$CLUSTER" --profile "$profile" --name rec job-script --role worker >"$T_DIR/$profile.sh"
	for v in 5.0.3 6.0.0 10.1.0 4.1.6 3.1.0; do
		fake "$v"
		t_run env PATH="$T_DIR/fake$v:$PATH" PBS_NODEFILE=/dev/null bash "$T_DIR/$profile.sh"
		case $v in
		[1-4].*) want="--mca orte_enable_recovery 1" ;;
		*) want="--prtemca prte_enable_recovery 1" ;;
		esac
		t_like "$T_OUT" "(^| )$want " "$profile under Open MPI $v gets $want"
	done
done

# --- the other launchers ----------------------------------------------------------

t_run "$CLUSTER" --profile derecho job-script --role worker
t_like "$T_OUT" $'\nmpiexec --no-abort-on-failure ' "PALS is told --no-abort-on-failure"
t_unlike "$T_OUT" "enable_recovery|cluster_mca" "and nothing of Open MPI's"
t_run "$CLUSTER" --profile generic-slurm job-script --role worker
t_like "$T_OUT" $'\nsrun "--mpi=pmix" --kill-on-bad-exit=0 ' "srun is told --kill-on-bad-exit=0"
t_run "$CLUSTER" --profile generic-pbs --set launch.recovery=false job-script --role worker
t_unlike "$T_OUT" "enable_recovery|cluster_mca" "launch.recovery=false leaves it out"

t_done

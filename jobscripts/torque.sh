#!@SHELL@
#@ Job script template for Torque (backend: torque).
#@
#@ Lines starting with "#@" are notes for whoever edits this template and
#@ are left out of the script.  Placeholders:
#@   @SHELL@        job.shell, the interpreter (anywhere on a line)
#@   @DIRECTIVES@   the #PBS lines: -N, -q, -A (job.account, else
#@                  $PBS_ACCOUNT), -l nodes=N:ppn=C[:gpus=G], -l mem= (for
#@                  the whole job), -l walltime, -o/-e (job.log-directory,
#@                  else the state directory), then job.extra; job.skip
#@                  drops generated ones; job.priority is PBS Pro only
#@   @ENVIRONMENT@  export CLUSTER_HOME when it is set
#@   @PROLOGUE@     job.prologue, one shell line per item
#@   @LAUNCH@       the launcher and cluster-rank with its arguments; with
#@                  launch.recovery under Open MPI, first the lines that
#@                  ask mpirun which recovery switch it takes
#@   @EPILOGUE@     job.epilogue, one shell line per item
#@ The CLUSTER_JOB_* lines tell each worker its batch job (id, array
#@ element or -1, end time in Unix seconds or 0) in the same words on
#@ every batch system; keep them.  The cd makes tasks with relative
#@ paths run where the user submitted, as under sbatch.
#@ Every placeholder but @SHELL@ stands alone on its line.  Batch
#@ directives must come before the first command.
@DIRECTIVES@

export CLUSTER_JOB_ID="${PBS_JOBID%%[[.]*}"
export CLUSTER_JOB_INDEX="${PBS_ARRAYID:--1}"
export CLUSTER_JOB_END=0
[ -n "$PBS_WALLTIME" ] && CLUSTER_JOB_END=$(( $(date +%s) + PBS_WALLTIME ))
# PBS starts a job in $HOME: run where it was submitted, as sbatch does
if [ -n "${PBS_O_WORKDIR:-}" ]; then cd "$PBS_O_WORKDIR" || exit 1; fi
@ENVIRONMENT@
@PROLOGUE@
@LAUNCH@
@EPILOGUE@

#!@SHELL@
#@ Job script template for PBS Professional (backend: pbs).
#@
#@ Lines starting with "#@" are notes for whoever edits this template and
#@ are left out of the script.  Placeholders:
#@   @SHELL@        job.shell, the interpreter (anywhere on a line)
#@   @DIRECTIVES@   the #PBS lines: -N, -q, -A (job.account, else
#@                  $PBS_ACCOUNT), -l select=..., -l walltime, -l
#@                  job_priority, -o/-e (job.log-directory, else the state
#@                  directory), then job.extra; job.skip drops generated ones
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
export CLUSTER_JOB_INDEX="${PBS_ARRAY_INDEX:--1}"
CLUSTER_JOB_END=$(sed -n 's/^#PBS -l walltime=\([0-9:]*\).*/\1/p' "$0" 2>/dev/null | awk -F: -v now="$(date +%s)" 'NR == 1 { t = 0; for (i = 1; i <= NF; i++) t = t * 60 + $i; print now + t }')
export CLUSTER_JOB_END="${CLUSTER_JOB_END:-0}"
# PBS starts a job in $HOME: run where it was submitted, as sbatch does
if [ -n "${PBS_O_WORKDIR:-}" ]; then cd "$PBS_O_WORKDIR" || exit 1; fi
@ENVIRONMENT@
@PROLOGUE@
@LAUNCH@
@EPILOGUE@

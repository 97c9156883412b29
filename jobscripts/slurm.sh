#!@SHELL@
#@ Job script template for Slurm (backend: slurm).
#@
#@ Lines starting with "#@" are notes for whoever edits this template and
#@ are left out of the script.  Placeholders:
#@   @SHELL@        job.shell, the interpreter (anywhere on a line)
#@   @DIRECTIVES@   the #SBATCH lines: --job-name, --partition, --account
#@                  (job.account, else $SLURM_ACCOUNT), --nodes,
#@                  --ntasks-per-node, --cpus-per-task, --mem, --gres,
#@                  --time, --output/--error (job.log-directory, else the
#@                  state directory), then job.extra; job.skip drops
#@                  generated ones; job.priority is PBS Pro only
#@   @ENVIRONMENT@  export CLUSTER_HOME when it is set
#@   @PROLOGUE@     job.prologue, one shell line per item
#@   @LAUNCH@       the launcher and cluster-rank with its arguments; with
#@                  launch.recovery under Open MPI, first the lines that
#@                  ask mpirun which recovery switch it takes
#@   @EPILOGUE@     job.epilogue, one shell line per item
#@ The CLUSTER_JOB_* lines tell each worker its batch job (id, array
#@ element or -1, end time in Unix seconds or 0) in the same words on
#@ every batch system; keep them.
#@ Every placeholder but @SHELL@ stands alone on its line.  Batch
#@ directives must come before the first command.
@DIRECTIVES@

export CLUSTER_JOB_ID="${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}"
export CLUSTER_JOB_INDEX="${SLURM_ARRAY_TASK_ID:--1}"
export CLUSTER_JOB_END="${SLURM_JOB_END_TIME:-0}"
@ENVIRONMENT@
@PROLOGUE@
@LAUNCH@
@EPILOGUE@

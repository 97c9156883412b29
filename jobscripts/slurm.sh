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
#@ Slurm before 23.02 sets no SLURM_JOB_END_TIME: then the job's start
#@ plus the --time line of this script (Slurm runs a copy of it as $0).
CLUSTER_JOB_END=${SLURM_JOB_END_TIME:-$(sed -n 's/^#SBATCH --time=\([0-9:]*\).*/\1/p' "$0" 2>/dev/null | awk -F: -v now="$(date +%s)" 'NR == 1 { t = 0; for (i = 1; i <= NF; i++) t = t * 60 + $i; print now + t }')}
export CLUSTER_JOB_END="${CLUSTER_JOB_END:-0}"
@ENVIRONMENT@
@PROLOGUE@
@LAUNCH@
@EPILOGUE@

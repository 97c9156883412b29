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
#@   @LAUNCH@       the launcher and cluster-rank with its arguments
#@   @EPILOGUE@     job.epilogue, one shell line per item
#@ Every placeholder but @SHELL@ stands alone on its line.  Batch
#@ directives must come before the first command.
@DIRECTIVES@

@ENVIRONMENT@
@PROLOGUE@
@LAUNCH@
@EPILOGUE@

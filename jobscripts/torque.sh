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
#@   @LAUNCH@       the launcher and cluster-rank with its arguments
#@   @EPILOGUE@     job.epilogue, one shell line per item
#@ Every placeholder but @SHELL@ stands alone on its line.  Batch
#@ directives must come before the first command.
@DIRECTIVES@

@ENVIRONMENT@
@PROLOGUE@
@LAUNCH@
@EPILOGUE@

#!@SHELL@
#@ Job script template for jobs run on this machine (backend: local).
#@
#@ Lines starting with "#@" are notes for whoever edits this template and
#@ are left out of the script.  Placeholders:
#@   @SHELL@        job.shell, the interpreter (anywhere on a line)
#@   @DIRECTIVES@   empty here: local jobs have no batch system, so
#@                  job.queue, job.account, job.extra and the like are unused
#@   @ENVIRONMENT@  export CLUSTER_HOME when it is set
#@   @PROLOGUE@     job.prologue, one shell line per item
#@   @LAUNCH@       the launcher and cluster-rank with its arguments; with
#@                  launch.recovery under Open MPI, first the lines that
#@                  ask mpirun which recovery switch it takes
#@   @EPILOGUE@     job.epilogue, one shell line per item
#@ The CLUSTER_JOB_* lines tell each worker its batch job (id, array
#@ element or -1, end time in Unix seconds or 0) in the same words on
#@ every batch system; keep them.
#@ Every placeholder but @SHELL@ stands alone on its line.
export CLUSTER_JOB_ID=$$
export CLUSTER_JOB_INDEX="${CLUSTER_JOB_INDEX:--1}"
export CLUSTER_JOB_END="${CLUSTER_JOB_END:-0}"
@ENVIRONMENT@
@PROLOGUE@
@LAUNCH@
@EPILOGUE@

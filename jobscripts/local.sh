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
#@   @LAUNCH@       the launcher and cluster-rank with its arguments
#@   @EPILOGUE@     job.epilogue, one shell line per item
#@ Every placeholder but @SHELL@ stands alone on its line.
@ENVIRONMENT@
@PROLOGUE@
@LAUNCH@
@EPILOGUE@

/*
 * nanny: keeps one worker process alive, so that a crash of the worker
 * (or of a task that takes it down) never ends the MPI rank around it.
 *
 * The worker is started with posix_spawn.  When it crashes (a signal, or
 * an exit status other than the worker's orderly ones, see worker.h) it is
 * started again after a pause that doubles from 0.1 s up to 30 s, and goes
 * back to 0.1 s once a worker has lived a minute.  It restarts at most
 * `max_restarts` times within a minute: at the next crash it stops and
 * says why.  SIGTERM or SIGINT
 * is passed on to the worker (which finishes its tasks); the nanny waits
 * for it and ends in order.
 *
 * While it runs the nanny is a child subreaper (PR_SET_CHILD_SUBREAPER):
 * the tasks of a worker that died, and whatever a task left running, are
 * re-parented to it.  It reaps those as they end, and each time its worker
 * has ended (crashed or not) it kills the process group of every such
 * leftover and reaps them before it starts the next worker or returns, so
 * a task whose worker died does not go on running beside its requeued
 * run.  Children in the nanny's own process group are left alone.
 *
 * The worker runs in a process group of its own (a signal to the rank's
 * group reaches the nanny only, which passes one SIGTERM on) and gets
 * SIGTERM when the nanny dies (PR_SET_PDEATHSIG): a nanny killed after its
 * own SIGTERM so makes the worker kill its tasks, and one killed outright
 * makes it finish them and leave.
 *
 * With `launcher` set, a nanny whose launcher died (it was adopted by
 * another process) stops as on SIGTERM within a second: a rank that has
 * finalized MPI, or never started it, is no longer ended by its MPI
 * library when mpirun goes.
 */
#ifndef CLUSTER_NANNY_H
#define CLUSTER_NANNY_H

enum nanny_end {
	NANNY_DONE = 0,		/* orderly: the worker finished */
	NANNY_GAVE_UP = 1,	/* too many crashes, or the worker cannot
				   start at all */
	NANNY_GONE = 2,		/* orderly too: the worker ended because its
				   scheduler is gone (worker.death-timeout,
				   or the address file was removed) */
	NANNY_NEVER = 3,	/* the worker never reached a scheduler
				   within worker.death-timeout */
	NANNY_STOPPED = 4,	/* orderly: SIGTERM or SIGINT, or the
				   launcher is gone */
};

struct nanny_opts {
	const char *program;		/* path of the `cluster` executable */
	char *const *argv;		/* the worker's argv, argv[0] first */
	const char *name;		/* worker name, for messages */
	unsigned max_restarts;		/* restarts allowed within a minute */
	int launcher;			/* pid of the process that started
					   the nanny's (mpirun's): once it is
					   not the parent any more, the nanny
					   stops as on SIGTERM; 0: none */
};

/* Runs until the end; returns an enum nanny_end value.  Installs its own
 * SIGTERM, SIGINT and SIGCHLD handlers while it runs. */
int nanny_run(const struct nanny_opts *o);

#endif

/*
 * The launch line of a job script, for render.c; nothing outside
 * src/jobscript/ includes this header.
 */
#ifndef CLUSTER_JOBSCRIPT_LAUNCH_H
#define CLUSTER_JOBSCRIPT_LAUNCH_H

#include "jobscript/jobscript.h"

struct backend;

/* Who starts the ranks, which decides how they are counted and placed. */
enum job_launcher {
	JOB_LAUNCH_OPENMPI,		/* Open MPI's mpirun or mpiexec */
	JOB_LAUNCH_PALS,		/* HPE Cray PALS mpiexec */
	JOB_LAUNCH_SRUN,
};

/* The caller fills the first four, job_launch_choose the rest; all are
 * borrowed for the lifetime of the struct. */
struct job_launch {
	const struct config *cfg;
	const struct job_script_opts *opts;
	const struct backend *backend;
	const struct job_size *size;
	enum job_launcher launcher;
	const char *command;		/* launch.command */
	int sched_slot;			/* a head job's first node has a rank
					   more than the others, the scheduler
					   (not under PALS, where it takes a
					   worker's place) */
};

/* launch.command and launch.mpi, checked against each other and the
 * job's role and size. */
int job_launch_choose(struct job_launch *l, struct err *err);

/* Append the launch block: the lines that pick Open MPI's recovery
 * switch when launch.recovery asks for it, then the launch line. */
int job_launch_build(const struct job_launch *l, struct strbuf *out,
		     struct err *err);

#endif

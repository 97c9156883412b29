/*
 * pace: how many tasks of one submission a worker may hold beyond those
 * it can start now (its prefetch depth), from how long that submission's
 * runs take.
 *
 * A worker ahead of the scheduler by one task is round-trip bound when a
 * task takes less than a round trip: it runs one, reports it, and idles
 * until the next RUN comes.  So a submission whose runs are seen to take
 * under PACE_BUDGET seconds may be held about PACE_BUDGET worth deep
 * (at least `prefetch`, at most PACE_MAX_DEPTH tasks), which covers a
 * round trip on one host (tens of µs) and on a cluster's network (a few
 * hundred).  A submission not seen to end yet, or whose runs take
 * PACE_BUDGET or more, gets `prefetch` alone, so long tasks do not pile
 * up on one worker while others could take them.  prefetch 0 stays 0.
 *
 * The estimate rises to a longer run at once and falls towards shorter
 * ones by an eighth of the gap per run, so one long run makes the
 * submission long at once, and only a run of short ones makes it short
 * again.  No I/O, no clock: the runtimes come from the workers' reports.
 */
#ifndef CLUSTER_SCHED_PACE_H
#define CLUSTER_SCHED_PACE_H

#define PACE_BUDGET 0.001		/* seconds of held work per worker */
#define PACE_MAX_DEPTH 64		/* tasks held per worker, at most */

struct pace {
	double runtime;			/* the estimate, seconds */
	int known;			/* a run has been noted */
};

/* A run of `runtime` seconds ended.  `clean`: it ran and exited on its
 * own (no spawn failure, no kill); a run that was not only raises the
 * estimate, never lowers it. */
void pace_note(struct pace *p, double runtime, int clean);

/* How many tasks a worker may hold beyond those it starts now. */
unsigned pace_depth(const struct pace *p, unsigned prefetch);

#endif

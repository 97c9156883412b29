/*
 * pace: the prefetch depth of a submission from its runtimes (pace.h).
 * Apart from sched.c so that the rule is read and tested on its own.
 */
#include "sched/pace.h"

#include <math.h>

void pace_note(struct pace *p, double runtime, int clean)
{
	if (!(runtime >= 0))		/* NaN or negative: a bad report */
		runtime = 0;
	if (!p->known) {
		/* a failed spawn says nothing of how long a run takes */
		if (!clean && runtime < PACE_BUDGET)
			return;
		p->runtime = runtime;
		p->known = 1;
	} else if (runtime > p->runtime) {
		p->runtime = runtime;
	} else if (clean) {
		p->runtime += (runtime - p->runtime) / 8;
	}
}

unsigned pace_depth(const struct pace *p, unsigned prefetch)
{
	double want;

	if (!prefetch || !p->known || p->runtime >= PACE_BUDGET ||
	    prefetch >= PACE_MAX_DEPTH)
		return prefetch;
	want = p->runtime > 0 ? ceil(PACE_BUDGET / p->runtime) :
		PACE_MAX_DEPTH;
	if (want > PACE_MAX_DEPTH)
		want = PACE_MAX_DEPTH;
	return want > prefetch ? (unsigned)want : prefetch;
}

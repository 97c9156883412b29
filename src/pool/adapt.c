/*
 * adapt: demand to target, with hysteresis (rules in pool.h).  Pure: the
 * caller sums the cores and memory of runnable tasks (leaving out those no
 * worker of the profile could ever run, which it reports instead) and
 * passes the time.
 */
#include "pool/pool.h"

void adapt_init(struct adapt *a, unsigned min, unsigned max,
		double idle_timeout)
{
	a->min = min;
	a->max = max < min ? min : max;
	a->idle_timeout = idle_timeout > 0 ? idle_timeout : 60;
	a->low_readings = 3;
	a->current = min;
	a->low_since = 0;
	a->low_count = 0;
	a->low_peak = 0;
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

unsigned adapt_wanted(const struct adapt_demand *d, unsigned worker_cores,
		      uint64_t worker_memory, unsigned worker_gpus)
{
	uint64_t n = ceil_div(d->cores, worker_cores ? worker_cores : 1);

	if (worker_memory) {
		uint64_t m = ceil_div(d->memory, worker_memory);
		if (m > n)
			n = m;
	}
	if (worker_gpus && d->gpus) {
		uint64_t g = ceil_div(d->gpus, worker_gpus);
		if (g > n)
			n = g;
	}
	return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

unsigned adapt_step(struct adapt *a, unsigned wanted, double now)
{
	if (wanted < a->min)
		wanted = a->min;
	if (wanted > a->max)
		wanted = a->max;
	if (wanted >= a->current) {
		a->current = wanted;
		a->low_since = 0;
		a->low_count = 0;
		a->low_peak = 0;
		return a->current;
	}
	if (!a->low_since) {
		a->low_since = now;
		a->low_peak = wanted;
	}
	a->low_count++;
	if (wanted > a->low_peak)
		a->low_peak = wanted;
	if (now - a->low_since >= a->idle_timeout &&
	    a->low_count >= a->low_readings) {
		a->current = a->low_peak;
		a->low_since = 0;
		a->low_count = 0;
		a->low_peak = 0;
	}
	return a->current;
}

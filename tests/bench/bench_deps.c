/*
 * bench_deps: what dependencies cost the scheduler's event fan-out and
 * the dashboard's feed (server/feed.c), which follows every task from
 * WAITING to its end.  Each workload runs through sched + events twice
 * in the same run: with the feed subscribed and without it (the
 * baseline), so the ratio is what the feed adds.  Nothing is asserted.
 *
 *   1. A chain of N tasks (each after the one before): every end
 *      releases one task while the rest still wait.  A feed that looked
 *      at every waiting task on each release made this quadratic.
 *   2. A fan-in: an array of N tasks and one task after all of them.
 *   3. The chain at N / 10, to show whether the cost per task stays flat.
 *
 *   bench_deps [N]   (default 100,000)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sched/sched.h"
#include "server/events.h"
#include "server/feed.h"

#define RING 1024

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The server's wiring of sched's hooks to the fan-out, and a worker that
 * finishes what it is given. */
struct rig {
	struct events *ev;
	worker_id_t w[RING];
	task_id_t id[RING];
	size_t head, tail;
};

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rig *r = arg;

	r->w[r->tail % RING] = w;
	r->id[r->tail % RING] = id;
	r->tail++;
	events_task_assigned(r->ev, id, w);
}

static void on_ended(void *arg, task_id_t id)
{
	events_task_ended(((struct rig *)arg)->ev, id);
}

static void on_queued(void *arg)
{
	events_tasks_queued(((struct rig *)arg)->ev);
}

static void on_released(void *arg, task_id_t first, task_id_t last)
{
	events_tasks_released(((struct rig *)arg)->ev, first, last);
}

static void on_requeued(void *arg, task_id_t id, worker_id_t w)
{
	events_task_requeued(((struct rig *)arg)->ev, id, w);
}

enum shape { CHAIN, FAN_IN };

/* Seconds to submit and run `n` tasks of `shape`, the feed on or off. */
static double run(enum shape shape, uint64_t n, int with_feed)
{
	char *argv[] = { (char *)"/bin/true", NULL };
	struct rig *r = calloc(1, sizeof(*r));
	struct sched_hooks h = { 0 };
	struct task_result ok = { 0 };
	struct err err;
	task_id_t first;
	uint64_t count;

	r->ev = events_create();
	h.arg = r;
	h.assign = on_assign;
	h.ended = on_ended;
	h.queued = on_queued;
	h.released = on_released;
	h.requeued = on_requeued;
	struct sched *s = sched_create(&h);
	struct feed *f = with_feed ? feed_create(s, r->ev) : NULL;
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t *ids = malloc(n * sizeof(*ids));
	struct task_spec *specs = calloc(n, sizeof(*specs));

	double t0 = seconds();
	if (shape == CHAIN) {
		for (uint64_t k = 0; k < n; k++) {
			ids[k] = k + 1;
			specs[k].argv = argv;
			specs[k].cores = 1;
			if (k) {
				specs[k].after = &ids[k - 1];
				specs[k].nafter = 1;
			}
		}
		if (sched_submit_many(s, specs, n, &first, &count, &err) < 0)
			goto fail;
	} else {
		specs[0].argv = argv;
		specs[0].cores = 1;
		specs[0].is_array = 1;
		specs[0].array_first = 0;
		specs[0].array_last = (int64_t)n - 2;
		for (uint64_t k = 0; k < n - 1; k++)
			ids[k] = k + 1;
		specs[1].argv = argv;
		specs[1].cores = 1;
		specs[1].after = ids;
		specs[1].nafter = (unsigned)(n - 1);
		if (sched_submit_many(s, specs, 2, &first, &count, &err) < 0)
			goto fail;
	}
	while (!sched_idle(s)) {
		sched_dispatch(s);
		while (r->head < r->tail) {
			size_t k = r->head++ % RING;
			sched_task_finished(s, r->id[k], r->w[k], &ok);
		}
	}
	double t = seconds() - t0;
	struct sched_counts c;
	sched_counts(s, &c);
	if (c.state[TASK_DONE] != n)
		fprintf(stderr, "bench_deps: %" PRIu64 " of %" PRIu64
			" done\n", c.state[TASK_DONE], n);
	(void)w;
	feed_destroy(f);
	sched_destroy(s);
	events_destroy(r->ev);
	free(specs);
	free(ids);
	free(r);
	return t;
fail:
	fprintf(stderr, "bench_deps: %s\n", err.text);
	exit(1);
}

static void row(const char *what, enum shape shape, uint64_t n)
{
	double off = run(shape, n, 0);
	double on = run(shape, n, 1);

	printf("%s, %" PRIu64 " tasks:\n", what, n);
	printf("  with the feed %.3f s (%.2f µs per task), without %.3f s "
	       "(%.2f µs per task)\n", on, on * 1e6 / (double)n, off,
	       off * 1e6 / (double)n);
	printf("  ratio with/without the feed: %.2f\n", on / off);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;

	if (n < 20) {
		fprintf(stderr, "bench_deps: N must be at least 20\n");
		return 1;
	}
	row("chain (each task after the one before)", CHAIN, n);
	row("fan-in (an array, then one task after all of it)", FAN_IN, n);
	row("chain, baseline size", CHAIN, n / 10);
	return 0;
}

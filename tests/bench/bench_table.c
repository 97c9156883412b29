/*
 * bench_table: what a large array costs the scheduler and how fast tasks go
 * through the table.  Figures are ratios against a budget or against a
 * baseline measured in the same run; nothing is asserted.
 *
 *   1. RSS growth of submitting a 1,000,000-element array, against the
 *      100 MB budget.
 *   2. The same for a task file of 1,000,000 lines (each line a task).
 *   3. 500,000 tasks through sched_dispatch + sched_task_argv +
 *      sched_task_finished with 2 in-process workers, against a bare ring
 *      buffer push/pop loop of the same length.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched/sched.h"
#include "sched/taskfile.h"

#define ARRAY_TASKS 1000000
#define RUN_TASKS 500000
#define WORKER_CORES 4
#define RING 1024

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rss_mb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1e6;
}

/* Placements the fake workers have been told about, in order. */
struct fake {
	worker_id_t w[RING];
	task_id_t id[RING];
	size_t head, tail;
};

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct fake *f = arg;

	f->w[f->tail % RING] = w;
	f->id[f->tail % RING] = id;
	f->tail++;
}

static void bench_memory(void)
{
	char *argv[] = { (char *)"/usr/bin/env", (char *)"python3",
			 (char *)"step.py", (char *)"--index={}", NULL };
	struct task_spec sp = { 0 };
	struct err err;
	task_id_t first;
	uint64_t count;

	double before = rss_mb();
	struct sched *s = sched_create(NULL);
	sp.argv = argv;
	sp.cores = 1;
	sp.is_array = 1;
	sp.array_first = 0;
	sp.array_last = ARRAY_TASKS - 1;
	double t0 = seconds();
	if (sched_submit(s, &sp, &first, &count, &err) < 0) {
		fprintf(stderr, "bench_table: %s\n", err.text);
		exit(1);
	}
	double t1 = seconds();
	/* walk every element once, as a listing would */
	task_id_t id = 0;
	uint64_t seen = 0;
	while ((id = sched_next(s, id, 1u << TASK_QUEUED)))
		seen++;
	double t2 = seconds();
	double grown = rss_mb() - before;

	printf("array of %d tasks: submit %.1f ms, walk %.1f ms (%" PRIu64
	       " seen)\n", ARRAY_TASKS, (t1 - t0) * 1e3, (t2 - t1) * 1e3,
	       seen);
	printf("  rss growth %.1f MB against a 100 MB budget: ratio %.3f "
	       "(%.1f bytes per task)\n", grown, grown / 100.0,
	       grown * 1e6 / ARRAY_TASKS);
	sched_destroy(s);
}

static void bench_taskfile(void)
{
	struct task_spec defaults = { 0 };
	size_t cap = (size_t)ARRAY_TASKS * 32, len = 0;
	char *text = malloc(cap);
	struct err err;
	task_id_t first;
	uint64_t count;

	for (int i = 0; i < ARRAY_TASKS; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"python3 step.py %d\n", i);
	defaults.cores = 1;
	double before = rss_mb();
	struct sched *s = sched_create(NULL);
	double t0 = seconds();
	if (taskfile_submit(s, text, len, &defaults, &first, &count,
			    &err) < 0) {
		fprintf(stderr, "bench_table: %s\n", err.text);
		exit(1);
	}
	double t = seconds() - t0;
	double grown = rss_mb() - before;
	printf("task file of %d lines (%.1f MB): submit %.1f ms\n",
	       ARRAY_TASKS, (double)len / 1e6, t * 1e3);
	printf("  rss growth %.1f MB against a 100 MB budget: ratio %.3f "
	       "(%.1f bytes per task)\n", grown, grown / 100.0,
	       grown * 1e6 / ARRAY_TASKS);
	sched_destroy(s);
	free(text);
}

/* The baseline: the same number of pushes and pops through a ring. */
static double bench_baseline(void)
{
	static task_id_t ring[RING];
	volatile task_id_t sink = 0;
	size_t head = 0, tail = 0;

	double t0 = seconds();
	for (task_id_t id = 1; id <= RUN_TASKS; id++) {
		ring[tail++ % RING] = id;
		sink += ring[head++ % RING];
	}
	double t = seconds() - t0;
	(void)sink;
	return RUN_TASKS / t;
}

static double bench_run(double *rss_growth)
{
	char *argv[] = { (char *)"/bin/echo", (char *)"{}", NULL };
	struct fake *f = calloc(1, sizeof(*f));
	struct sched_hooks h = { 0 };
	struct task_spec sp = { 0 };
	struct task_result ok = { 0 };
	task_id_t first;
	uint64_t count;

	h.arg = f;
	h.assign = on_assign;
	double before = rss_mb();
	struct sched *s = sched_create(&h);
	sched_worker_add(s, "fake-0", WORKER_CORES, 0);
	sched_worker_add(s, "fake-1", WORKER_CORES, 0);
	sp.argv = argv;
	sp.cores = 1;
	sp.is_array = 1;
	sp.array_first = 1;
	sp.array_last = RUN_TASKS;
	if (sched_submit(s, &sp, &first, &count, NULL) < 0)
		exit(1);

	double t0 = seconds();
	while (!sched_idle(s)) {
		sched_dispatch(s);
		while (f->head < f->tail) {
			size_t k = f->head++ % RING;
			char **av = sched_task_argv(s, f->id[k]);
			for (char **a = av; *a; a++)
				free(*a);
			free(av);
			ok.runtime = 0.001;
			sched_task_finished(s, f->id[k], f->w[k], &ok);
		}
	}
	double t = seconds() - t0;
	*rss_growth = rss_mb() - before;
	struct sched_counts c;
	sched_counts(s, &c);
	if (c.state[TASK_DONE] != RUN_TASKS)
		fprintf(stderr, "bench_table: %" PRIu64 " of %d done\n",
			c.state[TASK_DONE], RUN_TASKS);
	sched_destroy(s);
	free(f);
	return RUN_TASKS / t;
}

int main(void)
{
	bench_memory();
	bench_taskfile();

	double base = bench_baseline();
	double growth;
	double rate = bench_run(&growth);
	printf("%d tasks through dispatch+argv+finish, 2 workers of %d "
	       "cores:\n", RUN_TASKS, WORKER_CORES);
	printf("  %.0f tasks/s; baseline ring push/pop %.0f ops/s; "
	       "ratio %.4f\n", rate, base, rate / base);
	printf("  against the 50000 tasks/s target: ratio %.1f\n",
	       rate / 50000.0);
	printf("  rss growth after the run %.1f MB (%.1f bytes per task)\n",
	       growth, growth * 1e6 / RUN_TASKS);
	return 0;
}

/*
 * bench_pool: what the pool costs the batch system and the scheduler.
 * Figures are ratios against a baseline measured in the same run; nothing
 * is asserted.
 *
 *   1. Batch-system calls for `scale 500`, job arrays on and off: the pool
 *      manager on a real event loop, with sbatch, squeue and scancel
 *      replaced (bin_dir) by scripts that log each call and answer as
 *      Slurm would (an id; a listing of what was submitted, pending), so
 *      no job reaches a real batch system and the manager's rate limit is
 *      lowered to 1 ms.  Counted until all 500 jobs have their ids, and
 *      how long those calls take at Slurm's sustained 1 call a second;
 *      arrays off against arrays on.
 *   2. Scheduler CPU per poll with 1, 100 and 5,000 jobs: Slurm's squeue
 *      output of that many jobs parsed (backend_slurm's parser) and
 *      applied to a table of that many jobs (pool_observe), against a bare
 *      scan of the same text for its line ends.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pool/manager.h"
#include "util/strbuf.h"

#define SCALE 500

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- 1. calls ---------------------------------------------------------------- */

static void write_exec(const char *dir, const char *name, const char *body)
{
	char path[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (!fp) {
		perror(path);
		exit(1);
	}
	fprintf(fp, "#!/bin/sh\n%s", body);
	fclose(fp);
	chmod(path, 0755);
}

static unsigned long count_lines(const char *dir, const char *name)
{
	char path[600];
	unsigned long n = 0;
	int ch;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	while ((ch = getc(fp)) != EOF)
		n += ch == '\n';
	fclose(fp);
	return n;
}

static unsigned with_ids(struct pool_manager *m)
{
	struct pool *p = pool_manager_pool(m);
	unsigned n = 0;

	for (size_t i = 0; i < pool_njobs(p); i++)
		n += pool_job_at(p, i)->id[0] != '\0';
	return n;
}

struct calls {
	unsigned long sbatch, squeue, total;
	double wall;
};

/* A fake Slurm in `dir`: sbatch hands out ids 1000, 1001, ... and
 * records what it made, as squeue lines (an array's elements each); squeue
 * prints them. */
static void fake_slurm(const char *dir)
{
	char body[4096];

	snprintf(body, sizeof(body),
		 "echo \"$*\" >> '%1$s/sbatch.calls'\n"
		 "n=$(cat '%1$s/next' 2>/dev/null || echo 1000)\n"
		 "echo $((n + 1)) > '%1$s/next'\n"
		 "name=; range=\n"
		 "for a in \"$@\"; do case $a in\n"
		 "  --job-name=*) name=${a#--job-name=} ;;\n"
		 "  --array=*) range=${a#--array=} ;;\n"
		 "esac; done\n"
		 "if [ -n \"$range\" ]; then\n"
		 "  i=${range%%-*}; last=${range#*-}\n"
		 "  while [ $i -le $last ]; do\n"
		 "    echo \"$n|$i|PD|Priority|N/A|N/A|N/A|1:00:00|$name\"\n"
		 "    i=$((i + 1))\n"
		 "  done >> '%1$s/listing'\n"
		 "else\n"
		 "  echo \"$n|N/A|PD|Priority|N/A|N/A|N/A|1:00:00|$name\" >> '%1$s/listing'\n"
		 "fi\n"
		 "echo $n\n", dir);
	write_exec(dir, "sbatch", body);
	snprintf(body, sizeof(body),
		 "echo x >> '%1$s/squeue.calls'\n"
		 "cat '%1$s/listing' 2>/dev/null\n"
		 "exit 0\n", dir);
	write_exec(dir, "squeue", body);
	snprintf(body, sizeof(body), "echo x >> '%s/scancel.calls'\n", dir);
	write_exec(dir, "scancel", body);
	write_exec(dir, "sacct", "exit 1\n");
	write_exec(dir, "job.sh", "exit 0\n");
}

static int scale_calls(int arrays, struct calls *out)
{
	char dir[] = "/tmp/bench_pool.XXXXXX", script[600], cmd[700];
	struct pool_manager_config cfg = { 0 };
	struct err err = { "" };
	struct event_base *base;
	struct pool_manager *m;
	double t0;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return -1;
	}
	fake_slurm(dir);
	snprintf(script, sizeof(script), "%s/job.sh", dir);
	cfg.backend = &backend_slurm;
	cfg.cluster = "bench";
	cfg.script = script;
	cfg.bin_dir = dir;
	cfg.params.workers_per_job = 1;
	cfg.params.arrays = arrays;
	cfg.params.max_array_size = 1000;
	cfg.params.missing_grace = 600;
	cfg.poll_interval = 0.2;
	cfg.command_timeout = 30;
	cfg.min_gap = 0.001;
	base = event_base_new();
	m = pool_manager_create(base, NULL, &cfg, &err);
	if (!m) {
		fprintf(stderr, "bench_pool: %s\n", err.text);
		return -1;
	}
	pool_manager_scale(m, SCALE);
	t0 = seconds();
	while (with_ids(m) < SCALE && seconds() - t0 < 300) {
		struct timeval tv = { 0, 20000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	out->wall = seconds() - t0;
	out->sbatch = count_lines(dir, "sbatch.calls");
	out->squeue = count_lines(dir, "squeue.calls");
	out->total = pool_manager_commands(m, NULL);
	unsigned got = with_ids(m);
	pool_manager_destroy(m);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_pool: cannot remove %s\n", dir);
	if (got < SCALE) {
		fprintf(stderr, "bench_pool: only %u of %d jobs submitted\n", got,
			SCALE);
		return -1;
	}
	return 0;
}

static void bench_calls(void)
{
	struct calls on, off;
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
	int rc;

	/* the manager logs each of the 500 submissions */
	fflush(stderr);
	if (null >= 0)
		dup2(null, STDERR_FILENO);
	rc = scale_calls(1, &on) < 0 || scale_calls(0, &off) < 0 ? -1 : 0;
	fflush(stderr);
	if (saved >= 0)
		dup2(saved, STDERR_FILENO);
	if (null >= 0)
		close(null);
	if (saved >= 0)
		close(saved);
	if (rc < 0) {
		fprintf(stderr, "bench_pool: the scale 500 run failed\n");
		return;
	}
	printf("1. batch-system calls until `scale %d` has all its jobs "
	       "(fake Slurm, no rate limit)\n", SCALE);
	printf("   %-12s %8s %8s %8s %14s\n", "", "sbatch", "squeue", "all",
	       "at 1 call/s");
	printf("   %-12s %8lu %8lu %8lu %12lu s\n", "arrays on", on.sbatch,
	       on.squeue, on.total, on.total);
	printf("   %-12s %8lu %8lu %8lu %12lu s\n", "arrays off", off.sbatch,
	       off.squeue, off.total, off.total);
	printf("   arrays off / arrays on: %.1fx the calls (baseline: arrays "
	       "on, %lu call%s)\n", on.total ? (double)off.total / (double)on.total :
	       0, on.total, on.total == 1 ? "" : "s");
}

/* --- 2. CPU per poll ------------------------------------------------------- */

static const char *name_of(void *arg, uint64_t seq)
{
	static char buf[64];

	(void)arg;
	snprintf(buf, sizeof(buf), "bench-%llu", (unsigned long long)seq);
	return buf;
}

/* The squeue output of `n` running jobs 5000.. named bench-1.., and a
 * table that holds them. */
static struct pool *table_of(unsigned n, struct strbuf *out)
{
	struct pool_params prm = { .workers_per_job = 1, .missing_grace = 60 };
	struct pool *p = pool_create(&prm);

	for (unsigned i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "%u", 5000 + i);
		pool_submit_started(p, i + 1, 1, 0);
		pool_submit_done(p, i + 1, 1, id, 0, 0);
		strbuf_addf(out, "%s|N/A|R|None|2026-01-01T00:00:00|"
			    "2026-01-01T00:00:05|2099-01-01T00:00:00|1:00:00|"
			    "bench-%u\n", id, i + 1);
	}
	return p;
}

static double one_poll(struct pool *p, const char *text)
{
	struct job_status_list list = { 0 };
	struct err err = { "" };
	struct pool_seen *seen;
	double t0 = cpu_seconds();

	backend_slurm.parse_status(text, &list, &err);
	seen = calloc(list.n + 1, sizeof(*seen));
	for (size_t i = 0; i < list.n; i++) {
		const struct job_status *st = &list.v[i];
		seen[i].id = st->ref.id;
		seen[i].index = st->ref.index;
		seen[i].name = st->name;
		seen[i].state = st->state;
		seen[i].end = st->end;
		seen[i].raw = st->raw;
		seen[i].started = (double)st->start_time;
		seen[i].deadline = (double)st->end_time;
	}
	pool_observe(p, seen, list.n, name_of, NULL, 100);
	free(seen);
	job_status_list_release(&list);
	return cpu_seconds() - t0;
}

static volatile size_t sink;

static double bare_scan(const char *text)
{
	double t0 = cpu_seconds();
	size_t n = 0;

	for (const char *s = text; (s = strchr(s, '\n')); s++)
		n++;
	sink += n;
	return cpu_seconds() - t0;
}

static void bench_polls(void)
{
	static const unsigned sizes[] = { 1, 100, 5000 };

	printf("2. scheduler CPU per poll (squeue output parsed and applied to "
	       "the job table)\n");
	printf("   %6s %12s %12s %14s %12s\n", "jobs", "us/poll", "us/job",
	       "bare scan us", "ratio");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct strbuf text = STRBUF_INIT;
		struct pool *p = table_of(sizes[k], &text);
		unsigned rounds = sizes[k] >= 1000 ? 20 : sizes[k] >= 100 ? 500 : 5000;
		double t = 0, b = 0;

		one_poll(p, text.buf);		/* warm */
		for (unsigned r = 0; r < rounds; r++) {
			t += one_poll(p, text.buf);
			b += bare_scan(text.buf);
		}
		t /= rounds;
		b /= rounds;
		printf("   %6u %12.1f %12.3f %14.2f %11.0fx\n", sizes[k], t * 1e6,
		       t * 1e6 / sizes[k], b * 1e6, b > 0 ? t / b : 0);
		pool_destroy(p);
		strbuf_release(&text);
	}
	printf("   (ratio: the poll's CPU against a bare scan of the same text "
	       "for its line ends)\n");
}

int main(void)
{
	bench_calls();
	bench_polls();
	return 0;
}

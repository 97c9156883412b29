/*
 * bench_journal: what replaying the journal of a big run costs a
 * restarted scheduler.  Figures only; nothing is asserted.
 *
 *   1. A journal of N finished tasks (default 1,000,000: one array, a run
 *      and an end record each, as the scheduler writes them) is made by
 *      running the array through a table with an in-process worker.
 *      Baseline, same run: the time that live run took in the table.
 *   2. Its replay into a fresh table: wall time, tasks per second, the
 *      RSS it adds, and the ratio to the baseline.
 *   3. Its compaction (only the ends stay), then the replay of the
 *      compacted file: sizes, times, RSS.  The compaction twice: all of
 *      it on the caller's thread (journal_compact, the baseline), and
 *      as a running scheduler does it, the table read on the loop a
 *      piece a turn and the writing left to the journal's thread, with
 *      the loop's longest stall meanwhile.
 *
 *   bench_journal [N] [DIR]   (DIR: where the files go, default $TMPDIR)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal/journal.h"
#include "server/journal.h"

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

struct rig {
	struct sched *s;
	struct journal *j;
	int submitted;
	task_id_t *started;		/* a ring of placements */
	size_t head, tail, cap;
};

static void put(struct rig *r, json_t *rec)
{
	journal_append(r->j, rec);
	json_decref(rec);
	if (journal_pending(r->j) > (1u << 20))
		journal_write(r->j, 0, NULL);
}

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rig *r = arg;

	if (!r->submitted) {
		put(r, journal_record_submit(r->s, 1));
		r->submitted = 1;
	}
	if (journal_encode_run(journal_buffer(r->j), r->s, id, "host:1") == 0)
		strbuf_addch(journal_buffer(r->j), '\n');
	(void)w;
	r->started[r->tail++ % r->cap] = id;
}

static void on_ended(void *arg, task_id_t id)
{
	struct rig *r = arg;

	if (journal_encode_end(journal_buffer(r->j), r->s, id) == 0)
		strbuf_addch(journal_buffer(r->j), '\n');
	if (journal_pending(r->j) > (1u << 20))
		journal_write(r->j, 0, NULL);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int replay(const char *path, const char *what, double baseline)
{
	struct journal_found f;
	struct err err = { "" };
	double before = rss_mb(), t0 = seconds();
	struct sched *s = sched_create(NULL);

	if (journal_replay(path, s, &f, &err) < 0) {
		fprintf(stderr, "bench_journal: %s\n", err.text);
		return -1;
	}
	double t = seconds() - t0;
	printf("replay of the %s journal (%.1f MB, %llu records):\n", what,
	       (double)file_size(path) / 1e6, (unsigned long long)f.records);
	printf("  %.2f s, %.0f tasks/s, %llu tasks ended\n", t,
	       (double)f.tasks / t, (unsigned long long)f.ended);
	printf("  RSS added: %.1f MB, %.1f bytes per task\n",
	       rss_mb() - before, (rss_mb() - before) * 1e6 / (double)f.tasks);
	printf("  ratio to the live run in the table: %.2f\n", t / baseline);
	sched_destroy(s);
	return 0;
}

/* The same compaction as a running scheduler does it: the table read on
 * the loop SERVER_JOURNAL_COMPACT_STEP tasks a turn, the writing left to
 * the writer thread, while the loop hands over a record a turn and
 * sleeps 100 us between turns (its other work); the loop's longest
 * stall is the longest of its turns. */
static int threaded_compaction(const char *path, struct sched *s,
			       const struct journal_found *f, double baseline)
{
	struct err err = { "" };
	struct journal *j = journal_open(path, &err);
	uint64_t turns = 0, done = 0, ticket = 0;

	if (!j) {
		fprintf(stderr, "bench_journal: %s\n", err.text);
		return -1;
	}
	double t0 = seconds(), read = 0, stall = 0;
	struct strbuf *content = malloc(sizeof(*content));
	strbuf_init(content, (size_t)file_size(path));	/* as the server */
	struct journal_compactor *c = journal_compactor_start(content, s);
	while (!ticket || done < ticket) {
		double t = seconds();
		if (c && journal_compactor_step(c, content,
						 SERVER_JOURNAL_COMPACT_STEP)) {
			journal_compactor_finish(c, content, f);
			c = NULL;
			ticket = journal_replace(j, content);
			read = seconds() - t0;
		}
		json_t *rec = journal_record("x-bench");
		journal_append(j, rec);
		json_decref(rec);
		journal_submit(j, 0);
		journal_done(j, &done, NULL);
		turns++;
		if (seconds() - t > stall)
			stall = seconds() - t;
		usleep(100);
	}
	double total = seconds() - t0;
	if (journal_wait(j, ticket, &err) < 0) {
		fprintf(stderr, "bench_journal: %s\n", err.text);
		journal_close(j);
		return -1;
	}
	journal_close(j);
	printf("  as the scheduler does it: the table read in %.2f s, on disk "
	       "after %.2f s;\n    the loop's longest stall %.4f s over %llu "
	       "turns (ratio to the baseline %.3f)\n", read, total, stall,
	       (unsigned long long)turns, stall / baseline);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	const char *tmpdir = argc > 2 ? argv[2] :
		getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[4096], path[4200];
	struct err err = { "" };
	struct rig r = { 0 };
	char *arg[] = { (char *)"true", NULL };
	struct task_spec sp = { .argv = arg, .cores = 1, .is_array = 1,
				.array_first = 1 };
	task_id_t first;
	uint64_t count;
	int rc = 1;

	snprintf(dir, sizeof(dir), "%s/bench-journal.XXXXXX", tmpdir);
	if (!n || !mkdtemp(dir)) {
		fprintf(stderr, "usage: bench_journal [N >= 1] [DIR]\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/journal", dir);
	struct sched_hooks h = { .arg = &r, .assign = on_assign,
				 .ended = on_ended };
	r.s = sched_create(&h);
	r.cap = 1024;
	r.started = calloc(r.cap, sizeof(*r.started));
	r.j = journal_open(path, &err);
	if (!r.j) {
		fprintf(stderr, "bench_journal: %s\n", err.text);
		goto out;
	}
	sp.array_last = (int64_t)n;
	double t0 = seconds();
	sched_submit(r.s, &sp, &first, &count, NULL);
	worker_id_t w = sched_worker_add(r.s, "host:1", 64, 0);
	sched_dispatch(r.s);
	struct task_result res = { .runtime = 0.01, .peak_memory = 4096 };
	while (r.head < r.tail) {
		task_id_t id = r.started[r.head++ % r.cap];
		sched_task_finished(r.s, id, w, &res);
		sched_dispatch(r.s);
	}
	double live = seconds() - t0;
	journal_write(r.j, 1, NULL);
	journal_close(r.j);
	sched_destroy(r.s);
	printf("live run of %llu tasks through a table, journal written: "
	       "%.2f s (baseline)\n", (unsigned long long)n, live);

	if (replay(path, "whole", live) < 0)
		goto out;
	struct sched *s = sched_create(NULL);
	struct journal_found f;
	long before = file_size(path);
	sched_set_detail_limit(s, (size_t)-1);
	if (journal_replay(path, s, &f, &err) < 0) {
		fprintf(stderr, "bench_journal: %s\n", err.text);
		goto out;
	}
	t0 = seconds();
	if (journal_compact(path, s, &f, NULL, &err) < 0) {
		fprintf(stderr, "bench_journal: %s\n", err.text);
		goto out;
	}
	double on_loop = seconds() - t0;
	printf("compaction: %.1f MB to %.1f MB (ratio %.2f)\n",
	       (double)before / 1e6, (double)file_size(path) / 1e6,
	       (double)file_size(path) / (double)before);
	printf("  on the loop (journal_compact, baseline): %.2f s, the loop's "
	       "longest stall %.2f s\n", on_loop, on_loop);
	if (threaded_compaction(path, s, &f, on_loop) < 0)
		goto out;
	sched_destroy(s);
	if (replay(path, "compacted", live) < 0)
		goto out;
	rc = 0;
out:
	free(r.started);
	unlink(path);
	rmdir(dir);
	return rc;
}

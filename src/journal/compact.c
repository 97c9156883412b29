/*
 * compact: the journal rewritten from the table it describes.  What a
 * replay needs is the submissions, how each ended task ended and the
 * counts of each task that has run and not ended, and of each live job
 * of the pool its submission (or adoption) and last state; the runs of
 * finished tasks, ended jobs, earlier pool targets and scheduler starts
 * go.  Consecutive ended tasks alike (same state, exit, counts, reason)
 * that ended within COMPACT_SPREAD of each other share a range record,
 * as the loop's do: a million tasks that ended in batches take a few
 * megabytes.  The result is written beside the journal and renamed over it
 * only once it is on disk, so a crash during a compaction leaves the old
 * journal whole.
 * A running scheduler reads its table into memory on its loop
 * (journal_compact_encode) and leaves the rest to the journal's thread
 * (journal_replace, which stages the new file with journal_stage): the
 * loop waits for the table, not for the disk.
 */
#include "journal/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fdio.h"
#include "util/xalloc.h"

/* Out to fd when it holds a megabyte or `all`; fd < 0: all stays in sb. */
static int flush_buf(int fd, struct strbuf *sb, uint64_t *size, int all)
{
	if (fd < 0 || (!all && sb->len <= (1u << 20)))
		return 0;
	*size += sb->len;
	if (fd_write_all(fd, sb->buf, sb->len) < 0)
		return -1;
	strbuf_reset(sb);
	return 0;
}

static void add(struct strbuf *sb, json_t *rec)
{
	if (!rec)
		return;
	journal_encode(sb, rec);
	strbuf_addch(sb, '\n');
	json_decref(rec);
}

struct journal_compactor {
	struct sched *s;
	task_id_t last;			/* the table's last id at the start */
	task_id_t sub_next;		/* the next submission to write */
	task_id_t next;			/* the next task whose end or run */
	task_id_t cfirst, clast;	/* cancelled, never started: pending */
	struct journal_range range;	/* ends: pending */
};

/* Ends further apart than this (seconds) get records of their own: a
 * range keeps one end time. */
#define COMPACT_SPREAD 0.001

struct journal_compactor *journal_compactor_start(struct strbuf *out,
						  struct sched *s)
{
	struct journal_compactor *c = xcalloc(1, sizeof(*c));

	c->s = s;
	c->last = sched_last_id(s);
	c->sub_next = 1;
	c->next = 1;
	journal_range_init(&c->range);
	c->range.spread = COMPACT_SPREAD;
	strbuf_addf(out, "{\"format\":\"%s\",\"version\":\"%d.%d\"}\n",
		    JOURNAL_FORMAT, JOURNAL_MAJOR, JOURNAL_MINOR);
	return c;
}

task_id_t journal_compactor_next(const struct journal_compactor *c)
{
	return c->sub_next <= c->last ? 1 : c->next;
}

int journal_compactor_on_tasks(const struct journal_compactor *c)
{
	return c->sub_next > c->last;
}

task_id_t journal_compactor_last(const struct journal_compactor *c)
{
	return c->last;
}

static void put_range(struct journal_compactor *c, struct strbuf *out)
{
	journal_range_line(out, &c->range, 0);
	journal_range_reset(&c->range);
}

static void put_cancelled(struct journal_compactor *c, struct strbuf *out)
{
	if (c->cfirst)
		add(out, journal_record_cancelled(c->cfirst, c->clast));
	c->cfirst = 0;
}

int journal_compactor_step(struct journal_compactor *c, struct strbuf *out,
			   unsigned n)
{
	struct sched *s = c->s;

	/* submissions first, ends after: a dependency's end releases its
	 * dependents only once they are in the table */
	for (; n && c->sub_next <= c->last; n--) {
		struct sched_submission sub;
		if (sched_submission(s, c->sub_next, &sub) < 0) {
			c->sub_next = c->last + 1;
			break;
		}
		add(out, journal_record_submit(s, c->sub_next));
		c->sub_next = sub.first + sub.n;
	}
	for (; n && c->next <= c->last; n--, c->next++) {
		task_id_t id = c->next;
		struct task_info ti;
		if (sched_task(s, id, &ti) < 0)
			continue;
		int unstarted = ti.state == TASK_CANCELLED && !ti.attempts;
		int ended = ti.state == TASK_DONE || ti.state == TASK_FAILED ||
			ti.state == TASK_CANCELLED;
		if (c->cfirst && (!unstarted || id != c->clast + 1))
			put_cancelled(c, out);
		if (!ended || unstarted)
			put_range(c, out);	/* ids go up in the file */
		if (unstarted) {
			if (!c->cfirst)
				c->cfirst = id;
			c->clast = id;
		} else if (ended) {
			int fits = journal_range_end(&c->range, id, &ti);
			if (fits <= 0)
				put_range(c, out);
			if (fits == 0)
				journal_range_end(&c->range, id, &ti);
			else if (fits < 0)
				journal_line_end(out, id, &ti);
		} else if (ti.attempts) {
			struct worker_info wi;
			const char *name = ti.state == TASK_RUNNING &&
				sched_worker(s, ti.worker, &wi) == 0 ?
				wi.name : NULL;
			/* the run's time is now, not when it began: as before */
			ti.start_time = 0;
			journal_line_run(out, id, &ti, name);
		}
	}
	/* whole records at the end of a step: what the loop adds between
	 * steps comes after them */
	put_range(c, out);
	if (c->sub_next <= c->last || c->next <= c->last)
		return 0;
	put_cancelled(c, out);
	return 1;
}

void journal_compactor_finish(struct journal_compactor *c, struct strbuf *out,
			      const struct journal_found *pool)
{
	if (out && pool && pool->has_target) {
		json_t *r = journal_record("pool-scale");
		json_object_set_new(r, "target", json_integer(pool->target));
		add(out, r);
	}
	if (out && pool && pool->has_adapt) {
		json_t *r = journal_record("pool-adapt");
		if (pool->has_adapt < 0) {
			json_object_set_new(r, "off", json_true());
		} else {
			json_object_set_new(r, "min", json_integer(pool->adapt_min));
			json_object_set_new(r, "max", json_integer(pool->adapt_max));
			json_object_set_new(r, "idle", json_real(pool->adapt_idle));
		}
		add(out, r);
	}
	if (out && pool && pool->jobs) {
		const char *key;
		json_t *e;
		json_object_foreach(pool->jobs, key, e) {
			journal_encode(out, json_object_get(e, "first"));
			strbuf_addch(out, '\n');
			if (json_object_get(e, "last")) {
				journal_encode(out, json_object_get(e, "last"));
				strbuf_addch(out, '\n');
			}
		}
	}
	journal_range_release(&c->range);
	free(c);
}

/* Every record of `s` into fd, a buffer `sb` at a time; with fd < 0,
 * into `sb` alone. */
static int write_table(int fd, struct strbuf *out, struct sched *s,
		       const struct journal_found *pool, uint64_t *size)
{
	struct journal_compactor *c = journal_compactor_start(out, s);
	int rc = -1;

	if (fd >= 0)
		*size = 0;
	while (!journal_compactor_step(c, out, 4096))
		if (flush_buf(fd, out, size, 0) < 0)
			goto out;
	journal_compactor_finish(c, out, pool);
	c = NULL;
	if (flush_buf(fd, out, size, 1) < 0)
		goto out;
	rc = 0;
out:
	if (c)
		journal_compactor_finish(c, NULL, NULL);
	return rc;
}

void journal_compact_encode(struct strbuf *out, struct sched *s,
			   const struct journal_found *pool)
{
	uint64_t unused = 0;

	write_table(-1, out, s, pool, &unused);
}

/* A file beside `path` that write_fn fills, synced, renamed over it. */
/* A temporary file beside `path` made, filled by `write_fn` and synced;
 * its descriptor, its name in `tmp`.  -1 + err, nothing left behind,
 * when any step fails. */
static int stage(const char *path,
		 int (*write_fn)(int fd, void *arg, uint64_t *size), void *arg,
		 uint64_t *size, struct strbuf *tmp, struct err *err)
{
	uint64_t n = 0;
	int fd;

	fd = fd_temp_beside(path, "compact", 0600, tmp);
	if (fd < 0)
		return errprintf(err, "cannot create a file beside the journal "
				 "'%s': %s", path, strerror(errno));
	if (write_fn(fd, arg, &n) < 0 || fsync(fd) < 0) {
		errprintf(err, "cannot write '%s': %s", tmp->buf,
			  strerror(errno));
		close(fd);
		unlink(tmp->buf);
		return -1;
	}
	if (size)
		*size = n;
	return fd;
}

static int install(const char *path,
		   int (*write_fn)(int fd, void *arg, uint64_t *size), void *arg,
		   uint64_t *size, struct err *err)
{
	struct strbuf tmp = STRBUF_INIT;
	int fd, rc = -1;

	fd = stage(path, write_fn, arg, size, &tmp, err);
	if (fd < 0)
		goto out;
	close(fd);
	if (rename(tmp.buf, path) < 0) {
		errprintf(err, "cannot rename '%s' to '%s': %s", tmp.buf, path,
			  strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	if (fd_sync_dir_of(path) < 0) {
		errprintf(err, "cannot sync the directory of '%s': %s", path,
			  strerror(errno));
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&tmp);
	return rc;
}

struct table_arg {
	struct sched *s;
	const struct journal_found *pool;
};

static int write_table_fn(int fd, void *arg, uint64_t *size)
{
	struct table_arg *a = arg;
	struct strbuf sb = STRBUF_INIT;
	int rc = write_table(fd, &sb, a->s, a->pool, size);

	strbuf_release(&sb);
	return rc;
}

static int write_buf_fn(int fd, void *arg, uint64_t *size)
{
	const struct strbuf *sb = arg;

	*size = sb->len;
	return fd_write_all(fd, sb->buf, sb->len);
}

int journal_stage(const char *path, const struct strbuf *content,
		  struct strbuf *tmp, struct err *err)
{
	return stage(path, write_buf_fn, (void *)content, NULL, tmp, err);
}

int journal_compact(const char *path, struct sched *s,
		    const struct journal_found *pool, uint64_t *size,
		    struct err *err)
{
	struct table_arg a = { s, pool };

	return install(path, write_table_fn, &a, size, err);
}

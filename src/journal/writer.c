/*
 * writer: the journal's appending side.  Records wait in a buffer that
 * only the opening thread (the scheduler's loop) touches; a submission
 * writes the buffer with one write() from that thread, so that a record
 * is in the file (the page cache: a killed process loses nothing) before
 * the loop acts on what it records: a RUN frame leaves only after its
 * run record is written, and a restarted scheduler never meets a worker
 * running a task it believes queued.  The waits go to a thread of the
 * journal's own: syncs (a sync of a second's records takes tens of
 * milliseconds), a compaction's rewrite (a million tasks: most of a
 * second), and starting the write-back of each MiB written with the
 * file's blocks allocated ahead of it (ALLOCATE_AHEAD, given back at
 * close), so that the kernel's write-back spends less on them.  The
 * loop never waits on the disk.
 *
 * Tickets say what is done: each submission gets the next one.  One
 * that asked a sync (or a replacement) is the thread's to finish; the
 * others are finished when written, unless one before them still waits
 * for the thread: then the thread finishes them with it.  When a sync,
 * a replacement or a write fails, or a sync or replacement is done, the
 * notify pipe becomes readable, so the loop sends the answers that
 * waited on it.
 *
 * The file is opened O_APPEND: a record is never written over another,
 * whatever went before.  A write that fails cuts the file back to its
 * last whole record and keeps the buffer for the next submission.
 */
#include "journal/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fdio.h"
#include "util/xalloc.h"

/* Bytes written between two starts of their write-back. */
#define WRITEBACK_EVERY ((uint64_t)1 << 20)
/* Room the file gets ahead of its end, so that write-back finds its
 * blocks allocated (the size stays what is written). */
#define ALLOCATE_AHEAD ((uint64_t)16 << 20)

struct journal {
	char *path;
	struct strbuf buf;		/* the loop's: records not written */
	uint64_t size;			/* the loop's: bytes written */

	pthread_mutex_t mu;
	pthread_cond_t work;		/* to the thread: a sync or more */
	pthread_cond_t finished;	/* from it: tickets are done */
	pthread_t thread;
	int started;
	/* under mu */
	int fd;				/* changed only by the thread */
	uint64_t written;		/* bytes in the file */
	int unsynced;			/* written since the last sync began */
	struct strbuf *replace;		/* a compaction's content, waiting */
	struct strbuf after;		/* written since `replace` was asked */
	uint64_t queued;		/* last ticket handed out */
	uint64_t need;			/* last ticket the thread must finish */
	uint64_t done;			/* last ticket finished */
	uint64_t ok;			/* last ticket written (and synced) */
	int unwritten;			/* the buffer holds a failed write */
	uint64_t wb_from;		/* written back from here on: not asked */
	int wb_due;			/* WRITEBACK_EVERY more since then */
	uint64_t allocated;		/* the thread's: blocks up to here */
	int no_allocate;		/* the file system refused it */
	int failed;			/* the last write, sync or rename */
	int said;			/* ... and journal_done said so */
	struct err error;		/* why */
	int stopping;
	int notify[2];			/* [0] the loop reads, [1] written */
};

static void header(struct strbuf *sb)
{
	strbuf_addf(sb, "{\"format\":\"%s\",\"version\":\"%d.%d\"}\n",
		    JOURNAL_FORMAT, JOURNAL_MAJOR, JOURNAL_MINOR);
}

static void wake_loop(struct journal *j)
{
	char c = 0;

	if (write(j->notify[1], &c, 1) < 0)
		(void)0;		/* full: the loop has one to read */
}

/* Under mu: a failure, said again by journal_done when it is new. */
static void set_failed(struct journal *j, const struct err *err)
{
	if (!j->failed || strcmp(err->text, j->error.text))
		j->said = 0;
	j->error = *err;
	j->failed = 1;
}

/* Under mu: the loop's buffer to the file.  0, or -1 + err with the
 * file cut back to its last whole record and the buffer kept. */
static int put_buffer(struct journal *j, struct err *err)
{
	if (!j->buf.len)
		return 0;
	if (fd_write_all(j->fd, j->buf.buf, j->buf.len) < 0) {
		int e = errno;
		/* a short write left part of a line: the next write would
		 * join it, so cut it off again */
		if (ftruncate(j->fd, (off_t)j->written) < 0)
			(void)0;
		return errprintf(err, "cannot write the journal '%s': %s%s; "
				 "its records wait in memory until it can be",
				 j->path, strerror(e),
				 e == EFBIG ? " (the file size limit, ulimit -f)"
				 : e == EDQUOT ? " (over the disk quota)" : "");
	}
	j->written += j->buf.len;
	j->size += j->buf.len;
	j->unsynced = 1;
	if (j->replace)		/* the new file gets them at the rename */
		strbuf_add(&j->after, j->buf.buf, j->buf.len);
	strbuf_reset(&j->buf);
	if (j->written - j->wb_from >= WRITEBACK_EVERY) {
		j->wb_due = 1;
		pthread_cond_signal(&j->work);
	}
	return 0;
}

/* Under mu, by the thread: it finished the work asked up to `target`
 * (rc 0) or failed it.  Tickets after it that need no thread are done
 * too. */
static void finish(struct journal *j, uint64_t target, int rc,
		   const struct err *err)
{
	uint64_t upto = j->need > target ? j->need - 1 : j->queued;

	if (upto > j->done)
		j->done = upto;
	if (rc < 0) {
		set_failed(j, err);
	} else if (!j->unwritten) {
		j->ok = j->done;
		j->failed = 0;
	}
	pthread_cond_broadcast(&j->finished);
	wake_loop(j);
}

/* Thread side, mu held on entry and exit: `content` in place of the
 * file.  The loop keeps writing to the old file meanwhile; what it
 * wrote since the replacement was asked (`after`) follows the content
 * into the new file while mu holds the loop off, just before the
 * rename. */
static int put_in_place(struct journal *j, struct strbuf *content,
			struct err *err)
{
	struct strbuf tmp = STRBUF_INIT;
	int fd, old, rc = -1, tail;

	pthread_mutex_unlock(&j->mu);
	fd = journal_stage(j->path, content, &tmp, err);
	pthread_mutex_lock(&j->mu);
	if (fd < 0)
		goto out;
	tail = j->after.len > 0;
	if (fd_write_all(fd, j->after.buf, j->after.len) < 0 ||
	    fcntl(fd, F_SETFL, O_APPEND) < 0) {
		errprintf(err, "cannot write '%s': %s", tmp.buf,
			  strerror(errno));
	} else if (rename(tmp.buf, j->path) < 0) {
		errprintf(err, "cannot rename '%s' to '%s': %s", tmp.buf,
			  j->path, strerror(errno));
	} else {
		rc = 0;
	}
	if (rc < 0) {
		close(fd);
		unlink(tmp.buf);
		goto out;
	}
	old = j->fd;
	j->fd = fd;
	j->written = content->len + j->after.len;
	j->wb_from = content->len;
	j->allocated = 0;
	j->unsynced = 0;
	pthread_mutex_unlock(&j->mu);
	close(old);
	/* the content was synced before the rename; what followed it and
	 * the new name are synced now */
	if (tail && fdatasync(fd) < 0)
		rc = errprintf(err, "cannot sync the journal '%s': %s",
			       j->path, strerror(errno));
	else if (fd_sync_dir_of(j->path) < 0)
		rc = errprintf(err, "cannot sync the directory of '%s': %s",
			       j->path, strerror(errno));
	pthread_mutex_lock(&j->mu);
	if (rc < 0)
		j->unsynced = 1;
out:
	strbuf_reset(&j->after);
	strbuf_release(&tmp);
	return rc;
}

/* Thread side: blocks for the next ALLOCATE_AHEAD bytes once the file
 * is within half of that from the end of those it has. */
static void allocate_ahead(struct journal *j, int fd, uint64_t end)
{
	if (j->no_allocate || end + ALLOCATE_AHEAD / 2 < j->allocated)
		return;
	if (j->allocated < end)
		j->allocated = end;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)j->allocated,
		      (off_t)ALLOCATE_AHEAD) < 0) {
		j->no_allocate = 1;	/* a head start only: go without */
		return;
	}
	j->allocated += ALLOCATE_AHEAD;
}

static void *thread_main(void *arg)
{
	struct journal *j = arg;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (j->need <= j->done && !j->replace && !j->wb_due &&
		       !j->stopping)
			pthread_cond_wait(&j->work, &j->mu);
		struct err err = { "" };
		uint64_t target = j->queued;
		int rc = 0;

		if (j->replace) {
			struct strbuf *content = j->replace;
			rc = put_in_place(j, content, &err);
			j->replace = NULL;
			strbuf_release(content);
			free(content);
			finish(j, target, rc, &err);
		} else if (j->need > j->done) {
			int fd = j->fd, sync = j->unsynced;
			j->unsynced = 0;
			pthread_mutex_unlock(&j->mu);
			if (sync && fdatasync(fd) < 0)
				rc = errprintf(&err, "cannot sync the journal "
					       "'%s': %s", j->path,
					       strerror(errno));
			pthread_mutex_lock(&j->mu);
			if (rc < 0)
				j->unsynced = 1;
			finish(j, target, rc, &err);
		} else if (j->wb_due) {
			/* start the disk on what is written so far: the sync
			 * an answer waits for then has little left to do */
			int fd = j->fd;
			off_t from = (off_t)j->wb_from;
			off_t len = (off_t)(j->written - j->wb_from);
			uint64_t end = j->written;
			j->wb_from = j->written;
			j->wb_due = 0;
			pthread_mutex_unlock(&j->mu);
			if (sync_file_range(fd, from, len,
					    SYNC_FILE_RANGE_WRITE) < 0)
				(void)0;	/* only a head start */
			allocate_ahead(j, fd, end);
			pthread_mutex_lock(&j->mu);
		} else {
			break;		/* stopping, nothing left */
		}
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

struct journal *journal_open(const char *path, struct err *err)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	struct stat st;

	strbuf_init(&j->buf, 0);
	strbuf_init(&j->after, 0);
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->work, NULL);
	pthread_cond_init(&j->finished, NULL);
	j->notify[0] = j->notify[1] = -1;
	j->path = xstrdup(path);
	j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		errprintf(err, "cannot open the journal '%s': %s", path,
			  strerror(errno));
		goto fail;
	}
	if (fstat(j->fd, &st) < 0) {
		errprintf(err, "cannot read the journal '%s': %s", path,
			  strerror(errno));
		goto fail;
	}
	j->written = j->wb_from = j->size = (uint64_t)st.st_size;
	/* blocks a killed writer allocated ahead go back */
	if (ftruncate(j->fd, st.st_size) < 0)
		(void)0;
	if (st.st_size == 0) {
		header(&j->buf);
		if (put_buffer(j, err) < 0 || fdatasync(j->fd) < 0) {
			if (!err || !err->text[0])
				errprintf(err, "cannot sync the journal '%s': "
					  "%s", path, strerror(errno));
			goto fail;
		}
		j->unsynced = 0;
	}
	if (pipe2(j->notify, O_CLOEXEC | O_NONBLOCK) < 0) {
		errprintf(err, "cannot make the journal's pipe: %s",
			  strerror(errno));
		goto fail;
	}
	int e = pthread_create(&j->thread, NULL, thread_main, j);
	if (e) {
		errprintf(err, "cannot start the journal's syncing thread: %s",
			  strerror(e));
		goto fail;
	}
	/* named, so that top and /proc tell it from the loop */
	pthread_setname_np(j->thread, "journal-writer");
	j->started = 1;
	return j;
fail:
	journal_close(j);
	return NULL;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->started) {
		journal_write(j, 1, NULL);
		pthread_mutex_lock(&j->mu);
		j->stopping = 1;
		pthread_cond_signal(&j->work);
		pthread_mutex_unlock(&j->mu);
		pthread_join(j->thread, NULL);
	}
	if (j->fd >= 0) {
		/* the blocks allocated ahead go back */
		if (j->allocated && ftruncate(j->fd, (off_t)j->written) < 0)
			(void)0;
		close(j->fd);
	}
	for (int i = 0; i < 2; i++)
		if (j->notify[i] >= 0)
			close(j->notify[i]);
	if (j->replace) {
		strbuf_release(j->replace);
		free(j->replace);
	}
	strbuf_release(&j->buf);
	strbuf_release(&j->after);
	pthread_cond_destroy(&j->finished);
	pthread_cond_destroy(&j->work);
	pthread_mutex_destroy(&j->mu);
	free(j->path);
	free(j);
}

void journal_append(struct journal *j, const json_t *rec)
{
	journal_encode(&j->buf, rec);
	strbuf_addch(&j->buf, '\n');
}

struct strbuf *journal_buffer(struct journal *j)
{
	return &j->buf;
}

size_t journal_pending(const struct journal *j)
{
	return j->buf.len;
}

/* Under mu: the next ticket, the buffer written, a sync asked of the
 * thread when `sync`. */
static uint64_t submit_locked(struct journal *j, int sync)
{
	struct err err = { "" };
	uint64_t t = ++j->queued;
	int waiting = j->need > j->done;	/* the thread has tickets */

	if (put_buffer(j, &err) < 0) {
		j->unwritten = 1;
		set_failed(j, &err);
		if (!waiting)
			j->done = t;
		pthread_cond_broadcast(&j->finished);
		wake_loop(j);
		return t;
	}
	j->unwritten = 0;
	if (sync) {
		j->need = t;
		pthread_cond_signal(&j->work);
	} else if (!waiting) {
		j->done = j->ok = t;
		j->failed = 0;
	}
	return t;
}

uint64_t journal_submit(struct journal *j, int sync)
{
	uint64_t t;

	pthread_mutex_lock(&j->mu);
	t = submit_locked(j, sync);
	pthread_mutex_unlock(&j->mu);
	return t;
}

uint64_t journal_replace(struct journal *j, struct strbuf *content)
{
	uint64_t t;

	pthread_mutex_lock(&j->mu);
	submit_locked(j, 0);
	while (j->replace)	/* one at a time: rare enough to wait */
		pthread_cond_wait(&j->finished, &j->mu);
	strbuf_reset(&j->after);
	j->replace = content;
	j->size = content->len;
	t = j->need = ++j->queued;
	pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->mu);
	return t;
}

int journal_notify_fd(const struct journal *j)
{
	return j->notify[0];
}

int journal_done(struct journal *j, uint64_t *done, struct err *err)
{
	char drain[64];
	int rc = 0;

	while (read(j->notify[0], drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&j->mu);
	*done = j->done;
	if (j->failed && !j->said) {
		j->said = 1;
		if (err)
			*err = j->error;
		rc = -1;
	} else if (j->failed) {
		rc = 1;
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int journal_wait(struct journal *j, uint64_t ticket, struct err *err)
{
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	while (j->done < ticket)
		pthread_cond_wait(&j->finished, &j->mu);
	if (j->ok < ticket) {
		if (err)
			*err = j->error;
		rc = -1;
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int journal_write(struct journal *j, int sync, struct err *err)
{
	return journal_wait(j, journal_submit(j, sync), err);
}

uint64_t journal_size(const struct journal *j)
{
	return j->size + j->buf.len;
}

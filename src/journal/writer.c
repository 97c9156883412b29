/*
 * writer: the journal's appending side.  Records wait in a buffer that
 * only the opening thread (the scheduler's loop) touches; a hand-over
 * moves them to a queue, and a thread of the journal's own takes the
 * whole queue, writes it with one write() and syncs it when asked.  The
 * loop never waits on the disk: a write into the page cache cost it a
 * third of its rate, a sync of a second's records tens of milliseconds,
 * and a compaction's rewrite of a million tasks most of a second.
 * While the thread writes, hand-overs pile up in the queue and go out
 * together, so the busier the loop the fewer the writes.
 *
 * Tickets say what is done: each hand-over gets the next one, and the
 * thread, having finished a batch, records the last ticket in it and,
 * when the batch asked a sync or replaced the file or failed, makes the
 * notify pipe readable, so the loop sends the answers that waited on it.
 *
 * The file is opened O_APPEND: a record is never written over another,
 * whatever went before.  A write that fails cuts the file back to its
 * last whole record and keeps the batch for the next one.
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

struct journal {
	char *path;
	struct strbuf buf;		/* the loop's: records not handed over */
	uint64_t size;			/* the loop's: bytes handed over */

	pthread_mutex_t mu;
	pthread_cond_t work;		/* to the thread: a hand-over */
	pthread_cond_t finished;	/* from it: a batch is done */
	pthread_t thread;
	int started;
	/* under mu */
	struct strbuf queue;		/* handed over, not yet taken */
	int queue_sync;
	struct strbuf *replace;		/* a compaction's content, waiting */
	uint64_t replace_ticket;
	struct strbuf after;		/* handed over after `replace` */
	int after_sync;
	uint64_t queued;		/* last ticket handed out */
	uint64_t done;			/* last ticket finished */
	uint64_t ok;			/* last ticket written (and synced) */
	int failed;			/* the last batch failed */
	int said;			/* ... and journal_done said so */
	struct err error;		/* why */
	int stopping;

	/* the thread's */
	int fd;
	struct strbuf out;		/* taken, not yet written */
	uint64_t written;		/* bytes in the file */
	int unsynced;			/* written since the last fsync */
	int want_sync;			/* a failed batch asked a sync */
	uint64_t wb_from;		/* written back from here on: not asked */
	int notify[2];			/* [0] the loop reads, [1] the thread */
};

static void header(struct strbuf *sb)
{
	strbuf_addf(sb, "{\"format\":\"%s\",\"version\":\"%d.%d\"}\n",
		    JOURNAL_FORMAT, JOURNAL_MAJOR, JOURNAL_MINOR);
}

/* Thread side: `out` to the file, then a sync when `sync`. */
static int put_out(struct journal *j, int sync, struct err *err)
{
	if (j->out.len) {
		if (fd_write_all(j->fd, j->out.buf, j->out.len) < 0) {
			int e = errno;
			/* a short write left part of a line: the next write
			 * would join it, so cut it off again */
			if (ftruncate(j->fd, (off_t)j->written) < 0)
				(void)0;
			return errprintf(err, "cannot write the journal '%s': %s",
					 j->path, strerror(e));
		}
		j->written += j->out.len;
		strbuf_reset(&j->out);
		j->unsynced = 1;
		/* start the disk on what is written so far: the sync an
		 * answer waits for then has little left to do */
		if (j->written - j->wb_from >= WRITEBACK_EVERY) {
			if (sync_file_range(j->fd, (off_t)j->wb_from,
					    (off_t)(j->written - j->wb_from),
					    SYNC_FILE_RANGE_WRITE) < 0)
				(void)0;	/* only a head start */
			j->wb_from = j->written;
		}
	}
	if (sync && j->unsynced) {
		if (fdatasync(j->fd) < 0)
			return errprintf(err, "cannot sync the journal '%s': %s",
					 j->path, strerror(errno));
		j->unsynced = 0;
	}
	return 0;
}

/* Thread side: `content` in place of the file, appending to it after. */
static int put_in_place(struct journal *j, struct strbuf *content,
			struct err *err)
{
	int fd;

	if (journal_install(j->path, content, err) < 0)
		return -1;
	/* the old file is gone: what it held is in the new one */
	fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return errprintf(err, "cannot open the journal '%s': %s",
				 j->path, strerror(errno));
	close(j->fd);
	j->fd = fd;
	j->written = j->wb_from = content->len;
	j->unsynced = 0;
	return 0;
}

/* Append `from` to `to`, leaving `from` empty: a swap when `to` is. */
static void move_into(struct strbuf *to, struct strbuf *from)
{
	if (!to->len) {
		struct strbuf t = *to;
		*to = *from;
		*from = t;
	} else {
		strbuf_add(to, from->buf, from->len);
	}
	strbuf_reset(from);
}

static void *thread_main(void *arg)
{
	struct journal *j = arg;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (j->done == j->queued && !j->stopping)
			pthread_cond_wait(&j->work, &j->mu);
		if (j->done == j->queued)
			break;
		struct strbuf *content = j->replace;
		uint64_t ticket = content ? j->replace_ticket : j->queued;
		int sync = j->queue_sync || j->want_sync;

		move_into(&j->out, &j->queue);
		j->queue_sync = 0;
		if (content) {
			/* what came after the replacement waits its turn */
			j->replace = NULL;
			move_into(&j->queue, &j->after);
			j->queue_sync = j->after_sync;
			j->after_sync = 0;
		}
		pthread_mutex_unlock(&j->mu);

		struct err err = { "" };
		int rc = put_out(j, sync, &err);
		if (content) {
			/* after a failed write the old file lacks records the
			 * table has: the new one is all the more welcome */
			struct err cerr = { "" };
			if (put_in_place(j, content, &cerr) == 0) {
				strbuf_reset(&j->out);
				rc = 0;
			} else {
				err = cerr;
				rc = -1;
			}
			strbuf_release(content);
			free(content);
		}

		j->want_sync = rc < 0 && sync;
		pthread_mutex_lock(&j->mu);
		j->done = ticket;
		if (rc == 0)
			j->ok = ticket;
		if (rc < 0) {
			if (!j->failed || strcmp(err.text, j->error.text))
				j->said = 0;
			j->error = err;
		}
		j->failed = rc < 0;
		pthread_cond_broadcast(&j->finished);
		if (sync || content || rc < 0) {
			char c = 0;
			if (write(j->notify[1], &c, 1) < 0)
				(void)0;	/* full: the loop has one to read */
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
	strbuf_init(&j->queue, 0);
	strbuf_init(&j->after, 0);
	strbuf_init(&j->out, 0);
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
	j->written = j->wb_from = (uint64_t)st.st_size;
	if (st.st_size == 0) {
		header(&j->out);
		if (put_out(j, 1, err) < 0)
			goto fail;
	}
	j->size = j->written;
	if (pipe2(j->notify, O_CLOEXEC | O_NONBLOCK) < 0) {
		errprintf(err, "cannot make the journal's pipe: %s",
			  strerror(errno));
		goto fail;
	}
	int e = pthread_create(&j->thread, NULL, thread_main, j);
	if (e) {
		errprintf(err, "cannot start the journal's writer: %s",
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
	if (j->fd >= 0)
		close(j->fd);
	for (int i = 0; i < 2; i++)
		if (j->notify[i] >= 0)
			close(j->notify[i]);
	if (j->replace) {
		strbuf_release(j->replace);
		free(j->replace);
	}
	strbuf_release(&j->buf);
	strbuf_release(&j->queue);
	strbuf_release(&j->after);
	strbuf_release(&j->out);
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

uint64_t journal_submit(struct journal *j, int sync)
{
	uint64_t t;

	pthread_mutex_lock(&j->mu);
	j->size += j->buf.len;
	if (j->replace) {
		move_into(&j->after, &j->buf);
		j->after_sync |= sync;
	} else {
		move_into(&j->queue, &j->buf);
		j->queue_sync |= sync;
	}
	t = ++j->queued;
	pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->mu);
	return t;
}

uint64_t journal_replace(struct journal *j, struct strbuf *content)
{
	uint64_t t;

	journal_submit(j, 0);
	pthread_mutex_lock(&j->mu);
	while (j->replace)	/* one at a time: rare enough to wait */
		pthread_cond_wait(&j->finished, &j->mu);
	/* anything handed over while we waited went to the old file */
	move_into(&j->queue, &j->after);
	j->queue_sync |= j->after_sync;
	j->after_sync = 0;
	j->replace = content;
	j->size = content->len;
	t = j->replace_ticket = ++j->queued;
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

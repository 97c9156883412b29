/*
 * writer: the journal's appending side.  Records wait in a buffer and go
 * out with one write() per call of journal_write, so the records of a
 * loop turn cost one system call, and one fsync() when an answer waits
 * on them.  The file is opened O_APPEND: a record is never written over
 * another, whatever went before.
 */
#include "journal/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fdio.h"
#include "util/xalloc.h"

struct journal {
	int fd;
	char *path;
	struct strbuf buf;		/* records not yet written */
	uint64_t written;		/* bytes in the file */
	int unsynced;			/* written since the last fsync */
};

struct journal *journal_open(const char *path, struct err *err)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	struct stat st;

	strbuf_init(&j->buf, 0);
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
	j->written = (uint64_t)st.st_size;
	if (st.st_size == 0) {
		strbuf_addf(&j->buf, "{\"format\":\"%s\",\"version\":\"%d.%d\"}\n",
			    JOURNAL_FORMAT, JOURNAL_MAJOR, JOURNAL_MINOR);
		if (journal_write(j, 1, err) < 0)
			goto fail;
	}
	return j;
fail:
	journal_close(j);
	return NULL;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0) {
		journal_write(j, 1, NULL);
		close(j->fd);
	}
	strbuf_release(&j->buf);
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

int journal_write(struct journal *j, int sync, struct err *err)
{
	if (j->buf.len) {
		if (fd_write_all(j->fd, j->buf.buf, j->buf.len) < 0) {
			int e = errno;
			/* a short write left part of a line: the next write
			 * would join it, so cut it off again */
			if (ftruncate(j->fd, (off_t)j->written) < 0)
				(void)0;
			return errprintf(err, "cannot write the journal '%s': %s",
					 j->path, strerror(e));
		}
		j->written += j->buf.len;
		strbuf_reset(&j->buf);
		j->unsynced = 1;
	}
	if (sync && j->unsynced) {
		if (fdatasync(j->fd) < 0)
			return errprintf(err, "cannot sync the journal '%s': %s",
					 j->path, strerror(errno));
		j->unsynced = 0;
	}
	return 0;
}

uint64_t journal_size(const struct journal *j)
{
	return j->written + j->buf.len;
}

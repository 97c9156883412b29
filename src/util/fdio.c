/*
 * fdio: see fdio.h.
 */
#include "util/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fd_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_temp_beside(const char *path, const char *tag, int mode,
		   struct strbuf *tmp)
{
	int fd, e;

	strbuf_reset(tmp);
	strbuf_addf(tmp, "%s.%s.", path, tag);
	for (int i = 0; i < 6; i++)	/* what mkostemp replaces */
		strbuf_addch(tmp, 'X');
	fd = mkostemp(tmp->buf, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fchmod(fd, (mode_t)mode) < 0) {
		e = errno;
		close(fd);
		unlink(tmp->buf);
		errno = e;
		return -1;
	}
	return fd;
}

int fd_sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc, e;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	if (rc < 0 && (e == EINVAL || e == EROFS))
		rc = 0;
	close(fd);
	errno = e;
	return rc;
}

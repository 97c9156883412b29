/*
 * fdio: writing a whole buffer to a descriptor, through short writes and
 * EINTR, which the state files, the journal and the worker logs all need;
 * a temporary file beside one to be replaced; and syncing the directory of
 * a file just renamed into place.
 */
#ifndef CLUSTER_UTIL_FDIO_H
#define CLUSTER_UTIL_FDIO_H

#include <stddef.h>

#include "util/strbuf.h"

/* Write all `len` bytes of `data` to `fd`; 0, or -1 with errno set (what
 * was written before the failure stays written). */
int fd_write_all(int fd, const void *data, size_t len);

/* A new file beside `path`, to be renamed over it: named `path`.TAG.
 * and six characters mkostemp picks, with `mode`, close-on-exec, open for
 * writing; its name in `tmp` (replaced).  The descriptor, or -1 with
 * errno set and nothing left behind. */
int fd_temp_beside(const char *path, const char *tag, int mode,
		   struct strbuf *tmp);

/* fsync the directory holding `path` (its last '/' ends the directory;
 * none: "."), so a rename into it survives a crash.  A filesystem that
 * cannot sync a directory (EINVAL, EROFS) counts as done.  0, or -1 with
 * errno set. */
int fd_sync_dir_of(const char *path);

#endif

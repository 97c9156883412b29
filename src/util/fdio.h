/*
 * fdio: writing a whole buffer to a descriptor, through short writes and
 * EINTR, which the state files, the journal and the worker logs all need;
 * and syncing the directory of a file just renamed into place.
 */
#ifndef CLUSTER_UTIL_FDIO_H
#define CLUSTER_UTIL_FDIO_H

#include <stddef.h>

/* Write all `len` bytes of `data` to `fd`; 0, or -1 with errno set (what
 * was written before the failure stays written). */
int fd_write_all(int fd, const void *data, size_t len);

/* fsync the directory holding `path` (its last '/' ends the directory;
 * none: "."), so a rename into it survives a crash.  A filesystem that
 * cannot sync a directory (EINVAL, EROFS) counts as done.  0, or -1 with
 * errno set. */
int fd_sync_dir_of(const char *path);

#endif

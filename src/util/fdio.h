/*
 * fdio: writing a whole buffer to a descriptor, through short writes and
 * EINTR, which the state files, the journal and the worker logs all need.
 */
#ifndef CLUSTER_UTIL_FDIO_H
#define CLUSTER_UTIL_FDIO_H

#include <stddef.h>

/* Write all `len` bytes of `data` to `fd`; 0, or -1 with errno set (what
 * was written before the failure stays written). */
int fd_write_all(int fd, const void *data, size_t len);

#endif

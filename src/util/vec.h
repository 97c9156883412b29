/* vec_grow: room for `need` elements of `size` bytes in a realloc'd array
 * whose capacity is *alloc; doubles, starting at 8.  Aborts when memory
 * runs out, like strbuf: callers never see a half-grown table. */
#ifndef CLUSTER_VEC_H
#define CLUSTER_VEC_H

#include <stddef.h>

void *vec_grow(void *p, size_t *alloc, size_t need, size_t size);

#endif

/*
 * xalloc: allocators that never return NULL.  Running out of memory in
 * the middle of building a table, a config value or a reply leaves
 * nothing sensible to hand back, so these print "out of memory" to
 * stderr and abort, as strbuf and vec do.  Code that can answer an
 * allocation failure (a peer's oversized frame, a task's environment)
 * keeps calling malloc and reports the error instead.
 *
 * A zero size still yields a unique pointer to free, never NULL.
 */
#ifndef CLUSTER_XALLOC_H
#define CLUSTER_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);

/* xrealloc of n * size bytes, aborting when the product overflows. */
void *xreallocarray(void *p, size_t n, size_t size);

/* A copy of `s`; NULL copies as the empty string. */
char *xstrdup(const char *s);

/* A copy of at most `n` bytes of `s`, NUL-terminated. */
char *xstrndup(const char *s, size_t n);

/* Print "cluster: out of memory" to stderr and abort. */
void xalloc_die(void) __attribute__((noreturn));

#endif

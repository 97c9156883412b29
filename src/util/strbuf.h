/*
 * strbuf: a growable byte buffer.
 *
 * Invariants: `buf` is never NULL and always NUL-terminated at buf[len];
 * after strbuf_init the buffer points at a shared empty string and owns no
 * memory until something is added.  strbuf_release frees and re-inits;
 * strbuf_detach hands the memory to the caller (who frees it) and re-inits.
 * Allocation failure aborts: a half-built path or script is never returned.
 */
#ifndef CLUSTER_STRBUF_H
#define CLUSTER_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char strbuf_empty[];
#define STRBUF_INIT { 0, 0, strbuf_empty }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_setlen(struct strbuf *sb, size_t len);
static inline void strbuf_reset(struct strbuf *sb) { strbuf_setlen(sb, 0); }

void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Append `s` as one POSIX shell word in single quotes ('a'\''b'). */
void strbuf_add_shquoted(struct strbuf *sb, const char *s);

/* Remove trailing whitespace. */
void strbuf_rtrim(struct strbuf *sb);

/* Read the whole file at `path`; -1 with errno on failure, sb unchanged. */
int strbuf_read_file(struct strbuf *sb, const char *path);

#endif

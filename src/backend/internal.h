/*
 * Helpers the backend files share; nothing outside src/backend/ includes
 * this header.
 */
#ifndef CLUSTER_BACKEND_INTERNAL_H
#define CLUSTER_BACKEND_INTERNAL_H

#include "backend/backend.h"

/* One generated directive line, b->prefix first, unless job->skip names
 * part of it. */
void backend_directive(const struct backend *b, const struct backend_job *job,
		       struct strbuf *out, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* MiB rounded up, or GiB when that is exact, with the given suffixes. */
void backend_memory_mib(uint64_t bytes, const char *mib, const char *gib,
			struct strbuf *out);

#endif

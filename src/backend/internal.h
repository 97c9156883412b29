/*
 * Helpers the backend files share; nothing outside src/backend/ includes
 * this header.
 */
#ifndef CLUSTER_BACKEND_INTERNAL_H
#define CLUSTER_BACKEND_INTERNAL_H

#include <spawn.h>

#include "backend/backend.h"

/* One generated directive line, b->prefix first, unless job->skip names
 * part of it. */
void backend_directive(const struct backend *b, const struct backend_job *job,
		       struct strbuf *out, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* MiB rounded up, or GiB when that is exact, with the given suffixes. */
void backend_memory_mib(uint64_t bytes, const char *mib, const char *gib,
			struct strbuf *out);

/* A new record at the end of the list: zeroed, index -1. */
struct job_status *backend_status_add(struct job_status_list *list);

/* Copy at most len bytes of src into a field of `size` bytes, cut short
 * to fit, always NUL-terminated. */
void backend_copy(char *dst, size_t size, const char *src, size_t len);

/* A time limit: [D-]HH:MM:SS, MM:SS, MM, D-HH, D-HH:MM, or seconds
 * "3600" when `bare_seconds`; "UNLIMITED" and "INFINITE" are -1; 0 for
 * anything else. */
int64_t backend_parse_limit(const char *s, int bare_seconds);

/* Local time in strptime's `fmt` to Unix seconds; 0 when s does not
 * match ("N/A", "Unknown", "None"). */
int64_t backend_parse_time(const char *s, const char *fmt);

/* A decimal number at s, the whole of it; -1 when s is not one. */
int backend_parse_long(const char *s, long min, long max, long *out);

/* PBS Pro and Torque share job ids, states, exit codes and qdel. */
int backend_pbs_parse_id(const char *s, struct job_ref *ref);
void backend_pbs_format_ref(const struct job_ref *ref, struct strbuf *out);
void backend_pbs_state(struct job_status *st, const char *code);
/* An ended job's Exit_status: 0 completed, `walltime_code` (PBS Pro -29,
 * Torque -11) walltime, 256 + N killed by signal N, else failed. */
void backend_pbs_exit(struct job_status *st, long exit_status,
		      long walltime_code);
int backend_pbs_parse_submit(const char *out, struct job_ref *ref,
			     struct err *err);
/* qsub [-N name] [-h] [array option] script. */
int backend_qsub_argv(const struct backend_submit *s,
		      int (*array_args)(unsigned first, unsigned last,
					struct backend_argv *argv,
					struct err *err),
		      struct backend_argv *argv, struct err *err);
/* PBS job names: a letter, then letters, digits, '-', '_' and '+', at
 * most 230 in all. */
int backend_pbs_check_name(const char *name, struct err *err);
void backend_pbs_cancel_argv(const struct job_ref *refs, size_t n,
			     struct backend_argv *argv);

/* Spawn attributes for a command or a local job: its own process group,
 * no signal blocked, every signal at its default (whatever this process
 * ignores, the child must not).  The caller inits and destroys attr. */
void backend_spawnattr_group(posix_spawnattr_t *attr);

#endif

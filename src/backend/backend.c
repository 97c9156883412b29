/*
 * The list of backends and what their files share: directive lines that
 * job.skip can drop, memory figures that never fall short, argv and
 * status lists, and the time formats the batch systems print.
 */
#include "backend/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/vec.h"

#define MIB (1ULL << 20)

static const struct backend *const backends[] = {
	&backend_local, &backend_slurm, &backend_pbs, &backend_torque, NULL,
};

const char *const backend_names[] = { "local", "slurm", "pbs", "torque", NULL };

const struct backend *backend_find(const char *name)
{
	if (!name)
		return NULL;
	for (const struct backend *const *b = backends; *b; b++)
		if (!strcmp((*b)->name, name))
			return *b;
	return NULL;
}

const char *job_state_name(enum job_state state)
{
	static const char *const names[] = {
		[JOB_STATE_UNKNOWN] = "unknown",
		[JOB_STATE_QUEUED] = "queued",
		[JOB_STATE_STARTING] = "starting",
		[JOB_STATE_HELD] = "held",
		[JOB_STATE_RUNNING] = "running",
		[JOB_STATE_SUSPENDED] = "suspended",
		[JOB_STATE_ENDING] = "ending",
		[JOB_STATE_ENDED] = "ended",
	};

	if ((unsigned)state >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[state];
}

const char *job_end_name(enum job_end end)
{
	static const char *const names[] = {
		[JOB_END_NONE] = "none",
		[JOB_END_COMPLETED] = "completed",
		[JOB_END_WALLTIME] = "walltime",
		[JOB_END_PREEMPTED] = "preempted",
		[JOB_END_CANCELLED] = "cancelled",
		[JOB_END_FAILED] = "failed",
		[JOB_END_LOST] = "lost",
	};

	if ((unsigned)end >= sizeof(names) / sizeof(names[0]))
		return "none";
	return names[end];
}

void job_status_list_release(struct job_status_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = list->alloc = 0;
}

struct job_status *backend_status_add(struct job_status_list *list)
{
	struct job_status *st;

	list->v = vec_grow(list->v, &list->alloc, list->n + 1, sizeof(*list->v));
	st = &list->v[list->n++];
	memset(st, 0, sizeof(*st));
	st->ref.index = -1;
	return st;
}

void backend_argv_push(struct backend_argv *argv, const char *arg)
{
	char *copy = strdup(arg);

	if (!copy)
		abort();
	argv->v = vec_grow(argv->v, &argv->alloc, argv->n + 2, sizeof(char *));
	argv->v[argv->n++] = copy;
	argv->v[argv->n] = NULL;
}

void backend_argv_pushf(struct backend_argv *argv, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	backend_argv_push(argv, sb.buf);
	strbuf_release(&sb);
}

void backend_argv_release(struct backend_argv *argv)
{
	for (size_t i = 0; i < argv->n; i++)
		free(argv->v[i]);
	free(argv->v);
	argv->v = NULL;
	argv->n = argv->alloc = 0;
}

void backend_directive(const struct backend *b, const struct backend_job *job,
		       struct strbuf *out, const char *fmt, ...)
{
	struct strbuf line = STRBUF_INIT;
	va_list ap;

	strbuf_addstr(&line, b->prefix);
	va_start(ap, fmt);
	strbuf_vaddf(&line, fmt, ap);
	va_end(ap);
	for (char *const *s = job->skip; s && *s; s++) {
		if (**s && strstr(line.buf, *s)) {
			strbuf_release(&line);
			return;
		}
	}
	strbuf_addch(&line, '\n');
	strbuf_add(out, line.buf, line.len);
	strbuf_release(&line);
}

/* PBS (Pro and Torque) reads kb/mb/gb as powers of 1024, as Slurm reads
 * K/M/G in --mem; both default to whole numbers.  Render in MiB rounded
 * up, or in GiB when that is exact, so the request never falls below the
 * bytes the workers were promised. */
void backend_memory_mib(uint64_t bytes, const char *mib_suffix,
			const char *gib_suffix, struct strbuf *out)
{
	uint64_t mib = bytes / MIB + (bytes % MIB != 0);

	if (mib && mib % 1024 == 0)
		strbuf_addf(out, "%llu%s", (unsigned long long)(mib / 1024),
			    gib_suffix);
	else
		strbuf_addf(out, "%llu%s", (unsigned long long)mib, mib_suffix);
}

void backend_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int backend_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' &&
					     s[1] <= '9')))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Up to `max` numbers separated by `sep`, each of digits only. */
static int split_numbers(const char *s, const char *end, char sep,
			 int64_t *v, int max)
{
	int n = 0;

	while (s < end) {
		int64_t x = 0;
		const char *start = s;
		if (n == max)
			return -1;
		for (; s < end && *s >= '0' && *s <= '9'; s++) {
			if (x > INT64_MAX / 100)
				return -1;
			x = x * 10 + (*s - '0');
		}
		if (s == start)
			return -1;
		v[n++] = x;
		if (s < end) {
			if (*s != sep || s + 1 == end)
				return -1;
			s++;
		}
	}
	return n;
}

int64_t backend_parse_limit(const char *s, int bare_seconds)
{
	const char *dash = strchr(s, '-'), *end = s + strlen(s);
	int64_t days = 0, v[3];
	int n;

	if (!strcmp(s, "UNLIMITED") || !strcmp(s, "INFINITE") ||
	    !strcmp(s, "Infinite"))
		return -1;
	if (dash) {
		if (split_numbers(s, dash, '\0', &days, 1) != 1)
			return 0;
		s = dash + 1;
	}
	n = split_numbers(s, end, ':', v, 3);
	if (n < 1)
		return 0;
	if (dash) {
		/* D-HH, D-HH:MM, D-HH:MM:SS */
		int64_t h = v[0], m = n > 1 ? v[1] : 0, sec = n > 2 ? v[2] : 0;
		return ((days * 24 + h) * 60 + m) * 60 + sec;
	}
	switch (n) {
	case 1:
		return bare_seconds ? v[0] : v[0] * 60;
	case 2:
		return v[0] * 60 + v[1];
	default:
		return (v[0] * 60 + v[1]) * 60 + v[2];
	}
}

int64_t backend_parse_time(const char *s, const char *fmt)
{
	struct tm tm;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, fmt, &tm);
	if (!end || *end)
		return 0;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	return t == (time_t)-1 ? 0 : (int64_t)t;
}

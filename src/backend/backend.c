/*
 * The list of backends and what their files share: directive lines that
 * job.skip can drop, and memory figures that never fall short.
 */
#include "backend/internal.h"

#include <stdarg.h>
#include <string.h>

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

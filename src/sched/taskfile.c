/*
 * taskfile: one task per line, run by /bin/sh.  The whole file is checked
 * first, then submitted in one sched_submit_each call (stored like an
 * array: a few bytes per task plus its line), so a bad line leaves the
 * table untouched.
 */
#include "sched/taskfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

int taskfile_submit(struct sched *s, const char *text, size_t len,
		    const struct task_spec *defaults, task_id_t *first,
		    uint64_t *count, struct err *err)
{
	char *const sh[] = { (char *)"/bin/sh", (char *)"-c", NULL };
	char *copy = NULL;
	const char **cmds = NULL;
	size_t nlines = 1, ncmds = 0;
	int ret = -1;

	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			nlines++;
	copy = malloc(len + 1);
	cmds = calloc(nlines, sizeof(*cmds));
	if (!copy || !cmds) {
		errprintf(err, "cannot allocate a task file of %zu bytes", len);
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';

	size_t lineno = 0;
	for (char *p = copy, *end = copy + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t linelen = (size_t)(eol - p);

		lineno++;
		if (linelen > TASKFILE_MAX_LINE) {
			errprintf(err, "line %zu: longer than %d KiB", lineno,
				  TASKFILE_MAX_LINE / 1024);
			goto out;
		}
		if (memchr(p, '\0', linelen)) {
			errprintf(err, "line %zu: contains a NUL byte", lineno);
			goto out;
		}
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		char *q = p;
		while (*q && is_blank(*q))
			q++;
		if (*q && *q != '#')
			cmds[ncmds++] = p;
		p = eol + 1;
	}

	struct task_spec spec = *defaults;
	spec.argv = sh;
	spec.name = defaults->name ? defaults->name : "line";
	spec.is_array = 0;
	spec.array_first = spec.array_last = 0;
	ret = sched_submit_each(s, &spec, cmds, ncmds, first, count, err);

out:
	free(cmds);
	free(copy);
	return ret;
}

/* strerror in the message style: lowercase first letter. */
static void add_errno(struct strbuf *sb, int e)
{
	size_t at = sb->len;

	strbuf_addstr(sb, strerror(e));
	sb->buf[at] = (char)tolower((unsigned char)sb->buf[at]);
}

int taskfile_submit_path(struct sched *s, const char *path,
			 const struct task_spec *defaults, task_id_t *first,
			 uint64_t *count, struct err *err)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	if (strbuf_read_file(&sb, path) < 0) {
		int e = errno;
		add_errno(&sb, e);
		errprintf(err, "cannot read task file '%s': %s", path, sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	ret = taskfile_submit(s, sb.buf, sb.len, defaults, first, count, err);
	strbuf_release(&sb);
	if (ret < 0)
		errprefix(err, "'%s'", path);
	return ret;
}

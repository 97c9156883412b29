/*
 * taskfile: one task per line, run by /bin/sh.  The whole file is checked
 * and turned into specs first, then submitted with sched_submit_many, so a
 * bad line leaves the table untouched.
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
	char *copy = NULL;
	struct task_spec *specs = NULL;
	char *(*argvs)[4] = NULL;
	size_t nlines = 0, ncmds = 0;
	int ret = -1;

	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			nlines++;
	nlines++;
	copy = malloc(len + 1);
	specs = calloc(nlines, sizeof(*specs));
	argvs = calloc(nlines, sizeof(*argvs));
	if (!copy || !specs || !argvs) {
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
		if (*q && *q != '#') {
			struct task_spec *sp = &specs[ncmds];
			*sp = *defaults;
			argvs[ncmds][0] = (char *)"/bin/sh";
			argvs[ncmds][1] = (char *)"-c";
			argvs[ncmds][2] = p;
			argvs[ncmds][3] = NULL;
			sp->argv = argvs[ncmds];
			sp->name = defaults->name ? defaults->name : "line";
			sp->is_array = 0;
			sp->array_first = sp->array_last = 0;
			ncmds++;
		}
		p = eol + 1;
	}
	if (sched_submit_many(s, specs, ncmds, first, count, err) == 0) {
		ret = 0;
	} else if (ncmds > 1) {
		/* every task has the same settings: the first failed */
		const char *colon = strstr(err ? err->text : "", ": ");
		if (err && colon && !strncmp(err->text, "task ", 5))
			memmove(err->text, colon + 2, strlen(colon + 2) + 1);
	}

out:
	free(argvs);
	free(specs);
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

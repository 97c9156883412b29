/*
 * taskfile: one task per line.  The whole file is checked first, then
 * submitted in one call (stored like an array: a few bytes per task plus
 * its line), so a bad line leaves the table untouched: sched_submit_each
 * with {"/bin/sh", "-c"} when every line needs the shell, else
 * sched_submit_argvs with each line's own argv.
 *
 * A simple line skips the shell because `/bin/sh -c LINE` costs a second
 * exec per task, which halves the rate of short tasks.
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

/* Characters that mean the same to /bin/sh as to execve. */
static int is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || (c && strchr("_./=:,+@%-", c));
}

/*
 * Shell keywords and builtins, which must run inside sh: most change or
 * read the shell's own state.  Left out on purpose: echo, printf, true,
 * false and test, which behave the same as the programs of that name
 * when no word holds a backslash, glob or quote.  Kept in strcmp order.
 */
static const char *const shell_words[] = {
	".", ":", "alias", "bg", "bind", "break", "builtin", "case", "cd",
	"chdir", "command", "continue", "coproc", "declare", "dirs",
	"disown", "do", "done", "elif", "else", "enable", "esac", "eval",
	"exec", "exit", "export", "fc", "fg", "fi", "for", "function",
	"getopts", "hash", "help", "history", "if", "in", "jobs", "kill",
	"let", "local", "logout", "mapfile", "popd", "pushd", "pwd", "read",
	"readarray", "readonly", "return", "select", "set", "shift", "shopt",
	"source", "suspend", "then", "time", "times", "trap", "type",
	"typeset", "ulimit", "umask", "unalias", "unset", "until", "wait",
	"while",
};

/* Binary search: shell_words is in strcmp order. */
static int is_shell_word(const char *w, size_t len)
{
	size_t lo = 0, hi = sizeof(shell_words) / sizeof(*shell_words);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *e = shell_words[mid];
		int c = strncmp(w, e, len);

		if (!c && e[len])
			c = -1;			/* w is a prefix of e */
		if (!c)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* The number of words when `line` can run without the shell, else 0. */
static size_t direct_words(const char *line)
{
	const char *p = line, *first = NULL;
	size_t nwords = 0, firstlen = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *w = p;
		while (is_word_char(*p))
			p++;
		if (*p && *p != ' ' && *p != '\t')
			return 0;
		if (!nwords++) {
			first = w;
			firstlen = (size_t)(p - w);
		}
	}
	/* NAME=value first is an assignment; keywords and builtins need sh */
	if (!nwords || memchr(first, '=', firstlen) ||
	    is_shell_word(first, firstlen))
		return 0;
	return nwords;
}

/* Split a direct line in place into argv; returns the slot after NULL. */
static char **split_words(char *line, char **argv)
{
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		*argv++ = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	*argv++ = NULL;
	return argv;
}

int taskfile_submit(struct sched *s, const char *text, size_t len,
		    const struct task_spec *defaults, task_id_t *first,
		    uint64_t *count, struct err *err)
{
	char *const sh[] = { (char *)"/bin/sh", (char *)"-c", NULL };
	char *copy = NULL;
	char **cmds = NULL;
	size_t *nwords = NULL;
	char **words = NULL, ***argvs = NULL;
	size_t nlines = 1, ncmds = 0, ndirect = 0, nslots = 0;
	int ret = -1;

	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			nlines++;
	copy = malloc(len + 1);
	cmds = calloc(nlines, sizeof(*cmds));
	nwords = calloc(nlines, sizeof(*nwords));
	if (!copy || !cmds || !nwords) {
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
			nwords[ncmds] = direct_words(p);
			if (nwords[ncmds]) {
				ndirect++;
				nslots += nwords[ncmds] + 1;
			} else {
				nslots += 4;	/* /bin/sh -c LINE NULL */
			}
			cmds[ncmds++] = p;
		}
		p = eol + 1;
	}

	struct task_spec spec = *defaults;
	spec.argv = sh;
	spec.name = defaults->name ? defaults->name : "line";
	spec.is_array = 0;
	spec.array_first = spec.array_last = 0;
	if (!ndirect) {
		ret = sched_submit_each(s, &spec, (const char *const *)cmds,
					ncmds, first, count, err);
		goto out;
	}

	words = malloc(nslots * sizeof(*words));
	argvs = malloc(ncmds * sizeof(*argvs));
	if (!words || !argvs) {
		errprintf(err, "cannot allocate %zu tasks", ncmds);
		goto out;
	}
	char **slot = words;
	for (size_t k = 0; k < ncmds; k++) {
		argvs[k] = slot;
		if (nwords[k]) {
			slot = split_words(cmds[k], slot);
		} else {
			*slot++ = sh[0];
			*slot++ = sh[1];
			*slot++ = cmds[k];
			*slot++ = NULL;
		}
	}
	ret = sched_submit_argvs(s, &spec, (char *const *const *)argvs, ncmds,
				 first, count, err);

out:
	free(argvs);
	free(words);
	free(nwords);
	free(cmds);
	free(copy);
	return ret;
}

char **taskfile_line_argv(const char *line)
{
	size_t n = direct_words(line);
	char *copy = strdup(line);
	char **argv = calloc(n ? n + 1 : 4, sizeof(*argv));
	size_t k = 0;

	if (!copy || !argv)
		goto nomem;
	if (n) {
		char **words = malloc((n + 1) * sizeof(*words));
		if (!words)
			goto nomem;
		split_words(copy, words);
		for (; k < n; k++)
			if (!(argv[k] = strdup(words[k])))
				break;
		free(words);
		if (k < n)
			goto nomem;
	} else {
		if (!(argv[0] = strdup("/bin/sh")) || !(argv[1] = strdup("-c")) ||
		    !(argv[2] = strdup(line)))
			goto nomem;
	}
	free(copy);
	return argv;
nomem:
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
	free(copy);
	return NULL;
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

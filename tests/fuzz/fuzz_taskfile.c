/*
 * fuzz_taskfile: the task-file parser, on arbitrary text.
 *
 * The harness keeps its own reading of the rules in sched/taskfile.h and
 * checks taskfile_submit against it:
 *   - all or nothing: an error (a line over 64 KiB, a NUL byte) submits
 *     nothing, and the table's counters and last id are as before;
 *   - on success there is one task per command line (not blank, first
 *     non-blank character not '#'), with consecutive ids after the tasks
 *     already there;
 *   - a line made only of plain words ([A-Za-z0-9_./=:,+@%-], spaces and
 *     tabs) keeps exactly its words as argv, unless its first word is an
 *     assignment or could be a shell keyword or builtin (those are all
 *     lowercase letters, '.' or ':'), when it runs as /bin/sh -c LINE;
 *   - every other line runs as /bin/sh -c LINE, the line unchanged but
 *     for a final carriage return.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/taskfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *line)
{
	fprintf(stderr, "fuzz_taskfile: %s%s%.200s%s\n", what,
		line ? " (line '" : "", line ? line : "", line ? "')" : "");
	abort();
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || (c && strchr("_./=:,+@%-", c));
}

static void free_argv(char **argv)
{
	for (char **a = argv; a && *a; a++)
		free(*a);
	free(argv);
}

/* Compare task `id`'s argv with what `line` (NUL-terminated, final '\r'
 * already cut) must give. */
static void check_line(struct sched *s, task_id_t id, const char *line)
{
	char **argv = sched_task_argv(s, id);
	const char *p = line, *first = NULL;
	size_t firstlen = 0, nwords = 0;
	int words_only = 1;

	if (!argv)
		fail("a submitted task has no argv", line);
	for (const char *q = line; *q; q++)
		if (!plain(*q) && *q != ' ' && *q != '\t')
			words_only = 0;
	if (words_only) {
		for (const char *q = line; *q;) {
			while (*q == ' ' || *q == '\t')
				q++;
			if (!*q)
				break;
			if (!nwords++)
				first = q;
			while (*q && *q != ' ' && *q != '\t')
				q++;
			if (nwords == 1)
				firstlen = (size_t)(q - first);
		}
	}
	int via_sh = argv[0] && !strcmp(argv[0], "/bin/sh") && argv[1] &&
		     !strcmp(argv[1], "-c") && argv[2] && !argv[3] &&
		     !strcmp(argv[2], line);
	if (!words_only) {
		if (!via_sh)
			fail("a line with shell syntax does not run as /bin/sh -c LINE",
			     line);
		free_argv(argv);
		return;
	}
	if (via_sh) {
		int assignment = memchr(first, '=', firstlen) != NULL;
		int maybe_builtin = 1;
		for (size_t i = 0; i < firstlen; i++)
			if (!(first[i] >= 'a' && first[i] <= 'z') &&
			    first[i] != '.' && first[i] != ':')
				maybe_builtin = 0;
		if (!assignment && !maybe_builtin)
			fail("a line of plain words went through the shell", line);
		free_argv(argv);
		return;
	}
	/* Direct: argv is the words, in order. */
	size_t k = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (!argv[k] || strlen(argv[k]) != (size_t)(p - w) ||
		    memcmp(argv[k], w, (size_t)(p - w)))
			fail("a line of plain words lost its words", line);
		k++;
	}
	if (argv[k] || k != nwords || k == 0)
		fail("a line of plain words got other words", line);
	free_argv(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct task_spec defaults = { .cores = 1 };
	char *const pre_argv[] = { (char *)"true", NULL };
	struct task_spec pre = { .argv = pre_argv, .cores = 1 };
	struct sched_counts before, after;
	struct err err = { "" };
	task_id_t first = 12345, pre_first, last_before;
	uint64_t count = 12345, pre_count, ncmds = 0;
	int bad = 0;
	struct sched *s = sched_create(NULL);
	size_t *cmd = NULL;
	char *copy;

	if (!s)
		abort();
	/* A task already in the table: ids go on after it. */
	if (sched_submit(s, &pre, &pre_first, &pre_count, &err) < 0)
		fail(err.text, NULL);
	sched_counts(s, &before);
	last_before = sched_last_id(s);

	/* The model: which lines are commands, and is the file refused. */
	copy = malloc(size + 1);
	cmd = malloc((size + 1) * sizeof(*cmd));
	if (!copy || !cmd)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t off = 0; off < size;) {
		const char *nl = memchr(copy + off, '\n', size - off);
		size_t len = (nl ? (size_t)(nl - copy) : size) - off;

		if (len > TASKFILE_MAX_LINE || memchr(copy + off, '\0', len))
			bad = 1;
		copy[off + len] = '\0';
		if (len && copy[off + len - 1] == '\r')
			copy[off + len - 1] = '\0';
		const char *q = copy + off;
		while (*q && blank(*q))
			q++;
		if (*q && *q != '#')
			cmd[ncmds++] = off;
		off += len + 1;
	}

	int rc = taskfile_submit(s, (const char *)data, size, &defaults, &first,
				 &count, &err);
	sched_counts(s, &after);
	if (rc < 0) {
		if (!bad)
			fail(err.text, "a file the rules accept was refused");
		if (!err.text[0])
			fail("a refused file has no message", NULL);
		if (after.submitted != before.submitted ||
		    sched_last_id(s) != last_before ||
		    after.state[TASK_QUEUED] != before.state[TASK_QUEUED])
			fail("a refused file left tasks in the table", NULL);
		goto out;
	}
	if (bad)
		fail("a file with a NUL byte or an overlong line was accepted", NULL);
	if (count != ncmds)
		fail("the task count is not the number of command lines", NULL);
	if (after.submitted != before.submitted + ncmds ||
	    sched_last_id(s) != last_before + ncmds)
		fail("the table did not grow by the task count", NULL);
	if (ncmds == 0 ? first != 0 : first != last_before + 1)
		fail("the first id is not the one after the tasks already there",
		     NULL);

	/* Each command line, in order, against its task. */
	for (uint64_t k = 0; k < ncmds; k++) {
		const char *line = copy + cmd[k];
		struct task_info ti;

		if (sched_task(s, first + k, &ti) < 0)
			fail("a submitted id is unknown", line);
		if (strcmp(ti.spec->name, "line"))
			fail("a task of a task file is not named 'line'", line);
		check_line(s, first + k, line);
	}
out:
	free(cmd);
	free(copy);
	sched_destroy(s);
	return 0;
}

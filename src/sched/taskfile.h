/*
 * taskfile: submit the lines of a task file as tasks.
 *
 * A task file holds one shell command per line; each becomes one task.
 * Blank lines and lines whose first non-blank character is '#' are
 * skipped.
 *
 * Which lines skip the shell.  A line made only of words of the
 * characters [A-Za-z0-9_./=:,+@%-], separated by spaces and tabs, runs
 * directly: its argv is exactly those words, the first looked up in PATH.
 * Every other line runs as `/bin/sh -c LINE`: any other character (quotes,
 * $, globs, ~, redirections, ;, |, &, #, backslash, braces, bytes above
 * 127, ...), a first word holding '=' (an assignment), and a first word
 * that is a shell keyword or builtin (cd, export, exit, set, ., :, if,
 * for, while, source, exec, eval, kill, pwd, ...; the list is in
 * taskfile.c).  echo, printf, true, false and test run directly: without
 * quotes or escapes they behave the same as the programs.  One difference
 * is left: a direct command that cannot be started (not found, not
 * executable, a script without #!) fails with exit code 127 and the
 * reason "spawn failed: ...", where sh would have written its own message
 * to the task's stderr (and run a script without #! itself).
 *
 * A line longer than 64 KiB or containing a NUL byte is an error naming
 * its line number.  Every task takes its resources, retries, limits,
 * dependencies, output paths and name from `defaults` (its argv and array
 * fields are ignored); with no name the tasks are named "line".
 *
 * All-or-nothing: on error nothing is submitted.  On success the tasks
 * have consecutive ids; *first is the first and *count their number (a
 * file with no commands submits nothing: *count = 0, *first = 0).
 */
#ifndef CLUSTER_SCHED_TASKFILE_H
#define CLUSTER_SCHED_TASKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"
#include "util/err.h"

#define TASKFILE_MAX_LINE (64 * 1024)

int taskfile_submit(struct sched *s, const char *text, size_t len,
		    const struct task_spec *defaults, task_id_t *first,
		    uint64_t *count, struct err *err);

/* Read `path` and submit it as above; errors name the file
 * ("'tasks.txt': line 3: ..."). */
int taskfile_submit_path(struct sched *s, const char *path,
			 const struct task_spec *defaults, task_id_t *first,
			 uint64_t *count, struct err *err);

/*
 * Order and shape (batch runs, cluster-rank --run; cluster-rank(1),
 * "Task file syntax").  A file that uses any of this is a plan, submitted
 * in steps as what it waits for ends:
 *
 *	---		a barrier: every task above ends, and succeeds,
 *			before any task below starts (a failure above
 *			cancels what is below)
 *	[k=v ...] CMD	options for this line's task(s), before the
 *			command: name=NAME, cores=N, gpus=N, memory=SIZE,
 *			time=DURATION, retries=N, array=A-B (one task per
 *			index, "{}" in CMD replaced by it), after=NAME[,..]
 *			(start after every task of those names succeeded;
 *			a failure cancels this one, like Slurm's afterok),
 *			afterany=NAME[,..] (start after they ended however,
 *			like afterany).  Names refer to lines above.
 *
 * A line is an options line when it starts with '[' and a lowercase
 * letter; a plain `[ -f x ] && ...` is a command as before.  Errors name
 * the line and column ("line 3, column 9: unknown option 'core'").
 */
struct taskplan;

/* Whether `text` uses the syntax above (else taskfile_submit fits). */
int taskfile_has_syntax(const char *text, size_t len);

/* Parse a whole file; NULL + err on the first error. */
struct taskplan *taskplan_parse(const char *text, size_t len,
				const struct task_spec *defaults,
				struct err *err);
void taskplan_destroy(struct taskplan *p);

/* Tasks the plan holds in all (array elements counted). */
uint64_t taskplan_ntasks(const struct taskplan *p);

/* Submit every line whose dependencies allow it now (all in one
 * sched_submit_many); returns the tasks submitted, -1 + err. */
long long taskplan_submit_ready(struct taskplan *p, struct sched *s,
				struct err *err);

/* Lines not yet submitted. */
size_t taskplan_pending(const struct taskplan *p);

/* The argv one task-file line runs (its words, or /bin/sh -c LINE);
 * malloc'd strings in a malloc'd array, NULL when out of memory. */
char **taskfile_line_argv(const char *line);

#endif

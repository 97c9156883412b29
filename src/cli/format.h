/*
 * format: how the CLI writes things for people: commands as a shell
 * would read them back, and lines cut to the width of the terminal.
 */
#ifndef CLUSTER_CLI_FORMAT_H
#define CLUSTER_CLI_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cluster/client.h"
#include "util/strbuf.h"

/* Append argv (NULL-terminated) as one shell command line: words of
 * letters, digits and _@%+=:,./- as they are, any other word in single
 * quotes ('it'\''s'), an empty one as ''; a first word with '=' is
 * quoted too, lest it read as an assignment. */
void format_shell_words(struct strbuf *sb, const char *const *argv);

/* A size in one word, binary units, for a table's column: "512B",
 * "1.5GiB". */
void format_size(struct strbuf *sb, uint64_t bytes);

/* Columns a line on `fd` may take: the terminal's width when fd is a
 * terminal, else $COLUMNS when set, else 0 (no limit: a pipe gets
 * whole lines). */
size_t format_width(int fd);

/* Columns `s` takes on a terminal: one per UTF-8 character. */
size_t format_columns(const char *s);

/* Cut sb to at most `columns` columns (at least 4), ending in "..." when
 * anything was cut; never inside a UTF-8 character. */
void format_cut(struct strbuf *sb, size_t columns);

/* A task's state for people: "assigned" for a running task its worker
 * holds without having started it (prefetch), else the state's name. */
const char *format_task_state(const struct cluster_task *t);

/* One line on a task that has not ended or did not succeed: "7 queued:
 * waiting for a worker with 2 cores", "3 running on vm:rank1 for 12.0s",
 * "5 cancelled after 3.1s (signal 15)", "9 failed: exit code 2". */
void format_task_status(struct strbuf *sb, const struct cluster_task *t);

/* A JSON array written as its items arrive, one per line:
 *
 *	struct json_out out = JSON_OUT_INIT(stdout);
 *	cluster_tasks_json(c, &f, json_out_item, &out);
 *	json_out_end(&out);
 *
 * prints "[]" for no items. */
struct json_out {
	FILE *fp;
	uint64_t n;
};
#define JSON_OUT_INIT(fp) { fp, 0 }

int json_out_item(const char *json, void *out);	/* returns 0 */
void json_out_end(struct json_out *out);

#endif

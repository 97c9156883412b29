/*
 * format: commands as a shell reads them back (so a listed command can
 * be pasted), lines cut to the terminal.
 */
#include "cli/format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/units.h"

static int safe_word(const char *s, int first)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_@%+=:,./-", *s) ||
		    (first && *s == '='))
			return 0;
	return 1;
}

void format_shell_words(struct strbuf *sb, const char *const *argv)
{
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			strbuf_addch(sb, ' ');
		if (safe_word(argv[i], i == 0))
			strbuf_addstr(sb, argv[i]);
		else
			strbuf_add_shquoted(sb, argv[i]);
	}
}

size_t format_width(int fd)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	uint64_t n;

	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && count_parse(env, 1, 100000, &n) == 0)
		return (size_t)n;
	return isatty(fd) ? 80 : 0;
}

static int continuation(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

size_t format_columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += !continuation(*s);
	return n;
}

void format_cut(struct strbuf *sb, size_t columns)
{
	size_t n = 0, i;

	if (columns < 4)
		columns = 4;
	if (format_columns(sb->buf) <= columns)
		return;
	/* Keep columns - 3 characters, then the dots. */
	for (i = 0; i < sb->len; i++) {
		if (!continuation(sb->buf[i]) && n++ == columns - 3)
			break;
	}
	strbuf_setlen(sb, i);
	strbuf_addstr(sb, "...");
}

void format_size(struct strbuf *sb, uint64_t bytes)
{
	size_t start = sb->len, j = start;

	size_format(sb, bytes);
	for (size_t i = start; i < sb->len; i++)
		if (sb->buf[i] != ' ')
			sb->buf[j++] = sb->buf[i];
	strbuf_setlen(sb, j);
}

int json_out_item(const char *json, void *arg)
{
	struct json_out *out = arg;

	fprintf(out->fp, "%s%s", out->n++ ? ",\n" : "[\n", json);
	return 0;
}

void json_out_end(struct json_out *out)
{
	fputs(out->n ? "\n]\n" : "[]\n", out->fp);
}

const char *format_task_state(const struct cluster_task *t)
{
	if (t->state == CLUSTER_TASK_RUNNING && t->start_time <= 0)
		return "assigned";
	return cluster_task_state_name(t->state);
}

void format_task_status(struct strbuf *sb, const struct cluster_task *t)
{
	strbuf_addf(sb, "%" PRIu64 " %s", t->id, format_task_state(t));
	if (t->state == CLUSTER_TASK_RUNNING) {
		if (t->worker_name)
			strbuf_addf(sb, " %s %s", t->start_time > 0 ? "on" : "to",
				    t->worker_name);
		if (t->start_time > 0)
			strbuf_addf(sb, " for %.1fs", t->elapsed);
		else
			strbuf_addstr(sb, ", waiting for its worker's cores");
		return;
	}
	if (t->state == CLUSTER_TASK_CANCELLED && t->has_result && t->signal)
		strbuf_addf(sb, " after %.1fs (signal %d)", t->runtime,
			    t->signal);
	if (t->reason && strcmp(t->reason, format_task_state(t)))
		strbuf_addf(sb, ": %s", t->reason);
	else if (t->state == CLUSTER_TASK_QUEUED)
		strbuf_addstr(sb, ": waiting for a free worker");
}

#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/strbuf.h"

static char log_ident[128] = "cluster";
static int log_level_max = LOG_INFO;

void log_setup(const char *ident, int verbose)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_level_max = verbose > 0 ? LOG_DEBUG : LOG_INFO;
}

int log_verbose(void)
{
	return log_level_max == LOG_DEBUG;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

void log_msg(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > log_level_max)
		return;
	n = snprintf(line, sizeof(line), "%s: %s", log_ident, level_name(level));
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so processes sharing stderr do not interleave
	 * mid-line. */
	size_t len = strlen(line);
	if (len < sizeof(line) - 1) {
		line[len++] = '\n';
		line[len] = '\0';
	}
	fputs(line, stderr);
	fflush(stderr);
}

void log_escape(struct strbuf *sb, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (!s) {
		strbuf_addstr(sb, "(null)");
		return;
	}
	for (i = 0; s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\\') {
			strbuf_addstr(sb, "\\\\");
		} else if (ch >= 0x20 && ch < 0x7f) {
			strbuf_addch(sb, ch);
		} else {
			strbuf_addstr(sb, "\\x");
			strbuf_addch(sb, hex[ch >> 4]);
			strbuf_addch(sb, hex[ch & 0xf]);
		}
	}
	if (s[i])
		strbuf_addstr(sb, "...");
}

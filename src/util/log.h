/*
 * log: the runtime's messages on stderr (scheduler, worker, nanny, rank).
 *
 * One line per message: "IDENT: LEVEL: text" with LEVEL omitted for
 * LOG_INFO.  Levels are syslog's; LOG_DEBUG lines appear only when the
 * process was started with -v.  Messages follow the project style:
 * lowercase, no full stop, the subject quoted.
 */
#ifndef CLUSTER_UTIL_LOG_H
#define CLUSTER_UTIL_LOG_H

#include <stddef.h>
#include <syslog.h>

struct strbuf;

/* Set the prefix ("cluster-rank[0]", "worker 'n1'") and the verbosity
 * (0: info and above, >= 1: debug too).  `ident` is copied. */
void log_setup(const char *ident, int verbose);
int log_verbose(void);

void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Append text from outside (a request's URI, a header, a peer's name) to
 * `sb` so it stays on one line of the log and cannot pass for a line of
 * its own: printable ASCII as it is, a backslash as "\\", every other
 * byte (control bytes, DEL, bytes above 127) as "\xHH".  At most `max`
 * bytes of `s` are shown, then "..."; NULL is "(null)".
 */
void log_escape(struct strbuf *sb, const char *s, size_t max);

#endif

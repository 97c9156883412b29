/*
 * top: the dashboard in the terminal, and the dashboard's link that
 * `cluster start` and `cluster status` print.
 *
 * The link carries the token in its fragment (#token=...), which a
 * browser never sends to a server, proxies included: the page reads it
 * once and keeps it in the tab.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "state/state.h"
#include "util/strbuf.h"

void cli_print_dashboard(const char *name, const char *host, unsigned port)
{
	struct strbuf dir = STRBUF_INIT;
	char token[65];

	if (!port || !host || state_dir(name, 0, &dir, NULL) < 0 ||
	    state_token(dir.buf, 0, token, NULL) < 0) {
		strbuf_release(&dir);
		return;
	}
	printf("%-11s http://%s%s%s:%u/status#token=%s\n", "dashboard",
	       strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	       port, token);
	strbuf_release(&dir);
}

/*
 * dashboard link: the address of the dashboard that `cluster start` and
 * `cluster status` print, made from the profile's `dashboard.link`
 * template.  People open the dashboard through whatever sits between
 * them and the scheduler's node: a direct connection, an SSH tunnel, or
 * JupyterHub's proxy (https://hub/user/NAME/proxy/8787/status), so the
 * site profile says which form to print.
 *
 * In the template:
 *	{host}		the scheduler's advertised host ([addr] for IPv6)
 *	{port}		its HTTP port, the one it took
 *	{NAME}		environment variable NAME (upper case, digits, _),
 *	$NAME, ${NAME}	e.g. {USER}, $JUPYTERHUB_SERVICE_PREFIX
 * Anything else is copied.  The expansion is done here, in C: no value
 * reaches a shell.  Values from the environment are copied with bytes a
 * URL cannot hold as they are (spaces, quotes, '#', controls) written
 * %XX, so a value can neither end the link nor start its fragment.
 */
#ifndef CLUSTER_DASHBOARD_LINK_H
#define CLUSTER_DASHBOARD_LINK_H

#include "util/err.h"
#include "util/strbuf.h"

/* The direct link, http://{host}:{port}/status: the default template. */
#define DASHBOARD_LINK_DIRECT "http://{host}:{port}/status"

/* Reads an environment variable (getenv, or a test's table); NULL: unset. */
typedef const char *(*dashboard_env_fn)(const char *name);

/* Whether `tmpl` is a template this module can expand: -1 + err naming
 * the first bad placeholder, with a did-you-mean when one is close. */
int dashboard_link_check(const char *tmpl, struct err *err);

/*
 * Append the link for `host` and `port` made from `tmpl` (NULL or "": the
 * direct link) to `out`.  Returns 1 when it expanded; 0 when a variable it
 * names is unset (the link then is the direct one, and err, when given,
 * says which variable: a JupyterHub template used outside JupyterHub);
 * -1 + err for a bad template, `out` unchanged.
 */
int dashboard_link(struct strbuf *out, const char *tmpl, const char *host,
		   unsigned port, dashboard_env_fn env, struct err *err);

#endif

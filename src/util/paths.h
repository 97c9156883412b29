/*
 * paths: where the running program finds its data, and the commands it
 * runs.
 *
 * An installed binary lives in PREFIX/bin with its data in
 * PREFIX/share/cluster; a binary anywhere else (a build tree) uses the
 * source tree it was built from (CLUSTER_SRCDIR).  The answer follows the
 * executable itself (/proc/self/exe), not $PATH or the working
 * directory, so a moved installation keeps finding its data.  Both
 * cluster and cluster-rank ask here, so they always agree.
 *
 * Worked out once, on first use (thread-safe); the strings live until
 * the process exits.
 */
#ifndef CLUSTER_PATHS_H
#define CLUSTER_PATHS_H

/* The folder of the running executable; "." when it cannot be read. */
const char *paths_bindir(void);

/* PREFIX/share/cluster/profiles, or SRCDIR/config. */
const char *paths_profiles_dir(void);

/* Job-script templates: PREFIX/share/cluster/jobscripts, or
 * SRCDIR/jobscripts. */
const char *paths_templates_dir(void);

/* Dashboard assets: PREFIX/share/cluster/dashboard, or SRCDIR/dashboard. */
const char *paths_dashboard_dir(void);

struct strbuf;

/* The file execvp would run for `cmd`: `cmd` itself when it holds a '/',
 * else the first entry of PATH (confstr's default without one) holding
 * an executable regular file; left in `out`.  -1 when there is none. */
int paths_find_command(const char *cmd, struct strbuf *out);

#endif

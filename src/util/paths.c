#include "util/paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/strbuf.h"

#ifndef CLUSTER_SRCDIR
#define CLUSTER_SRCDIR "."
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char bindir[PATH_MAX];
static char profiles[PATH_MAX + 32], templates[PATH_MAX + 32],
	dashboard[PATH_MAX + 32];

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void find(void)
{
	char share[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", bindir, sizeof(bindir) - 1);
	char *slash, *real = NULL;
	const char *data;

	if (n < 0)
		n = 0;
	bindir[n] = '\0';
	slash = strrchr(bindir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(bindir, sizeof(bindir), ".");

	snprintf(share, sizeof(share), "%s/../share/cluster", bindir);
	if (is_dir(share))
		real = realpath(share, NULL);
	data = real ? real : CLUSTER_SRCDIR;
	snprintf(profiles, sizeof(profiles), "%s/%s", data,
		 real ? "profiles" : "config");
	snprintf(templates, sizeof(templates), "%s/jobscripts", data);
	snprintf(dashboard, sizeof(dashboard), "%s/dashboard", data);
	free(real);
}

const char *paths_bindir(void)
{
	pthread_once(&once, find);
	return bindir;
}

const char *paths_profiles_dir(void)
{
	pthread_once(&once, find);
	return profiles;
}

const char *paths_templates_dir(void)
{
	pthread_once(&once, find);
	return templates;
}

const char *paths_dashboard_dir(void)
{
	pthread_once(&once, find);
	return dashboard;
}

int paths_find_command(const char *cmd, struct strbuf *out)
{
	const char *path = getenv("PATH");
	struct stat st;
	char def[256];

	strbuf_reset(out);
	if (strchr(cmd, '/')) {
		strbuf_addstr(out, cmd);
		return 0;
	}
	if (!path) {
		size_t n = confstr(_CS_PATH, def, sizeof(def));
		path = n > 0 && n <= sizeof(def) ? def : "/bin:/usr/bin";
	}
	for (const char *p = path;; ) {
		const char *colon = strchrnul(p, ':');
		strbuf_reset(out);
		if (colon > p) {
			strbuf_add(out, p, (size_t)(colon - p));
			strbuf_addch(out, '/');
		}
		strbuf_addstr(out, cmd);
		if (stat(out->buf, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out->buf, X_OK) == 0)
			return 0;
		if (!*colon)
			break;
		p = colon + 1;
	}
	return -1;
}

/*
 * accept: see accept.h.  The reserve is a descriptor on /dev/null, opened
 * while there is room and given up only to drop one connection.
 *
 * libevent hands an error callback the listener's own argument, which
 * for evhttp's listener is evhttp's; so the guards are found by their
 * listener in a list of this process's few guards.
 */
#include "util/accept.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "util/clock.h"
#include "util/log.h"

struct accept_guard {
	struct accept_guard *next;	/* every guard */
	struct evconnlistener *lev;
	struct event *resume_ev;
	accept_may_fn may_accept;
	void *arg;
	char what[64];
	int reserve;			/* -1 when it could not be had */
	int paused;
	double last_log;		/* monotonic; < 0: never */
	unsigned long unlogged;		/* failures since the last message */
};

static struct accept_guard *guards;

static void take_reserve(struct accept_guard *g)
{
	if (g->reserve < 0)
		g->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct accept_guard *g = arg;

	(void)fd;
	(void)what;
	g->paused = 0;
	take_reserve(g);
	if (!g->may_accept || g->may_accept(g->arg))
		evconnlistener_enable(g->lev);
}

static void on_error(struct evconnlistener *lev, void *arg)
{
	int e = errno;
	struct accept_guard *g = guards;
	double now = clock_monotonic();
	int dropped = 0;

	(void)arg;
	while (g && g->lev != lev)
		g = g->next;
	if (!g) {
		log_msg(LOG_ERR, "cannot accept a connection: %s", strerror(e));
		evconnlistener_disable(lev);
		return;
	}

	if ((e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) &&
	    g->reserve >= 0) {
		close(g->reserve);
		g->reserve = -1;
		int fd = accept(evconnlistener_get_fd(lev), NULL, NULL);
		if (fd >= 0) {
			close(fd);
			dropped = 1;
		}
		take_reserve(g);
	}
	g->unlogged++;
	if (g->last_log < 0 || now - g->last_log >= ACCEPT_LOG_EVERY) {
		if (g->unlogged > 1)
			log_msg(LOG_ERR, "cannot accept connections on the %s: "
				"%s (%lu times in %.0f s)%s", g->what,
				strerror(e), g->unlogged, now - g->last_log,
				dropped ? "; closed one at once" : "");
		else
			log_msg(LOG_ERR, "cannot accept connections on the %s: "
				"%s%s", g->what, strerror(e),
				dropped ? "; closed one at once" : "");
		g->last_log = now;
		g->unlogged = 0;
	}
	struct timeval tv = { 0, ACCEPT_BACKOFF_MS * 1000 };
	evconnlistener_disable(lev);
	g->paused = 1;
	evtimer_add(g->resume_ev, &tv);
}

struct accept_guard *accept_guard_create(struct event_base *base,
					 struct evconnlistener *lev,
					 const char *what,
					 accept_may_fn may_accept, void *arg)
{
	struct accept_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->resume_ev = evtimer_new(base, on_resume, g);
	if (!g->resume_ev) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	g->lev = lev;
	g->may_accept = may_accept;
	g->arg = arg;
	g->reserve = -1;
	g->last_log = -1;
	snprintf(g->what, sizeof(g->what), "%s", what ? what : "port");
	take_reserve(g);
	g->next = guards;
	guards = g;
	evconnlistener_set_error_cb(lev, on_error);
	return g;
}

void accept_guard_destroy(struct accept_guard *g)
{
	if (!g)
		return;
	for (struct accept_guard **p = &guards; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			break;
		}
	evconnlistener_set_error_cb(g->lev, NULL);
	event_free(g->resume_ev);
	if (g->reserve >= 0)
		close(g->reserve);
	free(g);
}

int accept_guard_paused(const struct accept_guard *g)
{
	return g && g->paused;
}

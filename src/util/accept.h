/*
 * accept: a listener that survives running out of descriptors.
 *
 * When accept() fails for want of a descriptor (EMFILE, ENFILE) or of
 * memory, the pending connection stays in the kernel's queue and the
 * listening socket stays readable: a listener left enabled is called
 * again at once, for ever, and the loop serves nothing else.  A guard
 * installed on an evconnlistener answers such a failure by closing a
 * descriptor it keeps in reserve, accepting the pending connection and
 * closing it at once (the peer sees the connection closed rather than
 * hanging in the queue), taking the reserve again, and pausing the
 * listener for ACCEPT_BACKOFF_MS.  Its message is logged once, then at most
 * every ACCEPT_LOG_EVERY seconds with the number of failures since.
 *
 * The listener's owner may pause it for its own reasons (a cap on
 * connections); `may_accept` tells the guard whether it may enable the
 * listener again when its pause ends, and accept_guard_paused tells the
 * owner not to enable it during one.
 */
#ifndef CLUSTER_UTIL_ACCEPT_H
#define CLUSTER_UTIL_ACCEPT_H

#define ACCEPT_BACKOFF_MS 250
#define ACCEPT_LOG_EVERY 10

struct event_base;
struct evconnlistener;
struct accept_guard;

/* Whether the listener's owner wants it enabled now. */
typedef int (*accept_may_fn)(void *arg);

/* Install on `lev` (replacing its error callback); `what` names the port
 * in messages ("worker port", "HTTP port") and is copied.  may_accept
 * NULL: always.  NULL + errno when the guard cannot be set up. */
struct accept_guard *accept_guard_create(struct event_base *base,
					 struct evconnlistener *lev,
					 const char *what,
					 accept_may_fn may_accept, void *arg);
/* Before the listener is freed; removes the error callback. */
void accept_guard_destroy(struct accept_guard *g);

/* Whether the guard holds the listener paused. */
int accept_guard_paused(const struct accept_guard *g);

#endif

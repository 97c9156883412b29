#include "worker/nanny.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/log.h"
#include "worker/worker.h"

#define BACKOFF_FIRST 0.1
#define BACKOFF_MAX 30.0
#define CRASH_WINDOW 60.0

extern char **environ;

/* Signal handlers only write a byte here; the loop does the work.  A
 * handler (not a blocked mask) because an MPI library may run threads of
 * its own that would otherwise take the signal. */
static int wake_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_term;

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], &c, 1) < 0) {
		/* full pipe: a wake-up is already pending */
	}
	errno = saved;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep up to `seconds` (> 0) or until a signal arrives. */
static void wait_wake(double seconds)
{
	struct pollfd p = { .fd = wake_pipe[0], .events = POLLIN };
	char buf[64];
	int ms = (int)(seconds * 1000.0) + 1;

	if (poll(&p, 1, ms) > 0) {
		while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
			;
	}
}

static pid_t spawn_worker(const struct nanny_opts *o)
{
	posix_spawnattr_t attr;
	sigset_t none, deflt;
	pid_t pid;
	int rc;

	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGTERM);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGCHLD);
	sigaddset(&deflt, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, o->program, NULL, &attr, o->argv, environ);
	posix_spawnattr_destroy(&attr);
	if (rc) {
		log_msg(LOG_ERR, "cannot start worker '%s' ('%s'): %s", o->name,
			o->program, strerror(rc));
		return -1;
	}
	log_msg(LOG_DEBUG, "worker '%s' started, pid %ld", o->name, (long)pid);
	return pid;
}

static void describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

static int supervise(const struct nanny_opts *o)
{
	double *crashes = calloc(o->max_restarts + 1, sizeof(*crashes));
	unsigned ncrash = 0;
	double backoff = BACKOFF_FIRST;
	int rc = NANNY_GAVE_UP;

	if (!crashes) {
		log_msg(LOG_ERR, "out of memory");
		return NANNY_GAVE_UP;
	}
	for (;;) {
		if (got_term) {
			rc = NANNY_DONE;
			break;
		}
		pid_t pid = spawn_worker(o);
		if (pid < 0)
			break;
		double started = now_s();
		int status = 0, forwarded = 0;
		for (;;) {
			pid_t r = waitpid(pid, &status, WNOHANG);
			if (r == pid)
				break;
			if (r < 0 && errno != EINTR) {
				log_msg(LOG_ERR, "cannot wait for worker '%s': %s",
					o->name, strerror(errno));
				goto out;
			}
			if (got_term && !forwarded) {
				log_msg(LOG_INFO, "passing the stop on to worker '%s'",
					o->name);
				kill(pid, SIGTERM);
				forwarded = 1;
			}
			wait_wake(1.0);
		}
		if (got_term) {
			rc = NANNY_DONE;
			break;
		}
		char why[128];
		describe(status, why, sizeof(why));
		if (WIFEXITED(status)) {
			switch (WEXITSTATUS(status)) {
			case WORKER_EXIT_OK:
				log_msg(LOG_DEBUG, "worker '%s' finished", o->name);
				rc = NANNY_DONE;
				goto out;
			case WORKER_EXIT_GONE:
				log_msg(LOG_WARNING, "worker '%s' ended: the scheduler "
					"is gone", o->name);
				rc = NANNY_DONE;
				goto out;
			case WORKER_EXIT_USAGE:
				log_msg(LOG_ERR, "worker '%s' cannot work (see its "
					"messages above); not restarting it", o->name);
				goto out;
			default:
				break;
			}
		}
		double now = now_s();
		if (now - started > CRASH_WINDOW)
			backoff = BACKOFF_FIRST;
		/* Crashes within the last minute, this one included. */
		unsigned recent = 1;
		for (unsigned i = 0; i < ncrash && i < o->max_restarts; i++)
			if (now - crashes[i] <= CRASH_WINDOW)
				recent++;
		if (recent > o->max_restarts) {
			log_msg(LOG_ERR, "worker '%s' %s; it crashed %u times within "
				"a minute (worker.max-restarts is %u); not restarting it",
				o->name, why, recent, o->max_restarts);
			goto out;
		}
		memmove(crashes + 1, crashes, o->max_restarts * sizeof(*crashes));
		crashes[0] = now;
		ncrash++;
		log_msg(LOG_WARNING, "worker '%s' %s; restarting it in %.1f s",
			o->name, why, backoff);
		double until = now + backoff, left;
		while (!got_term && (left = until - now_s()) > 0)
			wait_wake(left);
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	}
out:
	free(crashes);
	return rc;
}

int nanny_run(const struct nanny_opts *o)
{
	struct sigaction sa = { 0 }, old_term, old_int, old_chld;
	int rc;

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_msg(LOG_ERR, "cannot create a pipe: %s", strerror(errno));
		return NANNY_GAVE_UP;
	}
	got_term = 0;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, &old_chld);

	rc = supervise(o);

	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	return rc;
}

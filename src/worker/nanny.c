#include "worker/nanny.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "worker/worker.h"
#include "util/clock.h"
#include "util/procfs.h"

#define BACKOFF_FIRST 0.1
#define BACKOFF_MAX 30.0
#define CRASH_WINDOW 60.0
/* Seconds to wait for killed leftovers to be reaped. */
#define LEFTOVER_WAIT 10.0
/* Children looked at per round of clean-up. */
#define KIDS_MAX 1024

extern char **environ;

/* Signal handlers only write a byte here; the loop does the work.  A
 * handler (not a blocked mask) because an MPI library may run threads of
 * its own that would otherwise take the signal. */
static int wake_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_chld;

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	if (sig == SIGCHLD)
		got_chld = 1;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], &c, 1) < 0) {
		/* full pipe: a wake-up is already pending */
	}
	errno = saved;
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

/* --- what a dead worker leaves behind ----------------------------------
 *
 * The nanny is a child subreaper (PR_SET_CHILD_SUBREAPER): a task whose
 * worker died is re-parented to the nanny instead of init, and so is any
 * process a task left running after the task itself ended.  Those are the
 * nanny's children that are not the worker; tasks run in process groups
 * of their own, so children in the nanny's own group (none, unless the MPI
 * library starts some) are not touched. */

static void push_pid(pid_t *kids, size_t *n, long pid, pid_t worker)
{
	if (pid <= 0 || (pid_t)pid == worker || *n >= KIDS_MAX)
		return;
	pid_t pg = getpgid((pid_t)pid);
	if (pg < 0 || pg == getpgrp())
		return;
	kids[(*n)++] = (pid_t)pid;
}

struct kids_ctx {
	pid_t *kids;
	size_t *n;
	pid_t worker;
};

static void kid_found(void *arg, pid_t pid)
{
	struct kids_ctx *k = arg;

	push_pid(k->kids, k->n, pid, k->worker);
}

/* Without children files: every process whose parent is this one. */
static void scan_proc(pid_t *kids, size_t *n, pid_t worker)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[64], buf[512];
	pid_t self = getpid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		long pid = strtol(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		/* ") S PPID ..." */
		char *s = strrchr(buf, ')');
		if (s && s[1] == ' ' && s[2] && s[3] == ' ' &&
		    strtol(s + 4, NULL, 10) == (long)self)
			push_pid(kids, n, pid, worker);
	}
	closedir(d);
}

/* This process's children other than the worker, outside its own group.
 * A child belongs to the thread that started or adopted it, so every
 * thread's list is read. */
static size_t list_leftovers(pid_t *kids, pid_t worker)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	char path[96];
	size_t n = 0;
	int seen = 0;

	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%ld/children",
				 strtol(de->d_name, NULL, 10));
			if (access(path, R_OK) < 0)
				continue;
			seen = 1;
			struct kids_ctx kc = { kids, &n, worker };
			procfs_children(path, kid_found, &kc);
		}
		closedir(d);
	}
	if (!seen)
		scan_proc(kids, &n, worker);
	return n;
}

/* Reap the adopted children that have ended. */
static void reap_adopted(pid_t worker)
{
	pid_t kids[KIDS_MAX];
	size_t n = list_leftovers(kids, worker);

	for (size_t i = 0; i < n; i++)
		waitpid(kids[i], NULL, WNOHANG);
}

/* Kill every leftover child's process group (and the child, should it
 * have left its group) and reap them, until none is left.  A killed
 * task's own children come to the nanny in turn, hence the rounds.
 * Returns how many were killed. */
static unsigned kill_leftovers(const struct nanny_opts *o)
{
	pid_t kids[KIDS_MAX];
	double deadline = clock_monotonic() + LEFTOVER_WAIT;
	unsigned killed = 0;
	size_t n;

	while ((n = list_leftovers(kids, 0)) > 0) {
		for (size_t i = 0; i < n; i++) {
			pid_t pg = getpgid(kids[i]);
			if (pg > 0 && pg != getpgrp())
				kill(-pg, SIGKILL);
			kill(kids[i], SIGKILL);
		}
		for (size_t i = 0; i < n; i++)
			if (waitpid(kids[i], NULL, WNOHANG) == kids[i])
				killed++;
		if (clock_monotonic() > deadline) {
			log_msg(LOG_ERR, "worker '%s': %zu processes it left "
				"will not end", o->name, n);
			break;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return killed;
}

/* The worker runs in a process group of its own, so a signal mpirun sends
 * to the rank's group reaches the nanny only, which passes one SIGTERM on.
 * It gets SIGTERM when the nanny dies (PR_SET_PDEATHSIG), which
 * posix_spawn cannot ask for: hence vfork.  A nanny killed outright (kill
 * -9, or mpirun's SIGKILL after its SIGTERM) so still ends its worker: a
 * first SIGTERM lets the running tasks finish, a second kills them.  The
 * kernel sends that signal at each step of finding the worker a new
 * parent (first another thread of the dying rank, which MPI libraries
 * have, then a reaper): two for one death, seen with Open MPI 4.1.  So
 * the worker counts the parent-death signals of one death once, and the
 * nanny passes a stop on with sigqueue, which the worker tells from them
 * (worker.c). */
static pid_t spawn_worker(const struct nanny_opts *o)
{
	sigset_t all, old;
	pid_t parent = getpid();
	volatile int child_errno = 0;
	pid_t pid;

	/* No handler of ours may run in the child before exec. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0) {
		struct sigaction dfl;
		sigset_t none;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				sigaction(sig, &dfl, NULL);
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 ||
		    getppid() != parent) {
			child_errno = errno ? errno : ESRCH;
			_exit(127);
		}
		/* The rank's descriptors are the MPI library's (its
		 * listening sockets, its link to mpirun's daemon, PMIx's):
		 * held by the worker or its tasks, a rank's listening port
		 * would outlive it.  The worker gets nothing on purpose. */
		procfs_cloexec_above_stderr();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(o->program, o->argv, environ);
		child_errno = errno;
		_exit(127);
	}
	int saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0 || child_errno) {
		int e = pid < 0 ? saved : child_errno;
		if (pid > 0)
			waitpid(pid, NULL, 0);
		log_msg(LOG_ERR, "cannot start worker '%s' ('%s'): %s", o->name,
			o->program, strerror(e));
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
			rc = NANNY_STOPPED;
			break;
		}
		pid_t pid = spawn_worker(o);
		if (pid < 0)
			break;
		double started = clock_monotonic();
		int status = 0, forwarded = 0;
		for (;;) {
			if (got_chld) {
				got_chld = 0;
				reap_adopted(pid);
			}
			pid_t r = waitpid(pid, &status, WNOHANG);
			if (r == pid)
				break;
			if (r < 0 && errno != EINTR) {
				log_msg(LOG_ERR, "cannot wait for worker '%s': %s",
					o->name, strerror(errno));
				goto out;
			}
			if (o->launcher && getppid() != o->launcher &&
			    !got_term) {
				log_msg(LOG_WARNING, "worker '%s': the launcher "
					"(pid %d) is gone; stopping", o->name,
					o->launcher);
				got_term = 1;
			}
			if (got_term && !forwarded) {
				log_msg(LOG_INFO, "passing the stop on to worker '%s'",
					o->name);
				/* queued, so the worker tells it from
				   its parent-death signal (SI_QUEUE,
				   not SI_USER) */
				sigqueue(pid, SIGTERM, (union sigval){ 0 });
				forwarded = 1;
			}
			wait_wake(1.0);
		}
		unsigned leftovers = kill_leftovers(o);
		if (leftovers)
			log_msg(LOG_WARNING, "worker '%s' left %u processes "
				"running; killed them", o->name, leftovers);
		if (got_term) {
			rc = NANNY_STOPPED;
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
				rc = NANNY_GONE;
				goto out;
			case WORKER_EXIT_NEVER:
				log_msg(LOG_ERR, "worker '%s' ended: no scheduler "
					"answered it", o->name);
				rc = NANNY_NEVER;
				goto out;
			case WORKER_EXIT_USAGE:
				log_msg(LOG_ERR, "worker '%s' cannot work (see its "
					"messages above); not restarting it", o->name);
				goto out;
			default:
				break;
			}
		}
		double now = clock_monotonic();
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
		while (!got_term && (left = until - clock_monotonic()) > 0)
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
	int was_reaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &was_reaper, 0, 0, 0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		log_msg(LOG_WARNING, "cannot adopt what worker '%s' leaves "
			"behind: %s", o->name, strerror(errno));

	rc = supervise(o);
	if (!was_reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);

	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	return rc;
}

/*
 * run: batch commands as children on a libevent loop.
 *
 * The exit is seen through a pidfd, as the worker's executor sees its
 * tasks' (see worker/exec.c for why not SIGCHLD): each run waits only for
 * its own pid, and no process-wide signal handler is needed, which matters
 * in a scheduler that also runs an executor.  Without pidfd_open (Linux
 * before 5.3) a timer peeks with waitid(WNOWAIT) every POLL_MS.  Either
 * way the leader is still an unreaped zombie when its exit is seen, so its
 * group id cannot have been reused yet and killing what it left behind in
 * the group is safe; then the pipes are drained and the child collected.
 *
 * Output is read as it comes, a few reads per wakeup so that a command
 * printing without pause cannot starve the loop; past the cap it is read
 * and dropped, so the command never blocks on a full pipe.
 */
#include "backend/run.h"
#include "backend/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#if defined(__GLIBC__) && \
	(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_ADDCLOSEFROM 1
#endif

#define POLL_MS 20		/* without pidfd: how often to look */
#define READS_PER_WAKEUP 16

extern char **environ;

struct stream {
	int fd;				/* read end, -1 once closed */
	struct event *ev;
	struct strbuf *buf;
	int *truncated;
};

struct backend_run {
	struct event_base *base;
	backend_run_fn done;
	void *arg;
	pid_t pid;			/* also the process group id */
	int pidfd;			/* -1: polled */
	struct event *exit_ev;		/* pidfd readable, or the poll timer */
	struct event *timer_ev;		/* the timeout, then the grace period */
	struct timeval grace;
	int stage;			/* 0 running, 1 SIGTERM sent, 2 SIGKILL */
	struct stream out, err;
	struct backend_result result;
};

void backend_result_release(struct backend_result *r)
{
	strbuf_release(&r->out);
	strbuf_release(&r->err);
	memset(r, 0, sizeof(*r));
	strbuf_init(&r->out, 0);
	strbuf_init(&r->err, 0);
}

static void ms_to_tv(unsigned ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* A descriptor above 2, so that dup2 onto 1 or 2 never meets itself. */
static int above_stdio(int fd)
{
	int n;

	if (fd < 0 || fd > 2)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return n;
}

static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	p[0] = above_stdio(p[0]);
	p[1] = above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0 ||
	    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK) < 0) {
		int e = errno;
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		errno = e;
		return -1;
	}
	return 0;
}

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* environ, less what `add` sets, then `add`; the strings are borrowed. */
static char **build_env(const char *const *add, struct err *err)
{
	size_t n = 0, nadd = 0, k = 0;
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	for (; add && add[nadd]; nadd++)
		if (!strchr(add[nadd], '=') || add[nadd][0] == '=') {
			errprintf(err, "environment entry '%s' is not NAME=value",
				  add[nadd]);
			return NULL;
		}
	env = calloc(n + nadd + 1, sizeof(char *));
	if (!env) {
		errprintf(err, "cannot run a command: %s", strerror(ENOMEM));
		return NULL;
	}
	for (char **e = environ; e && *e; e++) {
		size_t len = name_len(*e);
		int replaced = 0;
		for (size_t j = 0; j < nadd && !replaced; j++)
			replaced = !strncmp(add[j], *e, len) && add[j][len] == '=';
		if (!replaced)
			env[k++] = *e;
	}
	for (size_t j = 0; j < nadd; j++)
		env[k++] = (char *)add[j];
	env[k] = NULL;
	return env;
}

static void stream_close(struct stream *s)
{
	if (s->ev)
		event_del(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Read what is there: at most `reads` reads, or all of it when 0. */
static void stream_read(struct stream *s, int reads)
{
	char buf[65536];

	for (int i = 0; s->fd >= 0 && (!reads || i < reads); i++) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		if (n > 0) {
			size_t room = BACKEND_RUN_OUTPUT_MAX - s->buf->len;
			size_t keep = (size_t)n < room ? (size_t)n : room;
			strbuf_add(s->buf, buf, keep);
			if (keep < (size_t)n)
				*s->truncated = 1;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			stream_close(s);	/* end of file, or nothing more */
		}
	}
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stream_read(arg, READS_PER_WAKEUP);
}

static void run_free(struct backend_run *run)
{
	stream_close(&run->out);
	stream_close(&run->err);
	if (run->out.ev)
		event_free(run->out.ev);
	if (run->err.ev)
		event_free(run->err.ev);
	if (run->exit_ev)
		event_free(run->exit_ev);
	if (run->timer_ev)
		event_free(run->timer_ev);
	if (run->pidfd >= 0)
		close(run->pidfd);
	backend_result_release(&run->result);
	free(run);
}

static void collect(pid_t pid, struct backend_result *r)
{
	int status;
	pid_t got;

	do
		got = waitpid(pid, &status, 0);
	while (got < 0 && errno == EINTR);
	if (got != pid)
		return;
	if (WIFEXITED(status)) {
		r->exited = 1;
		r->status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		r->signal = WTERMSIG(status);
	}
}

/* The leader has exited and is not yet collected. */
static void finish(struct backend_run *run)
{
	kill(-run->pid, SIGKILL);	/* whatever it left in its group */
	stream_read(&run->out, 0);
	stream_read(&run->err, 0);
	collect(run->pid, &run->result);
	run->done(&run->result, run->arg);
	run_free(run);
}

static void on_exit_fd(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish(arg);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct backend_run *run = arg;
	siginfo_t si;

	(void)fd;
	(void)what;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)run->pid, &si,
		   WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0)
		return;			/* still running */
	finish(run);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct backend_run *run = arg;

	(void)fd;
	(void)what;
	if (run->stage == 0) {
		run->result.timed_out = 1;
		run->stage = 1;
		kill(-run->pid, SIGTERM);
		evtimer_add(run->timer_ev, &run->grace);
	} else if (run->stage == 1) {
		run->stage = 2;
		kill(-run->pid, SIGKILL);
	}
}

/* With SIGCHLD ignored the kernel collects children itself and their
 * exit status would be lost. */
static void sigchld_default(void)
{
	struct sigaction sa;

	if (sigaction(SIGCHLD, NULL, &sa) == 0 &&
	    (sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT))) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
	}
}

static int spawn(struct backend_run *run, char *const argv[], char **env,
		 int outw, int errw, struct err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int e;

	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_init(&fa);
	backend_spawnattr_group(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outw, 1);
	posix_spawn_file_actions_adddup2(&fa, errw, 2);
#ifdef HAVE_ADDCLOSEFROM
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	e = posix_spawnp(&run->pid, argv[0], &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e)
		return errprintf(err, "cannot run '%s': %s", argv[0], strerror(e));
	return 0;
}

static int watch(struct backend_run *run, const struct backend_run_opts *opts)
{
	struct timeval tv;

	run->pidfd = (int)syscall(SYS_pidfd_open, run->pid, 0);
	if (run->pidfd >= 0) {
		run->exit_ev = event_new(run->base, run->pidfd, EV_READ,
					 on_exit_fd, run);
		if (!run->exit_ev || event_add(run->exit_ev, NULL) < 0)
			return -1;
	} else {
		run->exit_ev = event_new(run->base, -1, EV_PERSIST, on_poll, run);
		ms_to_tv(POLL_MS, &tv);
		if (!run->exit_ev || event_add(run->exit_ev, &tv) < 0)
			return -1;
	}
	run->out.ev = event_new(run->base, run->out.fd, EV_READ | EV_PERSIST,
				on_read, &run->out);
	run->err.ev = event_new(run->base, run->err.fd, EV_READ | EV_PERSIST,
				on_read, &run->err);
	run->timer_ev = evtimer_new(run->base, on_timer, run);
	if (!run->out.ev || !run->err.ev || !run->timer_ev ||
	    event_add(run->out.ev, NULL) < 0 || event_add(run->err.ev, NULL) < 0)
		return -1;
	ms_to_tv(opts && opts->grace_ms ? opts->grace_ms : BACKEND_RUN_GRACE_MS,
		 &run->grace);
	if (opts && opts->timeout_ms) {
		ms_to_tv(opts->timeout_ms, &tv);
		if (evtimer_add(run->timer_ev, &tv) < 0)
			return -1;
	}
	return 0;
}

struct backend_run *backend_run_start(struct event_base *base,
				      char *const argv[],
				      const struct backend_run_opts *opts,
				      backend_run_fn done, void *arg,
				      struct err *err)
{
	struct backend_run *run;
	int outp[2], errp[2];
	char **env;

	if (!base || !argv || !argv[0] || !*argv[0] || !done) {
		errno = EINVAL;
		errprintf(err, "no command to run");
		return NULL;
	}
	run = calloc(1, sizeof(*run));
	if (!run) {
		errprintf(err, "cannot run '%s': %s", argv[0], strerror(ENOMEM));
		return NULL;
	}
	run->base = base;
	run->done = done;
	run->arg = arg;
	run->pidfd = -1;
	run->out.fd = run->err.fd = -1;
	strbuf_init(&run->result.out, 0);
	strbuf_init(&run->result.err, 0);
	run->out.buf = &run->result.out;
	run->out.truncated = &run->result.out_truncated;
	run->err.buf = &run->result.err;
	run->err.truncated = &run->result.err_truncated;

	env = build_env(opts ? opts->env : NULL, err);
	if (!env) {
		run_free(run);
		return NULL;
	}
	if (make_pipe(outp) < 0) {
		errprintf(err, "cannot run '%s': %s", argv[0], strerror(errno));
		free(env);
		run_free(run);
		return NULL;
	}
	if (make_pipe(errp) < 0) {
		errprintf(err, "cannot run '%s': %s", argv[0], strerror(errno));
		close(outp[0]);
		close(outp[1]);
		free(env);
		run_free(run);
		return NULL;
	}
	run->out.fd = outp[0];
	run->err.fd = errp[0];
	sigchld_default();
	int rc = spawn(run, argv, env, outp[1], errp[1], err);
	close(outp[1]);
	close(errp[1]);
	free(env);
	if (rc < 0) {
		run_free(run);
		return NULL;
	}
	if (watch(run, opts) < 0) {
		errprintf(err, "cannot watch '%s': out of memory", argv[0]);
		backend_run_cancel(run);
		return NULL;
	}
	return run;
}

void backend_run_cancel(struct backend_run *run)
{
	struct backend_result ignored;

	if (!run)
		return;
	kill(-run->pid, SIGKILL);
	memset(&ignored, 0, sizeof(ignored));
	collect(run->pid, &ignored);
	run_free(run);
}

struct sync_wait {
	struct backend_result *result;
};

static void sync_done(struct backend_result *r, void *arg)
{
	struct sync_wait *w = arg;

	*w->result = *r;		/* the buffers move over */
	strbuf_init(&r->out, 0);
	strbuf_init(&r->err, 0);
}

int backend_run_sync(char *const argv[], const struct backend_run_opts *opts,
		     struct backend_result *result, struct err *err)
{
	struct event_base *base = event_base_new();
	struct sync_wait w = { result };

	if (!base)
		return errprintf(err, "cannot run '%s': no event loop",
				 argv && argv[0] ? argv[0] : "");
	memset(result, 0, sizeof(*result));
	strbuf_init(&result->out, 0);
	strbuf_init(&result->err, 0);
	if (!backend_run_start(base, argv, opts, sync_done, &w, err)) {
		event_base_free(base);
		return -1;
	}
	event_base_dispatch(base);
	event_base_free(base);
	return 0;
}

void backend_spawnattr_group(posix_spawnattr_t *attr)
{
	sigset_t set;

	sigemptyset(&set);
	posix_spawnattr_setsigmask(attr, &set);
	sigfillset(&set);
	posix_spawnattr_setsigdefault(attr, &set);
	posix_spawnattr_setpgroup(attr, 0);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP |
				 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

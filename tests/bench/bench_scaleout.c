/*
 * bench_scaleout: the scheduler against N simulated workers, to see how
 * it scales out without N machines.  A forked child is the scheduler
 * (server_create, the same composition cluster-rank runs, without HTTP
 * or a state directory); this process plays N workers over N TCP
 * connections on 127.0.0.0/8, each doing the real handshake of
 * cluster-protocol(7) (HELLO, AUTH with the token's HMAC, WELCOME),
 * sending heartbeats, and answering every RUN with DONE at once, as a
 * worker in --bench-noop mode does (nothing is spawned).  For each N:
 *
 *   memory      the scheduler's resident size with N workers joined,
 *               less its size before any joined, per worker (VmRSS);
 *   heartbeats  the scheduler's CPU (utime + stime) while the N only
 *               exchange heartbeats, as a share of one core, over
 *               HB_WINDOW seconds or one heartbeat interval if longer.
 *               The simulated workers keep the interval the scheduler
 *               tells them, as cluster's worker does: worker.heartbeat
 *               (5 s, the default) scaled with N (server/heartbeat.h),
 *               and the window starts once every one keeps the interval
 *               for N;
 *   dispatch    an array of max(4N, 100,000) no-spawn tasks, from its
 *               submission to its last end, timed inside the scheduler,
 *               the median of DISPATCH_ROUNDS arrays (a shared machine's
 *               load comes and goes); against the same with 2 workers,
 *               measured first in the same run.
 *
 * Each simulated worker announces 1 core; the scheduler's prefetch is its
 * default.  The baseline is 2 such workers; 2 workers of 32 cores (the
 * rate with many tasks in flight per connection) are shown beside it.  The two processes need N descriptors each: RLIMIT_NOFILE is
 * raised to fit (a root process may raise the hard limit up to
 * fs.nr_open), and a size the machine cannot give is skipped with a
 * message.  Workers bind to 127.1.X.1, 25,000 a source address, so the
 * ephemeral ports of one address do not run out.
 *
 *	bench_scaleout [N...]	(default 1000 10000 65536)
 *
 * Last, the figures for 65,536 workers where the limit did not allow
 * them: memory per worker as at the largest size run (it falls with N),
 * heartbeat CPU as the cost of one heartbeat there times the rate the
 * rule gives 65,536, the scheduler's CPU per task on a least-squares line
 * through the sizes run, if it grows at all, and the dispatch rate
 * as at the largest size, slowed by as much as that CPU per task grows.
 * The scheduler's CPU per task is printed beside each rate because on a
 * small shared machine the rate also follows this process and whatever
 * else runs: the rate alone is too noisy to extrapolate.
 *
 * Figures only: nothing passes or fails on them.
 *
 * One file, over the usual size: the scheduler child, the
 * simulated workers and the readings of /proc are one measurement, and
 * none is used elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proto/proto.h"
#include "sched/sched.h"
#include "server/heartbeat.h"
#include "server/server.h"
#include "util/log.h"
#include "util/strbuf.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24	/* linux/in.h, Linux >= 4.2 */
#endif

#define TOKEN "5ca1e0075ca1e0075ca1e0075ca1e0075ca1e0075ca1e0075ca1e0075ca1e007"
#define HEARTBEAT_MS 5000
#define HB_WINDOW 10		/* seconds of heartbeats measured */
#define IN_HANDSHAKE 128	/* the scheduler takes 256 at once */
#define PER_ADDRESS 25000
#define DEFAULT_SIZES { 1000, 10000, 65536 }
#define GOAL_SIZE 65536		/* the size the goals name */
#define DISPATCH_ROUNDS 3

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the scheduler, in the child ------------------------------------------ */

struct sched_side {
	struct server *srv;
	struct event_base *base;
	int out;			/* answers to the parent */
	uint64_t want, ended;
	double t0;
};

static void on_ended(void *arg, task_id_t id)
{
	struct sched_side *s = arg;

	(void)id;
	if (s->want && ++s->ended == s->want) {
		dprintf(s->out, "D %.6f\n", now() - s->t0);
		s->want = 0;
	}
}

/* "S COUNT": submit an array of COUNT tasks; "Q": stop. */
static void on_command(evutil_socket_t fd, short what, void *arg)
{
	struct sched_side *s = arg;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	char *argv[] = { (char *)"true", NULL };
	struct task_spec spec = { .argv = argv, .cores = 1, .is_array = 1 };
	task_id_t first;
	uint64_t count;
	struct err err = { "" };

	(void)what;
	if (n <= 0 || buf[0] == 'Q') {
		event_base_loopbreak(s->base);
		return;
	}
	buf[n] = '\0';
	if (buf[0] != 'S')
		return;
	spec.array_first = 0;
	spec.array_last = (int64_t)strtoull(buf + 2, NULL, 10) - 1;
	s->want = (uint64_t)spec.array_last + 1;
	s->ended = 0;
	s->t0 = now();
	if (sched_submit(server_sched(s->srv), &spec, &first, &count, &err) < 0)
		dprintf(s->out, "E %s\n", err.text);
}

static int scheduler_main(int in, int out)
{
	struct sched_side s = { .out = out };
	struct server_config sc = {
		.bind = "127.0.0.1",
		.token = TOKEN,
		.heartbeat_ms = HEARTBEAT_MS,
	};
	struct err err = { "" };

	/* Joins and losses of thousands of workers are not the figures:
	 * errors come back through the pipe. */
	int null = open("/dev/null", O_WRONLY);
	if (null >= 0)
		dup2(null, 2);
	log_setup("bench_scaleout scheduler", 0);
	s.base = event_base_new();
	s.srv = s.base ? server_create(s.base, &sc, &err) : NULL;
	if (!s.srv) {
		dprintf(out, "E %s\n", err.text);
		return 1;
	}
	server_on_ended(s.srv, on_ended, &s);
	struct event *cmd = event_new(s.base, in, EV_READ | EV_PERSIST,
				      on_command, &s);
	event_add(cmd, NULL);
	dprintf(out, "P %u\n", (unsigned)server_port(s.srv));
	event_base_dispatch(s.base);
	event_free(cmd);
	server_destroy(s.srv);
	event_base_free(s.base);
	return 0;
}

/* --- the simulated workers, here ------------------------------------------- */

struct sim;

struct simw {
	struct sim *sim;
	struct bufferevent *bev;
	unsigned idx;
	int ready;
	unsigned told;			/* heartbeat interval it keeps, ms */
	double next_hb;
	uint8_t sn[PROTO_NONCE_SIZE], cn[PROTO_NONCE_SIZE];
};

struct sim {
	struct event_base *base;
	struct simw *w;
	unsigned n, cores, started, welcomed, lost, in_handshake;
	uint16_t port;
	struct strbuf out;		/* scratch for frames */
	uint64_t done_sent;
	uint64_t hb_sent, hb_heard;	/* heartbeats each way */
	char errtext[256];
};

/* Frames are collected while one read is handled and leave in one
 * send, straight to the socket when nothing waits before them (as the
 * scheduler's conn_write does): the simulated workers should cost this
 * process little, since it shares the machine with the scheduler. */
static void sim_queue(struct simw *w, const struct proto_msg *m)
{
	proto_encode(&w->sim->out, m);
}

static void sim_flush(struct simw *w)
{
	struct strbuf *out = &w->sim->out;
	const char *buf = out->buf;
	size_t len = out->len;

	if (!len || !w->bev)
		goto done;
	if (evbuffer_get_length(bufferevent_get_output(w->bev)) == 0) {
		ssize_t n = send(bufferevent_getfd(w->bev), buf, len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	if (len)
		bufferevent_write(w->bev, buf, len);
done:
	strbuf_reset(out);
}

static void sim_send(struct simw *w, const struct proto_msg *m)
{
	sim_queue(w, m);
	sim_flush(w);
}

static void sim_start_more(struct sim *s);

static void sim_drop(struct simw *w, const char *why)
{
	struct sim *s = w->sim;

	if (!w->bev)
		return;
	if (!s->errtext[0])
		snprintf(s->errtext, sizeof(s->errtext), "worker %u: %s",
			 w->idx, why);
	bufferevent_free(w->bev);
	w->bev = NULL;
	if (!w->ready) {
		s->in_handshake--;
		sim_start_more(s);
	}
	s->lost++;
}

static void on_frame(struct simw *w, struct proto_msg *m)
{
	struct sim *s = w->sim;
	struct proto_msg r = { 0 };
	char name[32];

	switch (m->type) {
	case PROTO_HELLO:
		memcpy(w->sn, m->u.hello.nonce, sizeof(w->sn));
		proto_random(w->cn, sizeof(w->cn));
		r.type = PROTO_AUTH;
		memcpy(r.u.auth.nonce, w->cn, sizeof(w->cn));
		proto_mac(TOKEN, "worker", w->sn, w->cn, r.u.auth.mac);
		snprintf(name, sizeof(name), "sim:%u", w->idx);
		r.u.auth.name = name;
		r.u.auth.host = (char *)"sim";
		r.u.auth.pid = (uint32_t)getpid();
		r.u.auth.cores = s->cores;
		r.u.auth.memory = (uint64_t)1 << 30;
		r.u.auth.job_id = (char *)"";
		r.u.auth.job_index = -1;
		sim_queue(w, &r);
		break;
	case PROTO_WELCOME:
		w->ready = 1;
		w->told = m->u.welcome.heartbeat_ms;
		w->next_hb = now() + w->told / 1000.0;
		s->welcomed++;
		s->in_handshake--;
		sim_start_more(s);
		break;
	case PROTO_RUN:
		r.type = PROTO_DONE;
		r.u.done.task_id = m->u.run.task_id;
		r.u.done.reason = (char *)"";
		sim_queue(w, &r);
		s->done_sent++;
		break;
	case PROTO_SHUTDOWN:
		sim_drop(w, "shut down");
		break;
	case PROTO_HEARTBEAT:
		s->hb_heard++;
		if (!m->u.heartbeat.interval_ms ||
		    m->u.heartbeat.interval_ms == w->told)
			break;
		/* as cluster's worker: keep it, say so at once, and take a
		 * phase by id for the next one */
		w->told = m->u.heartbeat.interval_ms;
		r.type = PROTO_HEARTBEAT;
		r.u.heartbeat.time_ms = (uint64_t)(now() * 1000);
		r.u.heartbeat.interval_ms = w->told;
		sim_queue(w, &r);
		w->next_hb = now() + (1 + (unsigned)((w->idx * 2654435761u) %
						    w->told)) / 1000.0;
		break;
	default:
		break;			/* kills: nothing to do */
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct simw *w = arg;
	struct proto_msg m;
	struct err err = { "" };
	int rc;

	while ((rc = proto_read(bufferevent_get_input(bev), PROTO_MAX_FRAME,
				&m, &err)) == 1) {
		on_frame(w, &m);
		proto_msg_release(&m);
		if (!w->bev) {
			strbuf_reset(&w->sim->out);
			return;
		}
	}
	sim_flush(w);
	if (rc < 0)
		sim_drop(w, err.text);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		sim_drop(arg, what & BEV_EVENT_EOF ? "connection closed" :
			 strerror(EVUTIL_SOCKET_ERROR()));
}

static int sim_connect(struct sim *s, struct simw *w)
{
	struct sockaddr_in local = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* 127.1.X.1: a source address per PER_ADDRESS workers */
	local.sin_addr.s_addr = htonl(0x7f010001u | (w->idx / PER_ADDRESS) << 8);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(s->port);
	/* The port is picked at connect, for the whole 4-tuple: a bind
	 * that picks it searches the ports in use, slower as they fill. */
	int one = 1;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		close(fd);
		return -1;
	}
	w->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!w->bev) {
		close(fd);
		return -1;
	}
	bufferevent_setcb(w->bev, on_read, NULL, on_event, w);
	bufferevent_enable(w->bev, EV_READ);
	if (bufferevent_socket_connect(w->bev, (struct sockaddr *)&to,
				       sizeof(to)) < 0) {
		bufferevent_free(w->bev);
		w->bev = NULL;
		return -1;
	}
	return 0;
}

static void sim_start_more(struct sim *s)
{
	while (s->started < s->n && s->in_handshake < IN_HANDSHAKE) {
		struct simw *w = &s->w[s->started];
		w->sim = s;
		w->idx = s->started++;
		if (sim_connect(s, w) < 0) {
			if (!s->errtext[0])
				snprintf(s->errtext, sizeof(s->errtext),
					 "worker %u: cannot connect: %s", w->idx,
					 strerror(errno));
			s->lost++;
			continue;
		}
		s->in_handshake++;
	}
}

/* Each worker once its interval is up (a look at all of them every
 * 100 ms costs this process, not the scheduler). */
static void on_heartbeat_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	struct proto_msg m = { .type = PROTO_HEARTBEAT };
	double t = now();

	(void)fd;
	(void)what;
	m.u.heartbeat.time_ms = (uint64_t)(t * 1000);
	for (unsigned i = 0; i < s->started; i++) {
		struct simw *w = &s->w[i];
		if (!w->bev || !w->ready || t < w->next_hb)
			continue;
		m.u.heartbeat.interval_ms = w->told;
		sim_send(w, &m);
		s->hb_sent++;
		w->next_hb += w->told / 1000.0;
		if (w->next_hb < t)
			w->next_hb = t + w->told / 1000.0;
	}
}

/* Run the loop until `done` says so or `seconds` pass. */
static void loop_until(struct sim *s, int (*done)(struct sim *), double seconds)
{
	double end = now() + seconds;

	while (!done(s) && now() < end)
		event_base_loop(s->base, EVLOOP_ONCE);
}

static int all_joined(struct sim *s)
{
	return s->welcomed + s->lost >= s->n;
}

static int never(struct sim *s)
{
	(void)s;
	return 0;
}

static unsigned want_ms;		/* the interval the rule gives N */

static int keep_it(struct sim *s)
{
	for (unsigned i = 0; i < s->started; i++)
		if (s->w[i].bev && s->w[i].ready && s->w[i].told != want_ms)
			return 0;
	return 1;
}

/* keep_it, looking at all of them ten times a second, not every turn */
static int all_keep_it(struct sim *s)
{
	static double last;

	if (now() - last < 0.1)
		return 0;
	last = now();
	return keep_it(s);
}

/* --- the child, seen from here ---------------------------------------------- */

static long child_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static double child_cpu(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* A line from the child: "P port", "D seconds", "E text". */
static int child_line(FILE *in, char *line, size_t size)
{
	if (!fgets(line, (int)size, in))
		return -1;
	line[strcspn(line, "\n")] = '\0';
	return 0;
}

struct result {
	unsigned n;
	double kb_per_worker, hb_core, rate;
	unsigned interval_ms;		/* the heartbeat interval for n */
	double hb_in, hb_out;		/* heartbeats a second, measured */
	double sched_us, sim_us;	/* CPU per task dispatched */
	int ok;
};

/* Dispatch `tasks` no-spawn tasks through the joined workers. */
static void on_answer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

static double dispatch(struct sim *s, FILE *from, int to, uint64_t tasks)
{
	char line[300];
	int answered = 0;
	/* The loop runs the workers; the child's answer ends it.  It
	 * sleeps in the loop's wait meanwhile: a spin here would take the
	 * core the scheduler needs on a small machine. */
	struct event *ans = event_new(s->base, fileno(from), EV_READ,
				      on_answer, &answered);

	event_add(ans, NULL);
	dprintf(to, "S %" PRIu64 "\n", tasks);
	while (!answered && !s->lost)
		event_base_loop(s->base, EVLOOP_ONCE);
	event_free(ans);
	if (s->lost) {
		fprintf(stderr, "bench_scaleout: %s\n", s->errtext);
		return -1;
	}
	if (child_line(from, line, sizeof(line)) < 0 || line[0] != 'D') {
		fprintf(stderr, "bench_scaleout: scheduler: %s\n", line);
		return -1;
	}
	return (double)tasks / strtod(line + 2, NULL);
}

static int run_size(unsigned n, unsigned cores, int measure,
		    struct result *res)
{
	int to_child[2], from_child[2];
	char line[300];
	struct sim s = { .n = n, .cores = cores };
	pid_t pid;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->n = n;
	if (pipe(to_child) < 0 || pipe(from_child) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(to_child[1]);
		close(from_child[0]);
		_exit(scheduler_main(to_child[0], from_child[1]));
	}
	close(to_child[0]);
	close(from_child[1]);
	FILE *from = fdopen(from_child[0], "r");
	if (child_line(from, line, sizeof(line)) < 0 || line[0] != 'P') {
		fprintf(stderr, "bench_scaleout: the scheduler did not start: %s\n",
			line);
		goto out;
	}
	s.port = (uint16_t)atoi(line + 2);
	s.base = event_base_new();
	s.w = calloc(n, sizeof(*s.w));
	strbuf_init(&s.out, 0);
	struct event *hb = event_new(s.base, -1, EV_PERSIST, on_heartbeat_tick, &s);
	struct timeval tick = { 0, 100000 };
	event_add(hb, &tick);

	usleep(200000);
	long rss0 = child_rss_kb(pid);
	double t0 = now();
	sim_start_more(&s);
	loop_until(&s, all_joined, 120 + n / 500.0);
	if (s.welcomed < n) {
		fprintf(stderr, "bench_scaleout: %u of %u workers joined in %.0f s%s%s\n",
			s.welcomed, n, now() - t0, s.errtext[0] ? ": " : "",
			s.errtext);
		goto out_sim;
	}
	double join_s = now() - t0;
	loop_until(&s, never, 1.0);
	long rss1 = child_rss_kb(pid);
	res->kb_per_worker = (double)(rss1 - rss0) / n;
	if (measure) {
		want_ms = heartbeat_interval(HEARTBEAT_MS, 0, n, 0);
		res->interval_ms = want_ms;
		loop_until(&s, all_keep_it, 4.0 * want_ms / 1000 + 60);
		if (!keep_it(&s)) {
			fprintf(stderr, "bench_scaleout: the %u workers were not "
				"all told the %u ms interval in time\n", n, want_ms);
			goto out_sim;
		}
		double window = want_ms / 1000.0 > HB_WINDOW ?
			want_ms / 1000.0 : HB_WINDOW;
		uint64_t in0 = s.hb_sent, out0 = s.hb_heard;
		double c0 = child_cpu(pid), w0 = now();
		loop_until(&s, never, window);
		double took = now() - w0;
		res->hb_core = (child_cpu(pid) - c0) / took;
		res->hb_in = (double)(s.hb_sent - in0) / took;
		res->hb_out = (double)(s.hb_heard - out0) / took;
	}
	uint64_t tasks = 4ull * n > 100000 ? 4ull * n : 100000;
	double rates[DISPATCH_ROUNDS];
	double cpu0 = child_cpu(pid), here0 = own_cpu();
	for (int k = 0; k < DISPATCH_ROUNDS; k++) {
		rates[k] = dispatch(&s, from, to_child[1], tasks);
		if (rates[k] < 0)
			goto out_sim;
		for (int j = k; j > 0 && rates[j] < rates[j - 1]; j--) {
			double x = rates[j];
			rates[j] = rates[j - 1];
			rates[j - 1] = x;
		}
	}
	res->rate = rates[DISPATCH_ROUNDS / 2];
	/* where the time goes: the scheduler's CPU and this process's */
	res->sched_us = (child_cpu(pid) - cpu0) * 1e6 / (DISPATCH_ROUNDS * tasks);
	res->sim_us = (own_cpu() - here0) * 1e6 / (DISPATCH_ROUNDS * tasks);
	printf("  %6u workers of %u core%s: joined in %.1f s; scheduler RSS "
	       "%ld -> %ld KiB; %d x %" PRIu64 " tasks, %.0f to %.0f tasks/s, "
	       "CPU per task %.1f us in the scheduler, %.1f us in the "
	       "simulated workers\n",
	       n, cores, cores == 1 ? "" : "s", join_s, rss0, rss1,
	       DISPATCH_ROUNDS, tasks, rates[0], rates[DISPATCH_ROUNDS - 1],
	       res->sched_us, res->sim_us);
	res->ok = 1;
	rc = 0;
out_sim:
	for (unsigned i = 0; i < s.started; i++)
		if (s.w[i].bev)
			bufferevent_free(s.w[i].bev);
	event_free(hb);
	free(s.w);
	strbuf_release(&s.out);
	event_base_free(s.base);
out:
	dprintf(to_child[1], "Q\n");
	close(to_child[1]);
	fclose(from);
	waitpid(pid, NULL, 0);
	return rc;
}

/* The goals' figures for GOAL_SIZE workers from the sizes run (see the
 * top of the file for how). */
static void extrapolate(const struct result *runs, unsigned nrun,
			const struct result *base)
{
	const struct result *big = &runs[nrun - 1];
	unsigned iv = heartbeat_interval(HEARTBEAT_MS, 0, GOAL_SIZE, 0);
	double per_s = (double)GOAL_SIZE * 1000.0 / iv;	/* each way */
	double per_hb = big->hb_in + big->hb_out > 0 ?
		big->hb_core / (big->hb_in + big->hb_out) : 0;
	double cpu = big->sched_us;

	if (nrun > 1) {
		/* a least-squares line through every size: a second or two of
		 * CPU each is noisy, and the gap to 65,536 magnifies it */
		double mn = 0, mc = 0, sxy = 0, sxx = 0;
		for (unsigned k = 0; k < nrun; k++) {
			mn += runs[k].n / (double)nrun;
			mc += runs[k].sched_us / nrun;
		}
		for (unsigned k = 0; k < nrun; k++) {
			sxy += (runs[k].n - mn) * (runs[k].sched_us - mc);
			sxx += (runs[k].n - mn) * (runs[k].n - mn);
		}
		double slope = sxx > 0 ? sxy / sxx : 0;
		double at = mc + slope * ((double)GOAL_SIZE - mn);
		if (slope > 0 && at > cpu)
			cpu = at;
	}
	/* the rate as at the largest size, slowed as the scheduler's CPU
	 * per task grows */
	double t = cpu / big->sched_us / big->rate;
	printf("  %6u workers, extrapolated from %u: %.1f KiB of scheduler "
	       "memory per worker (target < 16); heartbeats every %g s, "
	       "%.0f/s each way, %.2f%% of a core (target < 5%%); dispatch "
	       "%.0f tasks/s, the 2-worker rate %.2fx it (target at most 2); "
	       "the scheduler's CPU per task %.1f us, %.2fx the 2-worker one\n",
	       GOAL_SIZE, big->n, big->kb_per_worker, iv / 1000.0, per_s,
	       100 * per_hb * 2 * per_s, 1.0 / t, base->rate * t, cpu,
	       cpu / base->sched_us);
}

/* The descriptors N workers need here and in the scheduler, with room. */
static rlim_t fds_for(unsigned n)
{
	return (rlim_t)n + 512;
}

int main(int argc, char **argv)
{
	unsigned sizes[64], nsizes = 0, biggest = 2;
	struct rlimit rl;
	struct result base, wide, r, runs[64];
	unsigned nrun = 0;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc && nsizes < 64; i++) {
		unsigned long v = strtoul(argv[i], NULL, 10);
		if (v < 1 || v > 1000000) {
			fprintf(stderr, "usage: bench_scaleout [N...] (1 <= N <= 1000000)\n");
			return 2;
		}
		sizes[nsizes++] = (unsigned)v;
	}
	if (!nsizes) {
		unsigned def[] = DEFAULT_SIZES;
		for (unsigned i = 0; i < sizeof(def) / sizeof(def[0]); i++)
			sizes[nsizes++] = def[i];
	}
	for (unsigned i = 0; i < nsizes; i++)
		if (sizes[i] > biggest)
			biggest = sizes[i];

	/* Each process holds its own N descriptors; the child inherits the
	 * limit set here. */
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t was = rl.rlim_cur, want = fds_for(biggest);
	const char *why = NULL;
	if (rl.rlim_cur < want) {
		struct rlimit up = { want, rl.rlim_max > want ? rl.rlim_max : want };
		if (setrlimit(RLIMIT_NOFILE, &up) < 0) {
			why = errno == EPERM ? "its hard limit cannot be raised "
				"here (no CAP_SYS_RESOURCE)" : strerror(errno);
			up.rlim_cur = up.rlim_max = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &up);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur > was)
			printf("descriptor limit (RLIMIT_NOFILE) raised from %llu "
			       "to %llu, for up to %u connections in each process\n",
			       (unsigned long long)was,
			       (unsigned long long)rl.rlim_cur, biggest);
		if (why)
			printf("descriptor limit %llu: %u connections in each "
			       "process need %llu, and %s\n",
			       (unsigned long long)rl.rlim_cur, biggest,
			       (unsigned long long)want, why);
	}

	printf("scale-out: simulated workers of 1 core over TCP on 127.0.0.0/8, "
	       "heartbeat %d s, no-spawn tasks\n", HEARTBEAT_MS / 1000);
	/* The baseline has the shape of the workers measured (1 core: each
	 * runs 1 task and holds the prefetched ones, up to 64 of these
	 * no-spawn tasks); 2 workers of 32 cores are shown beside it. */
	if (run_size(2, 1, 0, &base) < 0 || run_size(2, 32, 0, &wide) < 0) {
		fprintf(stderr, "bench_scaleout: the 2-worker baseline failed\n");
		return 1;
	}
	printf("  baseline: 2 workers of 1 core dispatch %.0f tasks/s (of 32 "
	       "cores: %.0f tasks/s)\n", base.rate, wide.rate);
	/* The most the limit allows, in thousands, stands in for the
	 * sizes it does not. */
	unsigned fit = rl.rlim_cur > 1512 ?
		(unsigned)((rl.rlim_cur - 512) / 1000 * 1000) : 0;
	int fit_run = 0;
	for (unsigned i = 0; i < nsizes; i++) {
		if (fds_for(sizes[i]) > rl.rlim_cur) {
			printf("  %6u workers: skipped: %llu descriptors needed, "
			       "the limit is %llu%s\n", sizes[i],
			       (unsigned long long)fds_for(sizes[i]),
			       (unsigned long long)rl.rlim_cur,
			       fit && !fit_run ? "; the most it allows instead" : "");
			if (!fit || fit_run)
				continue;
			fit_run = 1;
			sizes[i] = fit;
		}
		if (run_size(sizes[i], 1, 1, &r) < 0) {
			printf("  %6u workers: failed (above)\n", sizes[i]);
			continue;
		}
		printf("  %6u workers: %.1f KiB of scheduler memory per worker "
		       "(target < 16); heartbeats every %g s, %.0f/s in and "
		       "%.0f/s out, %.2f%% of a core (target < 5%%); "
		       "dispatch %.0f tasks/s, the 2-worker rate %.2fx it "
		       "(target at most 2), the 32-core one %.2fx; the "
		       "scheduler's CPU per task %.2fx the 2-worker one\n", r.n,
		       r.kb_per_worker, r.interval_ms / 1000.0, r.hb_in,
		       r.hb_out, 100 * r.hb_core, r.rate,
		       base.rate / r.rate, wide.rate / r.rate,
		       r.sched_us / base.sched_us);
		if (nrun && r.n <= runs[nrun - 1].n)
			continue;		/* sizes in rising order only */
		runs[nrun++] = r;
	}
	if (nrun && runs[nrun - 1].n < GOAL_SIZE)
		extrapolate(runs, nrun, &base);
	return 0;
}

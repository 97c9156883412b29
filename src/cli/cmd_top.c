/*
 * top: the dashboard in the terminal, and the dashboard's link that
 * `cluster start` and `cluster status` print.
 *
 * `cluster top` draws one frame every -d seconds from what the client
 * library reads (counters, workers, the pool's status), each a few small
 * requests whatever the cluster holds.  On a terminal it redraws in place
 * and reads keys (w workers, j jobs, q quit); otherwise, and with
 * --once, it prints plain frames one after the other.
 *
 * The link carries the token in its fragment (#token=...), which a
 * browser never sends to a server, proxies included: the page reads it
 * once and keeps it in the tab.
 */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster/client.h"
#include "dashboard/link.h"
#include "state/state.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/units.h"

struct top_args {
	int once;
	uint64_t delay;
	int delay_seen;
	int jobs;
};

static const struct opt top_options[] = {
	OPT_FLAG("once", 0, "print one frame and exit", struct top_args, once),
	OPT_COUNT("delay", 'd', "SECS", "redraw every SECS seconds (2)",
		  struct top_args, delay, 1, 3600,
		  .seen = OPT_SEEN(struct top_args, delay_seen)),
	OPT_FLAG("jobs", 0, "list the pool's jobs, not the workers",
		 struct top_args, jobs),
	OPT_END,
};

static int cmd_top(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_top_entry = {
	.name = "top",
	.exec = cmd_top,
	.summary = "watch workers, jobs and tasks in the terminal",
	.options = top_options,
	.opts_size = sizeof(struct top_args),
};

/* The configuration as the command line gives it, without a word on
 * stderr when it cannot be read: the link then is the direct one. */
static struct config *quiet_config(const struct cli_globals *g)
{
	struct err err = { "" };

	return cli_load_config_err(g, &err);
}

static const char *env_of(const char *name)
{
	return getenv(name);
}

int cli_print_dashboard(const struct cli_globals *g, const char *host,
			unsigned port)
{
	struct strbuf dir = STRBUF_INIT, link = STRBUF_INIT;
	struct config *cfg;
	struct err err = { "" };
	unsigned wanted = 0;
	char token[65];
	int rc = 0;

	if (!port || !host || state_dir(g->name, 0, &dir, NULL) < 0 ||
	    state_token(dir.buf, 0, token, NULL) < 0) {
		strbuf_release(&dir);
		return 0;
	}
	cfg = quiet_config(g);
	if (cfg)
		wanted = (unsigned)config_get_num(cfg, "scheduler.http-port");
	if (dashboard_link(&link, cfg ? config_get_str(cfg, "dashboard.link") :
			   NULL, host, port, env_of, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		dashboard_link(&link, NULL, host, port, env_of, NULL);
		rc = -1;
	}
	/* The fragment, which no browser sends to a server or a proxy. */
	printf("%-11s %s%ctoken=%s\n", "dashboard", link.buf,
	       strchr(link.buf, '#') ? '&' : '#', token);
	if (wanted && wanted != port)
		printf("%-11s port %u (scheduler.http-port) was taken: the "
		       "scheduler took port %u\n", "", wanted, port);
	config_destroy(cfg);
	strbuf_release(&link);
	strbuf_release(&dir);
	return rc;
}

/* ---- one frame ------------------------------------------------------------ */

struct frame {
	struct strbuf out;		/* the frame */
	struct strbuf list;		/* its list of workers or jobs */
	unsigned rows;			/* room for the list; 0: no limit */
	int jobs;			/* list jobs rather than workers */
	uint64_t memory, memory_used;
	unsigned listed, workers;
};

/* What the last frame saw, for the rate of tasks ending. */
static uint64_t last_ended;
static double last_time;

static const char *jstr(json_t *o, const char *key);

static uint64_t jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
	return json_is_real(v) && json_real_value(v) > 0 ?
		(uint64_t)json_real_value(v) : 0;
}

/* One worker of GET /api/v1/workers, as JSON for the fields the client
 * library's struct does not carry (host, job, walltime, draining). */
static int add_worker(const char *text, void *arg)
{
	struct frame *f = arg;
	struct strbuf mem = STRBUF_INIT, job = STRBUF_INIT, left = STRBUF_INIT;
	json_t *w = json_loads(text, 0, NULL);
	char cores[32];

	if (!json_is_true(json_object_get(w, "alive"))) {
		json_decref(w);
		return 0;
	}
	f->workers++;
	f->memory += jnum(w, "memory");
	f->memory_used += jnum(w, "memory_used");
	if (f->jobs || (f->rows && f->listed >= f->rows)) {
		json_decref(w);
		return 0;
	}
	f->listed++;
	snprintf(cores, sizeof(cores), "%" PRIu64 "/%" PRIu64,
		 jnum(w, "cores_used"), jnum(w, "cores"));
	size_format(&mem, jnum(w, "memory_used"));
	strbuf_addstr(&mem, " / ");
	size_format(&mem, jnum(w, "memory"));
	if (json_is_string(json_object_get(w, "job"))) {
		strbuf_addstr(&job, jstr(w, "job"));
		if (json_integer_value(json_object_get(w, "job_index")) >= 0)
			strbuf_addf(&job, "[%lld]", (long long)json_integer_value(
				json_object_get(w, "job_index")));
	}
	if (json_is_number(json_object_get(w, "walltime_left")))
		duration_format_hms(&left, jnum(w, "walltime_left"));
	strbuf_addf(&f->list, "%-5lld %-22s %-14s %-12s %-7s %-21s %-7" PRIu64
		    " %-7" PRIu64 " %-9s%s",
		    (long long)json_integer_value(json_object_get(w, "id")),
		    jstr(w, "name"), json_is_string(json_object_get(w, "host")) ?
		    jstr(w, "host") : "-", job.len ? job.buf : "-", cores, mem.buf,
		    jnum(w, "running"), jnum(w, "done"), left.len ? left.buf : "-",
		    json_is_true(json_object_get(w, "draining")) ? " draining" : "");
	strbuf_rtrim(&f->list);
	strbuf_addch(&f->list, '\n');
	strbuf_release(&mem);
	strbuf_release(&job);
	strbuf_release(&left);
	json_decref(w);
	return 0;
}

/* A sum of seconds, in milliseconds below one: spawn and output take a
 * few milliseconds a task. */
static void add_seconds(struct strbuf *sb, double secs)
{
	if (secs <= 0)
		strbuf_addstr(sb, " 0 s");
	else if (secs < 0.9995)		/* not "1e+03 ms" */
		strbuf_addf(sb, " %.3g ms", secs * 1e3);
	else
		strbuf_addf(sb, secs < 100 ? " %.2f s" : " %.0f s", secs);
}

/* The dashboard's time per action: seconds summed over the runs, in the
 * order the scheduler gives (queue wait, dispatch, spawn, run, output). */
static void add_actions(struct strbuf *sb, cluster_client_t *c)
{
	char *text = cluster_actions_json(c, NULL);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	json_t *a = json_object_get(j, "actions"), *v;
	const char *k;
	int n = 0;

	free(text);
	if (!json_is_object(a)) {
		json_decref(j);
		return;
	}
	strbuf_addstr(sb, "actions  ");
	json_object_foreach(a, k, v) {
		double secs = json_number_value(json_object_get(v, "seconds"));
		strbuf_addstr(sb, n++ ? ", " : " ");
		for (const char *p = k; *p; p++)
			strbuf_addch(sb, *p == '_' ? ' ' : *p);
		add_seconds(sb, secs);
	}
	v = json_object_get(a, "run");
	if (json_is_object(v))
		strbuf_addf(sb, " (%" PRIu64 " runs)", jnum(v, "runs"));
	strbuf_addch(sb, '\n');
	json_decref(j);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void add_jobs(struct frame *f, json_t *jobs)
{
	size_t i;
	json_t *j;

	strbuf_addf(&f->list, "%-16s %-10s %-9s %-12s %s\n", "JOB", "STATE",
		    "WORKERS", "WALLTIME", "REASON");
	json_array_foreach(jobs, i, j) {
		struct strbuf id = STRBUF_INIT, left = STRBUF_INIT;
		json_t *wl = json_object_get(j, "walltime_left");
		char workers[32];
		if (f->rows && f->listed >= f->rows)
			break;
		f->listed++;
		strbuf_addstr(&id, jstr(j, "id"));
		if (json_integer_value(json_object_get(j, "index")) >= 0)
			strbuf_addf(&id, "[%lld]", (long long)json_integer_value(
				json_object_get(j, "index")));
		if (json_is_number(wl))
			duration_format_hms(&left, (uint64_t)json_number_value(wl));
		snprintf(workers, sizeof(workers), "%lld/%lld",
			 (long long)json_integer_value(json_object_get(j, "joined")),
			 (long long)json_integer_value(json_object_get(j, "expected")));
		strbuf_addf(&f->list, "%-16s %-10s %-9s %-12s %s\n", id.buf,
			    jstr(j, "state"), workers, left.len ? left.buf : "-",
			    jstr(j, "reason"));
		strbuf_release(&id);
		strbuf_release(&left);
	}
	if (!json_array_size(jobs))
		strbuf_addstr(&f->list, "(no jobs)\n");
}

/* The pool's line: target, actual, jobs by state, the next walltime end;
 * and the journal's while it cannot be written. */
static void add_pool(struct strbuf *sb, json_t *st)
{
	json_t *jobs = json_object_get(st, "jobs"), *j;
	const char *names[16];
	unsigned counts[16], n = 0;
	double next = -1;
	size_t i;

	strbuf_addf(sb, "pool      target %lld, %lld joined; jobs:",
		    (long long)json_integer_value(json_object_get(st, "target")),
		    (long long)json_integer_value(json_object_get(st, "actual")));
	json_array_foreach(jobs, i, j) {
		const char *s = jstr(j, "state");
		unsigned k = 0;
		json_t *wl = json_object_get(j, "walltime_left");
		while (k < n && strcmp(names[k], s))
			k++;
		if (k == n && n < 16) {
			names[n] = s;
			counts[n++] = 0;
		}
		if (k < n)
			counts[k]++;
		if (json_is_number(wl) && (next < 0 || json_number_value(wl) < next))
			next = json_number_value(wl);
	}
	for (unsigned k = 0; k < n; k++)
		strbuf_addf(sb, "%s %u %s", k ? "," : "", counts[k], names[k]);
	if (!n)
		strbuf_addstr(sb, " none");
	if (next >= 0) {
		strbuf_addstr(sb, "; next walltime end in ");
		duration_format_hms(sb, (uint64_t)next);
	}
	if (json_is_string(json_object_get(st, "paused")))
		strbuf_addf(sb, "; paused: %s", jstr(st, "paused"));
	strbuf_addch(sb, '\n');
	json_t *jn = json_object_get(json_object_get(st, "scheduler"), "journal");
	if (json_is_string(json_object_get(jn, "error")))
		strbuf_addf(sb, "journal   FAILING: %s\n", jstr(jn, "error"));
}

static int draw(cluster_client_t *c, struct frame *f, const char *name)
{
	struct cluster_counters cn;
	struct strbuf head = STRBUF_INIT, size = STRBUF_INIT, total = STRBUF_INIT;
	char *text, when[32];
	json_t *st = NULL;
	time_t now = time(NULL);
	double t = clock_monotonic();
	uint64_t ended;

	if (cluster_counters(c, &cn) < 0)
		return -1;
	text = cluster_pool_status_json(c, NULL);
	if (text)
		st = json_loads(text, 0, NULL);
	free(text);
	if (!f->jobs)
		strbuf_addf(&f->list, "%-5s %-22s %-14s %-12s %-7s %-21s %-7s %-7s "
			    "%s\n", "ID", "NAME", "HOST", "JOB", "CORES", "MEMORY",
			    "RUNNING", "DONE", "WALLTIME");
	if (cluster_workers_json(c, add_worker, f) < 0) {
		json_decref(st);
		return -1;
	}
	if (f->jobs)
		add_jobs(f, json_object_get(st, "jobs"));
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	strbuf_addf(&head, "cluster '%s' at %s, up ", name, when);
	duration_format_hms(&head, (uint64_t)cn.uptime);
	strbuf_addf(&head, "\nworkers   %u joined", f->workers);
	if (json_is_object(st))
		strbuf_addf(&head, ", %lld expected",
			    (long long)json_integer_value(json_object_get(st, "target")));
	strbuf_addf(&head, "\ncores     %" PRIu64 " of %" PRIu64 " in use\n",
		    cn.cores_used, cn.cores);
	size_format(&size, f->memory_used);
	size_format(&total, f->memory);
	strbuf_addf(&head, "memory    %s of %s reserved\n", size.buf, total.buf);
	if (json_is_object(st))
		add_pool(&head, st);
	strbuf_addf(&head, "tasks     %" PRIu64 " waiting, %" PRIu64 " queued, %"
		    PRIu64 " running, %" PRIu64 " done, %" PRIu64 " failed, %"
		    PRIu64 " cancelled", cn.state[0], cn.state[1], cn.state[2],
		    cn.state[3], cn.state[4], cn.state[5]);
	ended = cn.state[3] + cn.state[4] + cn.state[5];
	if (last_time > 0 && t > last_time)
		strbuf_addf(&head, "; %.1f/s ending",
			    (double)(ended - (ended >= last_ended ? last_ended : ended)) /
			    (t - last_time));
	strbuf_addch(&head, '\n');
	add_actions(&head, c);
	strbuf_addch(&head, '\n');
	last_ended = ended;
	last_time = t;
	strbuf_addstr(&f->out, head.buf);
	strbuf_addstr(&f->out, f->list.buf);
	strbuf_release(&head);
	strbuf_release(&size);
	strbuf_release(&total);
	json_decref(st);
	return 0;
}

/* ---- the terminal --------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned screen_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row < 12)
		return 12;
	return ws.ws_row;
}

static int cmd_top(int argc, char **argv, void *opts, struct cli_globals *g)
{
	struct top_args *a = opts;
	int tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && !a->once;
	double delay = a->delay_seen ? (double)a->delay : 2;
	struct termios saved, raw;
	cluster_client_t *c;
	int rc = 0, jobs = a->jobs;

	if (argc > 0)
		return cli_usage_error(&cmd_top_entry, "unexpected argument '%s'",
				       argv[0]);
	c = cli_open_client(g);
	if (!c)
		return 1;
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fputs("\033[?25l", stdout);		/* hide the cursor */
	} else {
		tty = 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		struct frame f = { .out = STRBUF_INIT, .list = STRBUF_INIT,
				   .jobs = jobs,
				   .rows = tty ? screen_rows() - 11 : 0 };
		if (draw(c, &f, g->name) < 0) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			strbuf_release(&f.out);
			strbuf_release(&f.list);
			rc = 1;
			break;
		}
		if (tty)
			fputs("\033[H\033[2J", stdout);
		fputs(f.out.buf, stdout);
		if (tty)
			fputs("\n[w] workers  [j] jobs  [q] quit", stdout);
		else if (!a->once)
			fputc('\n', stdout);
		fflush(stdout);
		strbuf_release(&f.out);
		strbuf_release(&f.list);
		if (a->once)
			break;
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		double until = clock_monotonic() + delay;
		for (double left = delay; left > 0 && !stop;
		     left = until - clock_monotonic()) {
			char k;
			if (!tty) {
				struct timespec ts = { (time_t)left,
					(long)((left - (double)(time_t)left) * 1e9) };
				nanosleep(&ts, NULL);
				break;
			}
			if (poll(&p, 1, (int)(left * 1000) + 1) <= 0 ||
			    read(STDIN_FILENO, &k, 1) != 1)
				continue;
			if (k == 'q' || k == 'Q')
				stop = 1;
			else if (k == 'w' || k == 'j') {
				jobs = k == 'j';
				break;
			}
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fputs("\033[?25h\n", stdout);
	}
	cluster_client_close(c);
	return rc;
}

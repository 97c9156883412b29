/*
 * cluster worker: one worker process (started by a nanny, or by hand).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/log.h"
#include "state/state.h"
#include "util/strbuf.h"
#include "worker/worker.h"

struct worker_args {
	const char *connect;
	const char *name;
	uint64_t cores;
	uint64_t memory;
	const char *gpus;
	const char *token_file;
	int bench_noop;
};

/* --name is the worker's own here; the cluster's --name comes before
 * "worker". */
static const struct opt worker_options[] = {
	OPT_STRING("connect", 0, "HOST:PORT",
		   "the scheduler (default: the state directory's address)",
		   struct worker_args, connect),
	OPT_STRING("name", 0, "NAME", "the worker's name in the scheduler's lists",
		   struct worker_args, name),
	OPT_COUNT("cores", 0, "N", "cores to offer (default: all online)",
		  struct worker_args, cores, 1, 1000000),
	OPT_SIZE("memory", 0, "SIZE", "memory to offer (default: all)",
		 struct worker_args, memory),
	OPT_STRING("gpus", 0, "N|auto",
		   "GPUs to offer (default: worker.gpus)",
		   struct worker_args, gpus),
	OPT_STRING("token-file", 0, "FILE",
		   "the cluster's token (default: the state directory's)",
		   struct worker_args, token_file),
	OPT_FLAG("bench-noop", 0, "report every task done without running it",
		 struct worker_args, bench_noop, .flags = OPT_HIDDEN),
	OPT_END,
};

static int cmd_worker(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_worker_entry = {
	.name = "worker",
	.exec = cmd_worker,
	.summary = "run one worker for the cluster's scheduler",
	.options = worker_options,
	.opts_size = sizeof(struct worker_args),
};

static int read_token_file(const char *path, char token[65])
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path) < 0) {
		fprintf(stderr, "cluster: cannot read token file '%s': %s\n",
			path, strerror(errno));
		return -1;
	}
	strbuf_rtrim(&sb);
	if (sb.len != 64 || strspn(sb.buf, "0123456789abcdefABCDEF") != 64) {
		fprintf(stderr, "cluster: token file '%s' does not hold "
			"64 hex characters\n", path);
		strbuf_release(&sb);
		return -1;
	}
	memcpy(token, sb.buf, 65);
	strbuf_release(&sb);
	return 0;
}

static int parse_hostport(const char *s, char *host, size_t hostsz,
			  uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long p;

	if (!colon || colon == s || (size_t)(colon - s) >= hostsz)
		return -1;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p == 0 || p > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int cmd_worker(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct worker_args *args = opts;
	const char *connect = args->connect, *token_file = args->token_file;
	struct worker_opts o = {
		.name = args->name,
		.cores = (unsigned)args->cores,
		.memory = args->memory,
		.bench_noop = args->bench_noop,
	};
	char host[256], token[65], ident[320];
	struct strbuf dir = STRBUF_INIT;
	struct err err = { "" };
	struct config *cfg = NULL;
	int rc = WORKER_EXIT_USAGE;

	if (argc > 0) {
		rc = cli_usage_error(&cmd_worker_entry, "unexpected argument '%s'",
				     argv[0]);
		goto out;
	}
	cfg = cli_load_config(g);
	if (!cfg)
		goto out;
	o.death_timeout = (double)config_get_num(cfg, "worker.death-timeout");
	o.gpus = args->gpus ? args->gpus : config_get_str(cfg, "worker.gpus");
	o.log_size = (uint64_t)config_get_num(cfg, "task.output-log-size");

	if (state_dir(g->name, 0, &dir, &err) == 0) {
		o.state_dir = dir.buf;
	} else if (!token_file || !connect) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	if (token_file) {
		if (read_token_file(token_file, token) < 0)
			goto out;
	} else if (state_token(dir.buf, 0, token, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	if (connect) {
		if (parse_hostport(connect, host, sizeof(host), &o.port) < 0) {
			rc = cli_usage_error(&cmd_worker_entry,
				"--connect wants HOST:PORT, got '%s'", connect);
			goto out;
		}
	} else {
		struct state_address a;
		if (state_address_read(dir.buf, &a, &err) < 0) {
			fprintf(stderr, "cluster: no scheduler to connect to "
				"(give --connect HOST:PORT): %s\n", err.text);
			goto out;
		}
		snprintf(host, sizeof(host), "%s", a.host);
		o.port = a.port;
	}
	o.host = host;
	o.token = token;
	o.say_joined = 1;
	if (!o.cores) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.cores = n > 0 ? (unsigned)n : 1;
	}
	if (!o.memory) {
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		o.memory = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
	}
	if (o.name)
		snprintf(ident, sizeof(ident), "cluster worker '%s'", o.name);
	else
		snprintf(ident, sizeof(ident), "cluster worker %ld", (long)getpid());
	log_setup(ident, g->verbose);
	rc = worker_run(&o);
out:
	config_destroy(cfg);
	strbuf_release(&dir);
	return rc;
}

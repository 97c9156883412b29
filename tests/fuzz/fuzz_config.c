/*
 * fuzz_config: the configuration loader and the job scripts it feeds.
 * Over 600 lines as one oracle: it models the whole launch line from the
 * keys, which is the point of the harness.
 *
 * Input: one flags byte, then a YAML document (the --config file), then
 * optionally a line "#sets" and one `--set` argument per line.  In those
 * lines \n, \t, \\ and \xHH stand for the byte, so a value can hold a
 * newline; a line "@name NAME" gives the cluster's name and "@batch FILE"
 * a batch run's tasks file.  Flags: bits 0-1 the role (head, worker,
 * batch), bit 2 passes the file on to the ranks (--config), bit 3 loads
 * the bundled profiles of config/ as well.  The environment holds
 * CLUSTER_FUZZ_WORD and CLUSTER_FUZZ_DOLLAR (a value with a '$') for
 * --set values to name.
 *
 * Oracles, beyond "does not crash":
 *   - loading is all or nothing: NULL with a message, or a configuration
 *     in which every --set key comes from --set, its value as given with
 *     $NAME and ${NAME} expanded where the key is no list;
 *   - the same layers with only a backend chosen on top still load, and
 *     the script rendered for each backend (local, slurm, pbs, torque) is
 *     either refused with a message and nothing written, or made only of
 *     the template's own lines, comments and batch directives, the
 *     profile's job.prologue/job.epilogue lines (shell by design), the
 *     CLUSTER_HOME export as one quoted word, under launch.recovery with
 *     Open MPI the four lines that ask mpirun its recovery switch, as
 *     written, right before the launch line, and one launch line that
 *     splits, by POSIX shell rules, into exactly the words the ranks must
 *     get (see check_launch: the counts and placement follow from job.*,
 *     launch.* and the backend), each --set value one word as given (or
 *     as expanded), with no unquoted shell syntax and no expansion but a
 *     plain $NAME inside launch.args and the recovery switch's two.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "jobscript/jobscript.h"
#include "util/strbuf.h"

#include "shell_words.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RANK_PATH	"/opt/cluster/bin/cluster-rank"
#define STATE_DIR	"/var/tmp/cluster-fuzz/state"
#define HOME_VALUE	"/tmp/cluster fuzz's \"home\" $(x)"
#define MAX_SETS	64

static char tmpdir[] = "/tmp/fuzz_config.XXXXXX";
static char yaml_path[sizeof(tmpdir) + 16];
static char nowhere[sizeof(tmpdir) + 16];
static char cwd[4096];

static void cleanup(void)
{
	unlink(yaml_path);
	rmdir(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(tmpdir) || !getcwd(cwd, sizeof(cwd)))
		abort();
	snprintf(yaml_path, sizeof(yaml_path), "%s/c.yaml", tmpdir);
	snprintf(nowhere, sizeof(nowhere), "%s/none", tmpdir);
	atexit(cleanup);
	/* Nothing from this machine's environment may change the result. */
	unsetenv("CLUSTER_CONFIG");
	unsetenv("PBS_ACCOUNT");
	unsetenv("SLURM_ACCOUNT");
	setenv("CLUSTER_HOME", HOME_VALUE, 1);
	setenv("CLUSTER_FUZZ_WORD", "batch", 1);
	setenv("CLUSTER_FUZZ_DOLLAR", "a$b", 1);
	unsetenv("CLUSTER_FUZZ_UNSET");
	return 0;
}

static void fail(const char *what, const char *detail, const char *script)
{
	fprintf(stderr, "fuzz_config: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	if (script)
		fprintf(stderr, "--- script ---\n%s--- end ---\n", script);
	abort();
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One --set line with its escapes turned into bytes (\x00 stays as
 * written: an argument cannot hold a NUL). */
static char *unescape(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 >= len) {
			strbuf_addch(&sb, s[i]);
			continue;
		}
		char c = s[i + 1];
		if (c == 'n' || c == 't' || c == '\\') {
			strbuf_addch(&sb, c == 'n' ? '\n' : c == 't' ? '\t' : '\\');
			i++;
		} else if (c == 'x' && i + 3 < len && hexval(s[i + 2]) >= 0 &&
			   hexval(s[i + 3]) >= 0 &&
			   (hexval(s[i + 2]) | hexval(s[i + 3]))) {
			strbuf_addch(&sb, hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
			i += 3;
		} else {
			strbuf_addch(&sb, '\\');
		}
	}
	return strbuf_detach(&sb, NULL);
}

struct input {
	enum job_role role;
	int pass_config, bundled;
	const char *sets[MAX_SETS + 3];	/* the user's, then room for ours */
	size_t nsets;
	char *name, *batch;
};

static void input_release(struct input *in)
{
	for (size_t i = 0; i < in->nsets; i++)
		free((char *)in->sets[i]);
	free(in->name);
	free(in->batch);
}

static void write_yaml(const uint8_t *data, size_t len)
{
	int fd = open(yaml_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0)
			abort();
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

static void parse_input(const uint8_t *data, size_t size, struct input *in)
{
	static const char mark[] = "\n#sets\n";
	const char *text = (const char *)data + 1;
	size_t len = size - 1, ylen = len;
	const char *p, *end = text + len;
	unsigned flags = data[0];

	memset(in, 0, sizeof(*in));
	in->role = (flags & 3) == 1 ? JOB_WORKER : (flags & 3) == 2 ? JOB_BATCH :
		   JOB_HEAD;
	in->pass_config = !!(flags & 4);
	in->bundled = !!(flags & 8);
	p = memmem(text, len, mark, sizeof(mark) - 1);
	if (p) {
		ylen = (size_t)(p - text) + 1;
		p += sizeof(mark) - 1;
	}
	write_yaml((const uint8_t *)text, ylen);
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *line = memchr(p, '\0', n) ? NULL : unescape(p, n);

		p = nl ? nl + 1 : end;
		if (!line)
			continue;
		if (!strncmp(line, "@name ", 6) && !in->name) {
			in->name = strdup(line + 6);
			free(line);
		} else if (!strncmp(line, "@batch ", 7) && !in->batch) {
			in->batch = strdup(line + 7);
			free(line);
		} else if (in->nsets < MAX_SETS) {
			in->sets[in->nsets++] = line;
		} else {
			free(line);
		}
	}
	if (!in->name)
		in->name = strdup("fuzz");
	if (!in->batch)
		in->batch = strdup("tasks.txt");
}

static struct config *load(const struct input *in, const char *const *sets,
			   struct err *err)
{
	struct config_source src = {
		.config_file = yaml_path,
		.sets = sets,
		.datadir = in->bundled ? CLUSTER_SRCDIR "/config" : NULL,
		.sysconfdir = nowhere,
		.home = nowhere,
		.hostname = "fuzzhost",
	};
	struct config *cfg;

	err->text[0] = '\0';
	cfg = config_load(&src, err);
	if (!cfg && !err->text[0])
		fail("config_load failed without a message", NULL, NULL);
	return cfg;
}

/* The key of a --set argument into name[128]; 0 when it has none. */
static int set_key(const char *arg, char name[128])
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || (size_t)(eq - arg) >= 128)
		return 0;
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	return 1;
}

static int name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* A --set value that is no list as the loader must take it: $NAME and
 * ${NAME} (a name of fewer than 128 characters) replaced from the
 * environment, any other '$' kept.  -1 when the loader must refuse it:
 * a variable that is not set, or a ${ that is not ${NAME}. */
static int expand(const char *v, struct strbuf *out)
{
	for (const char *p = v; *p; p++) {
		const char *name = p + 1 + (p[1] == '{'), *q = name;
		int braced = p[1] == '{';
		char buf[128];

		if (*p != '$') {
			strbuf_addch(out, *p);
			continue;
		}
		if (name_start(*q))
			while (name_char(*q))
				q++;
		if (q == name || (braced && *q != '}') ||
		    (size_t)(q - name) >= sizeof(buf)) {
			if (braced)
				return -1;
			strbuf_addch(out, '$');
			continue;
		}
		memcpy(buf, name, (size_t)(q - name));
		buf[q - name] = '\0';
		if (!getenv(buf))
			return -1;
		strbuf_addstr(out, getenv(buf));
		p = q - 1 + braced;
	}
	return 0;
}

/* Every --set of a loaded configuration is in force, the last one of each
 * key as written, $NAME expanded in a value that is no list. */
static void check_sets(const struct config *cfg, const struct input *in)
{
	for (size_t i = 0; i < in->nsets; i++) {
		const struct config_value *v;
		const char *value;
		char name[128], later[128];
		struct strbuf want = STRBUF_INIT;
		int last = 1;

		if (!set_key(in->sets[i], name))
			fail("a configuration loaded with a malformed --set",
			     in->sets[i], NULL);
		v = config_get(cfg, name);
		if (!v)
			fail("a configuration loaded with an unknown --set key",
			     in->sets[i], NULL);
		if (strcmp(v->origin, "--set"))
			fail("a --set value is not in force", in->sets[i], NULL);
		for (size_t j = i + 1; j < in->nsets; j++)
			if (set_key(in->sets[j], later) && !strcmp(later, name))
				last = 0;
		value = strchr(in->sets[i], '=') + 1;
		if (v->key->type == CONFIG_LIST || !*value)
			strbuf_addstr(&want, value);
		else if (expand(value, &want) < 0)
			fail("a configuration loaded with a --set whose $NAME "
			     "cannot expand", in->sets[i], NULL);
		if (last && v->set != (*value != '\0'))
			fail("a --set value is not in force", in->sets[i], NULL);
		if (last && *value && v->key->type != CONFIG_LIST &&
		    strcmp(v->text, want.buf))
			fail("a --set value is not in force as written", in->sets[i],
			     NULL);
		strbuf_release(&want);
	}
}

/* --- the script ---------------------------------------------------------- */

struct expect {
	const struct config *cfg;
	const struct input *in;
	const struct job_script_opts *opts;
	const char *const *loaded;	/* the --sets the configuration has */
	const char *backend;
	const char *script;
};

static void want_word_as(const struct expect *e, const struct words *ws,
			 size_t *k, const char *want, int may_expand,
			 const char *line)
{
	char msg[512];

	if (*k >= ws->n || strcmp(ws->w[*k], want)) {
		snprintf(msg, sizeof(msg), "word %zu of the launch line is '%.100s', "
			 "expected '%.100s' in: %.200s", *k,
			 *k < ws->n ? ws->w[*k] : "(none)", want, line);
		fail("the launch line does not carry its values as given", msg,
		     e->script);
	}
	if (ws->expands[*k] && !may_expand) {
		snprintf(msg, sizeof(msg), "word %zu '%.100s' in: %.200s", *k,
			 want, line);
		fail("a launch line word the shell would expand", msg, e->script);
	}
	(*k)++;
}

static void want_word(const struct expect *e, const struct words *ws,
		      size_t *k, const char *want, const char *line)
{
	want_word_as(e, ws, k, want, 0, line);
}

static void want_number(const struct expect *e, const struct words *ws,
			size_t *k, unsigned long long n, const char *line)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", n);
	want_word(e, ws, k, buf, line);
}

/* Who starts the ranks, from launch.command and launch.mpi. */
enum launcher { OPENMPI, PALS, SRUN };

/* The job's shape as the job.* keys give it: one worker per core up to 4
 * cores, else job.processes or the smallest divisor of job.cores at
 * least its square root; each worker a share of the cores and of the
 * memory left after job.reserved-memory. */
struct shape {
	unsigned long long nodes, procs, threads, worker_memory;
	unsigned long long gpus, worker_gpus;	/* worker_gpus 0: not whole */
};

static void job_shape(const struct config *cfg, struct shape *sh)
{
	const struct config_value *procs = config_get(cfg, "job.processes");
	unsigned long long cores = (unsigned long long)config_get_num(cfg,
								       "job.cores");
	unsigned long long mem = (unsigned long long)config_get_num(cfg,
								     "job.memory");

	sh->nodes = (unsigned long long)config_get_num(cfg, "job.nodes");
	if (procs && procs->set) {
		sh->procs = (unsigned long long)procs->num;
	} else if (cores <= 4) {
		sh->procs = cores;
	} else {
		sh->procs = cores;
		for (unsigned long long d = 2; d < cores; d++)
			if (cores % d == 0 && d * d >= cores) {
				sh->procs = d;
				break;
			}
	}
	sh->threads = cores / sh->procs;
	sh->gpus = (unsigned long long)config_get_num(cfg, "job.gpus");
	sh->worker_gpus = sh->gpus % sh->procs ? 0 : sh->gpus / sh->procs;
	sh->worker_memory = (mem - (unsigned long long)config_get_num(
				     cfg, "job.reserved-memory")) / sh->procs;
}

/* The word a --set goes on as: a value that is no list and names a
 * variable goes on as the key's value in force, expanded here, unless
 * that still holds a '$' (or the key ends up unset); any other as given. */
static void set_word(const struct expect *e, const char *set,
		     struct strbuf *out)
{
	char key[128], other[128];
	const struct config_value *v;
	const char *last = NULL;

	strbuf_addstr(out, set);
	if (!set_key(set, key) || !strchr(strchr(set, '='), '$'))
		return;
	v = config_get(e->cfg, key);
	if (!v || v->key->type == CONFIG_LIST)
		return;
	for (const char *const *s = e->loaded; *s; s++)
		if (set_key(*s, other) && !strcmp(other, key))
			last = strchr(*s, '=') + 1;
	if (!last || !*last)
		return;
	strbuf_reset(out);
	strbuf_addf(out, "%s=", key);
	if (expand(last, out) < 0)
		fail("a configuration loaded with a --set whose $NAME cannot "
		     "expand", set, NULL);
	if (strchr(out->buf + strlen(key) + 1, '$')) {
		strbuf_reset(out);
		strbuf_addstr(out, set);
	}
}

/* A launcher option that places the ranks by itself. */
static int places_ranks(const char *arg)
{
	static const char *const opts[] = {
		"map-by", "npernode", "pernode", "ppr", "rankfile", NULL,
	};
	const char *a = arg + (arg[0] == '-') + (arg[0] == '-' && arg[1] == '-');

	if (a == arg)
		return 0;
	for (const char *const *o = opts; *o; o++)
		if (!strncmp(a, *o, strlen(*o)) &&
		    (a[strlen(*o)] == '\0' || a[strlen(*o)] == '='))
			return 1;
	return 0;
}

/* The launch command starts at *pos; *pos moves past it.  Its words:
 * the launcher and launch.args (which alone may name a variable), the
 * launcher's recovery switch under launch.recovery, the rank count,
 * srun's cores per rank, PALS's ranks per node, Torque's round robin
 * over nodes unless launch.args places the ranks, room for a head job's
 * scheduler rank where the batch system has no slot for it, then
 * cluster-rank and what the ranks must know, each value as given. */
static void check_launch(const struct expect *e, int probed,
			 const char **pos)
{
	const struct job_script_opts *o = e->opts;
	const char *cmd = config_get_str(e->cfg, "launch.command");
	const char *mpi = config_get_str(e->cfg, "launch.mpi");
	char *const *args = config_get_list(e->cfg, "launch.args");
	const char *profile = config_profile_name(e->cfg);
	int recovery = config_get_num(e->cfg, "launch.recovery") != 0;
	int pbs = !strcmp(e->backend, "pbs"), torque = !strcmp(e->backend, "torque");
	const char *line = *pos;
	struct words ws;
	const char *why = split_shell(pos, &ws);
	struct shape sh;
	enum launcher launcher;
	int sched, placed = 0;
	size_t k = 0;

	if (why) {
		words_release(&ws);
		fail("the launch line has shell syntax outside quotes", why,
		     e->script);
	}
	if (!cmd)
		cmd = "mpirun";
	launcher = !strcmp(cmd, "srun") ? SRUN : mpi && !strcmp(mpi, "pals") ?
		   PALS : OPENMPI;
	if (launcher == PALS && strcmp(cmd, "mpiexec"))
		fail("PALS given another launcher than mpiexec", cmd, e->script);
	if (probed != (recovery && launcher == OPENMPI))
		fail(probed ? "the recovery switch is asked for needlessly" :
		     "the recovery switch is not asked for", line, e->script);
	sched = o->role != JOB_WORKER && launcher != PALS;
	job_shape(e->cfg, &sh);
	if (o->role != JOB_WORKER && sh.nodes * sh.procs + sched < 2)
		fail("a head job with no worker rank", line, e->script);

	want_word(e, &ws, &k, cmd, line);
	for (; args && *args; args++) {
		want_word_as(e, &ws, &k, *args, 1, line);
		placed |= places_ranks(*args);
	}
	if (recovery && launcher == OPENMPI) {
		want_word_as(e, &ws, &k, "$cluster_mca", 1, line);
		want_word_as(e, &ws, &k, "$cluster_recovery", 1, line);
		want_word(e, &ws, &k, "1", line);
	} else if (recovery) {
		want_word(e, &ws, &k, launcher == PALS ? "--no-abort-on-failure" :
			  "--kill-on-bad-exit=0", line);
	}
	if (launcher == SRUN) {
		struct strbuf w = STRBUF_INIT;
		strbuf_addf(&w, "--ntasks=%llu", sh.nodes * sh.procs + sched);
		want_word(e, &ws, &k, w.buf, line);
		strbuf_reset(&w);
		strbuf_addf(&w, "--cpus-per-task=%llu", sh.threads);
		want_word(e, &ws, &k, w.buf, line);
		strbuf_release(&w);
	} else {
		want_word(e, &ws, &k, strcmp(cmd, "mpiexec") ? "-np" : "-n", line);
		want_number(e, &ws, &k, sh.nodes * sh.procs + sched, line);
	}
	if (launcher == PALS) {
		want_word(e, &ws, &k, "--ppn", line);
		want_number(e, &ws, &k, sh.procs, line);
	}
	if (launcher == OPENMPI && torque && !placed) {
		want_word(e, &ws, &k, "--map-by", line);
		want_word(e, &ws, &k, "node", line);
	}
	if (sched && !pbs)
		want_word(e, &ws, &k, launcher == SRUN ? "--overcommit" :
			  "--oversubscribe", line);
	want_word(e, &ws, &k, RANK_PATH, line);
	if (o->role == JOB_WORKER)
		want_word(e, &ws, &k, "--worker-only", line);
	want_word(e, &ws, &k, "--name", line);
	want_word(e, &ws, &k, o->cluster_name, line);
	if (o->role == JOB_BATCH) {
		struct strbuf path = STRBUF_INIT;
		if (o->batch_file[0] != '/')
			strbuf_addf(&path, "%s/", cwd);
		strbuf_addstr(&path, o->batch_file);
		want_word(e, &ws, &k, "--run", line);
		want_word(e, &ws, &k, path.buf, line);
		strbuf_release(&path);
	}
	if (profile && *profile) {
		want_word(e, &ws, &k, "--profile", line);
		want_word(e, &ws, &k, profile, line);
	}
	if (o->config_file) {
		want_word(e, &ws, &k, "--config", line);
		want_word(e, &ws, &k, o->config_file, line);
	}
	want_word(e, &ws, &k, "--cores", line);
	want_number(e, &ws, &k, sh.threads, line);
	want_word(e, &ws, &k, "--memory", line);
	want_number(e, &ws, &k, sh.worker_memory, line);
	if (sh.gpus) {
		want_word(e, &ws, &k, "--gpus", line);
		if (sh.worker_gpus)
			want_number(e, &ws, &k, sh.worker_gpus, line);
		else
			want_word(e, &ws, &k, "auto", line);
	}
	for (const char *const *s = o->sets; s && *s; s++) {
		struct strbuf w = STRBUF_INIT;
		set_word(e, *s, &w);
		want_word(e, &ws, &k, "--set", line);
		want_word(e, &ws, &k, w.buf, line);
		strbuf_release(&w);
	}
	if (k != ws.n)
		fail("the launch line has words past its last --set", line,
		     e->script);
	words_release(&ws);
}

/* The lines that ask Open MPI's launcher which recovery switch it takes,
 * as they must read, after their comment line. */
static size_t probe_len(const char *p, const char *cmd)
{
	struct strbuf want = STRBUF_INIT;
	size_t n;

	strbuf_addf(&want, "case $(%s --version 2>/dev/null) in\n"
		    "*\"Open MPI) \"[1-4].*) cluster_mca=--mca "
		    "cluster_recovery=orte_enable_recovery ;;\n"
		    "*) cluster_mca=--prtemca cluster_recovery=prte_enable_recovery "
		    ";;\n"
		    "esac\n", cmd);
	n = strncmp(p, want.buf, want.len) ? 0 : want.len;
	strbuf_release(&want);
	return n;
}

static int in_list(char *const *list, const char *line, size_t len)
{
	for (; list && *list; list++)
		if (strlen(*list) == len && !memcmp(*list, line, len))
			return 1;
	return 0;
}

/* The lines that carry a batch's verdict, or a worker job's ranks'
 * verdicts (launch.c writes them around the launch line): fixed text, but
 * for the cluster name in the verdict's path, which must be one
 * single-quoted word that expands nothing.  `start` is where the line
 * begins; a name holding a newline continues it, so *next moves past
 * the whole line. */
static int verdict_line(const struct expect *e, const char *start,
			const char *line, size_t len, const char **next)
{
	static const char prefix[] =
		"cluster_verdict=\"${CLUSTER_HOME:-$HOME/.cluster}\"/";
	static const char *const batch[] = {
		"rm -f \"$cluster_verdict\"",
		"cluster_status=$?",
		"if [ -s \"$cluster_verdict\" ]; then read -r cluster_status "
		"<\"$cluster_verdict\"; fi",
		"trap 'exit \"$cluster_status\"' EXIT",
		NULL,
	};
	static const char *const worker[] = {
		"if [ \"${CLUSTER_JOB_INDEX:--1}\" != -1 ]; then "
		"cluster_verdict=\"${cluster_verdict}_$CLUSTER_JOB_INDEX\"; fi",
		"rm -f \"$cluster_verdict\".rank*",
		"cluster_status=$?",
		"for cluster_f in \"$cluster_verdict\".rank*; do",
		"\tif [ \"$cluster_status\" = 0 ] && [ -s \"$cluster_f\" ]; then "
		"read -r cluster_status <\"$cluster_f\"; fi",
		"\trm -f \"$cluster_f\"",
		"done",
		"trap 'exit \"$cluster_status\"' EXIT",
		NULL,
	};
	const char *const *fixed = e->opts->role == JOB_BATCH ? batch :
		e->opts->role == JOB_WORKER ? worker : NULL;
	size_t pl = sizeof(prefix) - 1;

	if (!fixed)
		return 0;
	for (const char *const *f = fixed; *f; f++)
		if (strlen(*f) == len && !memcmp(*f, line, len))
			return 1;
	if (len <= pl || memcmp(line, prefix, pl) || line[pl] != '\'')
		return 0;
	/* the rest is one word: the quoted name, then the file's name */
	struct strbuf want = STRBUF_INIT;
	struct words ws;
	const char *at = start + pl;
	const char *why = split_shell(&at, &ws);
	strbuf_addf(&want, "%s/verdict.$CLUSTER_JOB_ID", e->opts->cluster_name);
	if (why || ws.n != 1 || strcmp(ws.w[0], want.buf))
		fail("the verdict line does not carry the cluster name as one "
		     "quoted word", why ? why : line, e->script);
	words_release(&ws);
	strbuf_release(&want);
	*next = at;
	return 1;
}

static void check_script(const struct expect *e, const char *tmpl_path)
{
	struct strbuf tmpl = STRBUF_INIT, line = STRBUF_INIT;
	char *const *pro = config_get_list(e->cfg, "job.prologue");
	char *const *epi = config_get_list(e->cfg, "job.epilogue");
	const char *cmd = config_get_str(e->cfg, "launch.command");
	const char *p = e->script;
	unsigned launches = 0;

	if (strbuf_read_file(&tmpl, tmpl_path) < 0)
		fail("cannot read the template", tmpl_path, NULL);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *t, *start = p;

		strbuf_reset(&line);
		strbuf_add(&line, p, len);
		p += len + (nl ? 1 : 0);
		if (!len || line.buf[0] == '#')
			continue;	/* a comment or a batch directive */
		/* The recovery probe, whose own lines are shell code, comes
		 * right before the launch line. */
		size_t probe = probe_len(start, cmd ? cmd : "mpirun");
		if (probe) {
			p = start + probe;
			check_launch(e, 1, &p);
			launches++;
			continue;
		}
		if (in_list(pro, line.buf, len) || in_list(epi, line.buf, len))
			continue;	/* the profile's own shell lines */
		if (verdict_line(e, start, line.buf, len, &p))
			continue;
		/* A line of the template, as written there. */
		for (t = tmpl.buf; *t;) {
			const char *tn = strchr(t, '\n');
			size_t tl = tn ? (size_t)(tn - t) : strlen(t);
			if (tl == len && !memcmp(t, line.buf, len) &&
			    !strchr(line.buf, '@'))
				break;
			t += tl + (tn ? 1 : 0);
		}
		if (*t)
			continue;
		if (!strncmp(line.buf, "export CLUSTER_HOME=", 20)) {
			struct words ws;
			const char *at = start + 20;
			const char *why = split_shell(&at, &ws);
			if (why || ws.n != 1 || strcmp(ws.w[0], HOME_VALUE))
				fail("CLUSTER_HOME is not exported as one quoted word",
				     why ? why : line.buf, e->script);
			words_release(&ws);
			p = at;
			continue;
		}
		/* Anything else must be the launch line, which a quoted value
		 * holding a newline continues over more than one. */
		p = start;
		check_launch(e, 0, &p);
		launches++;
	}
	if (launches != 1)
		fail("the script has not exactly one launch line", NULL, e->script);
	strbuf_release(&tmpl);
	strbuf_release(&line);
}

static void render(const struct input *in, const char *backend)
{
	const char *sets[MAX_SETS + 3];
	struct strbuf set_backend = STRBUF_INIT, tmpl = STRBUF_INIT,
		      out = STRBUF_INIT;
	struct err err;
	struct config *cfg;
	size_t n = 0;

	/* The user's sets, then the backend, and the backend's own template
	 * (a template is code: the harness cannot vouch for other files). */
	for (size_t i = 0; i < in->nsets; i++)
		sets[n++] = in->sets[i];
	strbuf_addf(&set_backend, "backend=%s", backend);
	sets[n++] = set_backend.buf;
	sets[n++] = "job.template=";
	sets[n] = NULL;
	cfg = load(in, sets, &err);
	if (!cfg)
		fail("the configuration no longer loads with a backend chosen",
		     err.text, NULL);

	struct job_script_opts opts = {
		.role = in->role,
		.cluster_name = in->name,
		.batch_file = in->batch,
		.rank_path = RANK_PATH,
		.state_dir = STATE_DIR,
		.templates_dir = CLUSTER_SRCDIR "/jobscripts",
		.config_file = in->pass_config ? yaml_path : NULL,
		.sets = in->nsets ? in->sets : NULL,
	};
	err.text[0] = '\0';
	if (job_script_render(cfg, &opts, &out, &err) < 0) {
		if (!err.text[0])
			fail("a script was refused without a message", backend, NULL);
		if (out.len)
			fail("a refused script left text behind", err.text, out.buf);
	} else {
		struct expect e = { cfg, in, &opts, sets, backend, out.buf };
		strbuf_addf(&tmpl, "%s/%s.sh", opts.templates_dir, backend);
		check_script(&e, tmpl.buf);
	}
	config_destroy(cfg);
	strbuf_release(&set_backend);
	strbuf_release(&tmpl);
	strbuf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const backends[] = { "local", "slurm", "pbs", "torque" };
	struct input in;
	struct config *cfg;
	struct err err;

	if (size < 1 || size > 16384)
		return 0;
	parse_input(data, size, &in);
	in.sets[in.nsets] = NULL;
	cfg = load(&in, in.sets, &err);
	if (cfg) {
		check_sets(cfg, &in);
		config_destroy(cfg);
		for (size_t i = 0; i < sizeof(backends) / sizeof(*backends); i++)
			render(&in, backends[i]);
	}
	input_release(&in);
	return 0;
}

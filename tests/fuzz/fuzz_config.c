/*
 * fuzz_config: the configuration loader and the job scripts it feeds.
 *
 * Input: one flags byte, then a YAML document (the --config file), then
 * optionally a line "#sets" and one `--set` argument per line.  In those
 * lines \n, \t, \\ and \xHH stand for the byte, so a value can hold a
 * newline; a line "@name NAME" gives the cluster's name and "@batch FILE"
 * a batch run's tasks file.  Flags: bits 0-1 the role (head, worker,
 * batch), bit 2 passes the file on to the ranks (--config), bit 3 loads
 * the bundled profiles of config/ as well.
 *
 * Oracles, beyond "does not crash":
 *   - loading is all or nothing: NULL with a message, or a configuration
 *     in which every --set key comes from --set;
 *   - the same layers with only a backend chosen on top still load, and
 *     the script rendered for each backend (local, slurm, pbs, torque) is
 *     either refused with a message and nothing written, or made only of
 *     the template's own lines, comments and batch directives, the
 *     profile's job.prologue/job.epilogue lines (shell by design), the
 *     CLUSTER_HOME export as one quoted word, and one launch line that
 *     splits, by POSIX shell rules, into exactly the words the ranks must
 *     get, each --set value one word as given, with no unquoted shell
 *     syntax and no expansion but a plain $NAME inside launch.args.
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

/* Every --set of a loaded configuration is in force, the last one of each
 * key as written. */
static void check_sets(const struct config *cfg, const struct input *in)
{
	for (size_t i = 0; i < in->nsets; i++) {
		const struct config_value *v;
		const char *value;
		char name[128], later[128];
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
		if (!last)
			continue;
		value = strchr(in->sets[i], '=') + 1;
		if (v->set != (*value != '\0'))
			fail("a --set value is not in force", in->sets[i], NULL);
		if (*value && v->key->type != CONFIG_LIST && strcmp(v->text, value))
			fail("a --set value is not in force as written", in->sets[i],
			     NULL);
	}
}

/* --- the script ---------------------------------------------------------- */

struct words {
	char *w[512];
	size_t n;
};

static void words_release(struct words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	ws->n = 0;
}

static int plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || (c && strchr("_./=:,+@%-", c));
}

static int name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Split one command into words as /bin/sh would, from *pos to the first
 * newline outside quotes (a quoted word may hold newlines), refusing
 * anything that would expand or act: unquoted characters other than
 * plain ones (a backslash quotes the next one), and in double quotes any
 * $ but a plain $NAME or ${NAME} (kept as written) and any unescaped
 * backquote.  *pos moves past the command.  NULL when it is fine, else
 * why not. */
static const char *split_shell(const char **pos, struct words *ws)
{
	struct strbuf cur = STRBUF_INIT;
	int in_word = 0;
	const char *p = *pos;

	ws->n = 0;
	for (;;) {
		char c = *p;
		if (c == '\0' || c == ' ' || c == '\t' || c == '\n') {
			if (in_word) {
				if (ws->n == sizeof(ws->w) / sizeof(ws->w[0])) {
					strbuf_release(&cur);
					return "too many words";
				}
				ws->w[ws->n++] = strbuf_detach(&cur, NULL);
				in_word = 0;
			}
			if (c == '\n')
				p++;
			if (!c || c == '\n')
				break;
			p++;
			continue;
		}
		in_word = 1;
		if (c == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q) {
				strbuf_release(&cur);
				return "unterminated single quote";
			}
			strbuf_add(&cur, p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else if (c == '"') {
			for (p++;; p++) {
				if (!*p) {
					strbuf_release(&cur);
					return "unterminated double quote";
				}
				if (*p == '"')
					break;
				if (*p == '\\' && p[1] && strchr("$`\"\\", p[1])) {
					strbuf_addch(&cur, p[1]);
					p++;
				} else if (*p == '`') {
					strbuf_release(&cur);
					return "a backquote in double quotes";
				} else if (*p == '$') {
					const char *q = p + 1;
					int braced = *q == '{';
					if (braced)
						q++;
					if (!name_start(*q)) {
						strbuf_release(&cur);
						return "a $ in double quotes that is not $NAME";
					}
					while (name_start(*q) || (*q >= '0' && *q <= '9'))
						q++;
					if (braced && *q++ != '}') {
						strbuf_release(&cur);
						return "a ${ in double quotes that is not ${NAME}";
					}
					strbuf_add(&cur, p, (size_t)(q - p));
					p = q - 1;
				} else {
					strbuf_addch(&cur, *p);
				}
			}
			p++;
		} else if (c == '\\' && p[1] == '\n') {
			p += 2;				/* a continued line */
		} else if (c == '\\' && p[1]) {
			strbuf_addch(&cur, p[1]);	/* 'it'\''s' */
			p += 2;
		} else if (plain(c)) {
			strbuf_addch(&cur, c);
			p++;
		} else {
			strbuf_release(&cur);
			return "an unquoted shell character";
		}
	}
	strbuf_release(&cur);
	*pos = p;
	return NULL;
}

struct expect {
	const struct config *cfg;
	const struct input *in;
	const struct job_script_opts *opts;
	const char *backend;
	const char *script;
};

static void want_word(const struct expect *e, const struct words *ws,
		      size_t *k, const char *want, const char *line)
{
	if (*k >= ws->n || strcmp(ws->w[*k], want)) {
		char msg[512];
		snprintf(msg, sizeof(msg), "word %zu of the launch line is '%.100s', "
			 "expected '%.100s' in: %.200s", *k,
			 *k < ws->n ? ws->w[*k] : "(none)", want, line);
		fail("the launch line does not carry its values as given", msg,
		     e->script);
	}
	(*k)++;
}

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The launch command starts at *pos; *pos moves past it. */
static void check_launch(const struct expect *e, const char **pos)
{
	const struct job_script_opts *o = e->opts;
	const char *cmd = config_get_str(e->cfg, "launch.command");
	char *const *args = config_get_list(e->cfg, "launch.args");
	const char *profile = config_profile_name(e->cfg);
	const char *line = *pos;
	struct words ws;
	const char *why = split_shell(pos, &ws);
	size_t k = 0;

	if (why) {
		words_release(&ws);
		fail("the launch line has shell syntax outside quotes", why,
		     e->script);
	}
	if (!cmd)
		cmd = "mpirun";
	want_word(e, &ws, &k, cmd, line);
	for (; args && *args; args++)
		want_word(e, &ws, &k, *args, line);
	if (!strcmp(cmd, "srun")) {
		if (k >= ws.n || strncmp(ws.w[k], "--ntasks=", 9) ||
		    !is_number(ws.w[k] + 9))
			fail("the launch line has no --ntasks=N", line, e->script);
		k++;
	} else {
		want_word(e, &ws, &k, strcmp(cmd, "mpiexec") ? "-np" : "-n", line);
		if (k >= ws.n || !is_number(ws.w[k]))
			fail("the launch line has no rank count", line, e->script);
		k++;
	}
	if (o->role != JOB_WORKER && strcmp(e->backend, "pbs"))
		want_word(e, &ws, &k, strcmp(cmd, "srun") ? "--oversubscribe" :
			  "--overcommit", line);
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
	if (k >= ws.n || !is_number(ws.w[k]))
		fail("the launch line's --cores is not a number", line, e->script);
	k++;
	want_word(e, &ws, &k, "--memory", line);
	if (k >= ws.n || !is_number(ws.w[k]))
		fail("the launch line's --memory is not a number", line, e->script);
	k++;
	for (const char *const *s = o->sets; s && *s; s++) {
		want_word(e, &ws, &k, "--set", line);
		want_word(e, &ws, &k, *s, line);
	}
	if (k != ws.n)
		fail("the launch line has words past its last --set", line,
		     e->script);
	words_release(&ws);
}

static int in_list(char *const *list, const char *line, size_t len)
{
	for (; list && *list; list++)
		if (strlen(*list) == len && !memcmp(*list, line, len))
			return 1;
	return 0;
}

static void check_script(const struct expect *e, const char *tmpl_path)
{
	struct strbuf tmpl = STRBUF_INIT, line = STRBUF_INIT;
	char *const *pro = config_get_list(e->cfg, "job.prologue");
	char *const *epi = config_get_list(e->cfg, "job.epilogue");
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
		if (in_list(pro, line.buf, len) || in_list(epi, line.buf, len))
			continue;	/* the profile's own shell lines */
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
		check_launch(e, &p);
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
		struct expect e = { cfg, in, &opts, backend, out.buf };
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

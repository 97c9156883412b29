/* Configuration: layers and origins, inherit, auto, exact error positions,
 * ${VAR} expansion, validation, --set. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/strbuf.h"

#ifndef CLUSTER_SRCDIR
#define CLUSTER_SRCDIR "."
#endif

/* A scratch tree: data/ (bundled), etc/ (sysconfdir), home/, and a
 * source pointing at it with a fixed hostname. */
static char root[64];
static struct config_source src;

static char *path_of(const char *rel)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", root, rel);
	return buf[i];
}

static void write_file(const char *rel, const char *text)
{
	char *p = path_of(rel);
	char dir[512];

	snprintf(dir, sizeof(dir), "%s", p);
	for (char *s = dir + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(dir, 0700);
		*s = '/';
	}
	FILE *fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/check_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	mkdir(path_of("data"), 0700);
	memset(&src, 0, sizeof(src));
	src.datadir = path_of("data");
	src.sysconfdir = strdup(path_of("etc"));
	src.home = strdup(path_of("home"));
	src.datadir = strdup(src.datadir);
	src.hostname = "testhost";
	unsetenv("CLUSTER_CONFIG");
	unsetenv("PBS_ACCOUNT");
	unsetenv("SLURM_ACCOUNT");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	free((char *)src.datadir);
	free((char *)src.sysconfdir);
	free((char *)src.home);
}

static struct config *load_ok(void)
{
	struct err err = { "" };
	struct config *cfg = config_load(&src, &err);

	ck_assert_msg(cfg != NULL, "load failed: %s", err.text);
	return cfg;
}

/* Load must fail; the message is returned with the scratch root cut off
 * so tests can compare it whole. */
static const char *load_fails(void)
{
	static struct err err;
	static char out[256];

	memset(&err, 0, sizeof(err));
	struct config *cfg = config_load(&src, &err);
	ck_assert_msg(cfg == NULL, "load succeeded");
	ck_assert_msg(err.text[0], "no message");
	const char *s = err.text;
	char *hit = strstr(s, root);
	if (hit) {
		size_t pre = (size_t)(hit - s);
		snprintf(out, sizeof(out), "%.*s%s", (int)pre, s,
			 hit + strlen(root) + 1);
		return out;
	}
	snprintf(out, sizeof(out), "%s", s);
	return out;
}

static const char *origin(const struct config *cfg, const char *key)
{
	const char *o = config_get(cfg, key)->origin;
	size_t n = strlen(root);

	return strncmp(o, root, n) ? o : o + n + 1;
}

START_TEST(defaults_only)
{
	struct config *cfg = load_ok();

	ck_assert_str_eq(config_profile_name(cfg), "local");
	ck_assert_str_eq(config_profile_reason(cfg),
			 "auto: no pattern matches hostname 'testhost', fallback local");
	ck_assert_int_eq(config_get_num(cfg, "job.cores"), 1);
	ck_assert_str_eq(origin(cfg, "job.cores"), "default");
	ck_assert_int_eq(config_get_num(cfg, "job.memory"), 2147483648LL);
	ck_assert_int_eq(config_get_num(cfg, "job.walltime"), 3600);
	ck_assert_ptr_null(config_get_str(cfg, "job.queue"));
	ck_assert(!config_get(cfg, "job.queue")->set);
	ck_assert_ptr_null(config_get_list(cfg, "job.extra")[0]);
	ck_assert_ptr_null(config_get(cfg, "job.nope"));
	/* the built-in local profile exists without bundled files */
	ck_assert_str_eq(config_get_str(cfg, "backend"), "local");
	ck_assert_str_eq(config_get_str(cfg, "scheduler.location"), "local");
	config_destroy(cfg);
}
END_TEST

START_TEST(layer_order_and_origins)
{
	write_file("data/site.yaml",
		   "profiles:\n"
		   "  site:\n"
		   "    job:\n"
		   "      cores: 8\n"
		   "      queue: bundled\n"
		   "      memory: 1GiB\n"
		   "      account: fromdata\n"
		   "      name: fromdata\n"
		   "      nodes: 2\n");
	write_file("etc/cluster.yaml",
		   "profile: site\n"
		   "job:\n"
		   "  queue: system\n");
	write_file("etc/profiles.d/10-site.yaml",
		   "profiles:\n"
		   "  site:\n"
		   "    job: {memory: 3GiB}\n");
	write_file("home/.config/cluster/cluster.yaml",
		   "job.walltime: 2h\n"
		   "job.account: user\n");
	write_file("explicit.yaml",
		   "job:\n"
		   "    nodes: 3\n"
		   "    account: explicit\n");
	src.config_file = path_of("explicit.yaml");
	const char *sets[] = { "job.account=fromset", "job.gpus=1", NULL };
	src.sets = sets;

	struct config *cfg = load_ok();
	ck_assert_str_eq(config_profile_name(cfg), "site");
	ck_assert_str_eq(config_get_str(cfg, "job.name"), "fromdata");
	ck_assert_str_eq(origin(cfg, "job.name"), "data/site.yaml:8:7");
	ck_assert_int_eq(config_get_num(cfg, "job.cores"), 8);
	ck_assert_str_eq(origin(cfg, "job.cores"), "data/site.yaml:4:7");
	/* a system global beats a bundled profile: later layer wins */
	ck_assert_str_eq(config_get_str(cfg, "job.queue"), "system");
	ck_assert_str_eq(origin(cfg, "job.queue"), "etc/cluster.yaml:3:3");
	ck_assert_int_eq(config_get_num(cfg, "job.memory"), 3LL << 30);
	ck_assert_str_eq(origin(cfg, "job.memory"), "etc/profiles.d/10-site.yaml:3:11");
	ck_assert_int_eq(config_get_num(cfg, "job.walltime"), 7200);
	ck_assert_str_eq(origin(cfg, "job.walltime"),
			 "home/.config/cluster/cluster.yaml:1:1");
	ck_assert_int_eq(config_get_num(cfg, "job.nodes"), 3);
	ck_assert_str_eq(origin(cfg, "job.nodes"), "explicit.yaml:2:5");
	ck_assert_str_eq(config_get_str(cfg, "job.account"), "fromset");
	ck_assert_str_eq(origin(cfg, "job.account"), "--set");
	ck_assert_int_eq(config_get_num(cfg, "job.gpus"), 1);
	ck_assert_str_eq(origin(cfg, "job.shell"), "default");
	ck_assert_str_eq(config_profile_reason(cfg) + strlen("profile: in ") + strlen(root) + 1,
			 "etc/cluster.yaml:1:10");
	config_destroy(cfg);
}
END_TEST

START_TEST(cluster_config_env)
{
	write_file("env.yaml", "job: {cores: 5}\n");
	setenv("CLUSTER_CONFIG", path_of("env.yaml"), 1);
	struct config *cfg = load_ok();
	ck_assert_int_eq(config_get_num(cfg, "job.cores"), 5);
	ck_assert_str_eq(origin(cfg, "job.cores"), "env.yaml:1:7");
	config_destroy(cfg);

	/* --config wins over $CLUSTER_CONFIG */
	write_file("flag.yaml", "job: {cores: 6}\n");
	src.config_file = path_of("flag.yaml");
	cfg = load_ok();
	ck_assert_int_eq(config_get_num(cfg, "job.cores"), 6);
	config_destroy(cfg);

	/* a missing explicit file is an error */
	src.config_file = path_of("missing.yaml");
	ck_assert_str_eq(load_fails(),
			 "cannot read config file 'missing.yaml': no such file or directory");
	unsetenv("CLUSTER_CONFIG");
}
END_TEST

START_TEST(account_from_environment)
{
	write_file("data/p.yaml", "profiles: {p: {backend: pbs}}\n");
	src.profile = "p";
	setenv("PBS_ACCOUNT", "NCAR0001", 1);
	struct config *cfg = load_ok();
	ck_assert_str_eq(config_get_str(cfg, "job.account"), "NCAR0001");
	ck_assert_str_eq(origin(cfg, "job.account"), "env PBS_ACCOUNT");
	config_destroy(cfg);
	setenv("PBS_ACCOUNT", "x;y", 1);
	ck_assert_str_eq(load_fails(),
			 "environment variable 'PBS_ACCOUNT': invalid value 'x;y' for 'job.account': only letters, digits and the characters _.@+%=:,/- are allowed");
	unsetenv("PBS_ACCOUNT");
}
END_TEST

START_TEST(inherit_chain)
{
	write_file("data/a.yaml",
		   "profiles:\n"
		   "  base:\n"
		   "    backend: pbs\n"
		   "    job: {cores: 4, queue: basequeue, nodes: 2}\n");
	write_file("data/b.yaml",
		   "profiles:\n"
		   "  mid:\n"
		   "    inherit: base\n"
		   "    job: {cores: 16}\n");
	/* sorts before its ancestors: order of files must not matter */
	write_file("data/0.yaml",
		   "profiles:\n"
		   "  leaf:\n"
		   "    inherit: mid\n"
		   "    job: {queue: leafqueue}\n");
	write_file("home/.config/cluster/cluster.yaml",
		   "profiles:\n"
		   "  base:\n"
		   "    job: {nodes: 9}\n");
	src.profile = "leaf";
	struct config *cfg = load_ok();
	ck_assert_str_eq(config_profile_reason(cfg), "--profile");
	ck_assert_str_eq(config_get_str(cfg, "backend"), "pbs");
	ck_assert_int_eq(config_get_num(cfg, "job.cores"), 16);
	ck_assert_str_eq(config_get_str(cfg, "job.queue"), "leafqueue");
	ck_assert_str_eq(origin(cfg, "job.queue"), "data/0.yaml:4:11");
	/* a later layer's ancestor setting still beats an earlier layer's
	 * descendant */
	ck_assert_int_eq(config_get_num(cfg, "job.nodes"), 9);

	const struct config_profile_info *info;
	unsigned n = config_profiles(cfg, &info);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(info[0].name, "base");
	ck_assert_str_eq(info[1].name, "leaf");
	ck_assert_str_eq(info[1].inherit, "mid");
	ck_assert_str_eq(info[2].name, "local");
	ck_assert_str_eq(info[3].name, "mid");
	ck_assert_str_eq(info[0].origin + strlen(root) + 1,
			 "home/.config/cluster/cluster.yaml");
	config_destroy(cfg);
}
END_TEST

START_TEST(inherit_cycle)
{
	write_file("data/c.yaml",
		   "profiles:\n"
		   "  one:\n"
		   "    inherit: two\n"
		   "  two:\n"
		   "    inherit: three\n"
		   "  three:\n"
		   "      inherit: one\n");
	ck_assert_str_eq(load_fails(),
			 "data/c.yaml:3:14: profile 'one' inherits itself: one -> two -> three -> one");
	struct err err = { "" };
	ck_assert_int_eq(config_check_file(path_of("data/c.yaml"), &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "c.yaml:3:14: profile 'one' inherits itself"));
}
END_TEST

START_TEST(inherit_self)
{
	write_file("data/c.yaml", "profiles:\n  me: {inherit: me}\n");
	ck_assert_str_eq(load_fails(),
			 "data/c.yaml:2:17: profile 'me' inherits itself: me -> me");
}
END_TEST

START_TEST(inherit_unknown)
{
	write_file("data/u.yaml",
		   "profiles:\n"
		   "  kid:\n"
		   "    inherit: nobody\n");
	ck_assert_str_eq(load_fails(),
			 "data/u.yaml:3:14: profile 'kid' inherits unknown profile 'nobody' (known: kid, local)");
	/* on its own the file may name a parent from another layer */
	struct err err = { "" };
	ck_assert_int_eq(config_check_file(path_of("data/u.yaml"), &err), 0);
}
END_TEST

static void write_site_profiles(void)
{
	write_file("data/casper.yaml",
		   "profiles:\n  casper: {hosts: [\"casper*\", \"crhtc*\"], backend: pbs}\n");
	write_file("data/derecho.yaml",
		   "profiles:\n  derecho: {hosts: [\"derecho*\", \"dec[0-9]*\"], backend: pbs}\n");
}

START_TEST(auto_by_hostname)
{
	write_site_profiles();
	src.hostname = "crhtc42";
	struct config *cfg = load_ok();
	ck_assert_str_eq(config_profile_name(cfg), "casper");
	ck_assert_str_eq(config_profile_reason(cfg),
			 "auto: hostname 'crhtc42' matches 'crhtc*' (profile casper)");
	ck_assert_str_eq(config_get_str(cfg, "backend"), "pbs");
	config_destroy(cfg);

	/* the short name counts too */
	src.hostname = "dec1234.hsn.de.hpc.ucar.edu";
	cfg = load_ok();
	ck_assert_str_eq(config_profile_name(cfg), "derecho");
	config_destroy(cfg);

	src.hostname = "laptop";
	cfg = load_ok();
	ck_assert_str_eq(config_profile_name(cfg), "local");
	ck_assert_str_eq(config_profile_reason(cfg),
			 "auto: no pattern matches hostname 'laptop', fallback local");
	config_destroy(cfg);

	/* a file may ask for auto explicitly; a user's patterns come first */
	write_file("home/.config/cluster/cluster.yaml",
		   "profile: auto\n"
		   "profiles:\n  mine: {hosts: [\"casper0*\"]}\n");
	src.hostname = "casper07";
	cfg = load_ok();
	ck_assert_str_eq(config_profile_name(cfg), "mine");
	config_destroy(cfg);
}
END_TEST

START_TEST(unknown_profile)
{
	write_site_profiles();
	src.profile = "cheyenne";
	ck_assert_str_eq(load_fails(),
			 "unknown profile 'cheyenne' (known: casper, derecho, local)");
	src.profile = NULL;
	write_file("home/.config/cluster/cluster.yaml", "profile: cheyenne\n");
	ck_assert_str_eq(load_fails(),
			 "home/.config/cluster/cluster.yaml:1:10: unknown profile 'cheyenne' (known: casper, derecho, local)");
}
END_TEST

/* Each broken file in the user layer: the exact message. */
static const char *user_file_fails(const char *text)
{
	write_file("home/.config/cluster/cluster.yaml", text);
	const char *msg = load_fails();
	const char *prefix = "home/.config/cluster/";
	ck_assert_msg(!strncmp(msg, prefix, strlen(prefix)), "message '%s'", msg);
	return msg + strlen(prefix);
}

START_TEST(error_positions)
{
	ck_assert_str_eq(user_file_fails("backend: pbs\n"
					 "job:\n"
					 "  queue: q\n"
					 "    \n"
					 "  corse: 4\n"),
			 "cluster.yaml:5:3: unknown key 'job.corse' (did you mean 'job.cores'?)");
	ck_assert_str_eq(user_file_fails("job:\n    corse: 4\n"),
			 "cluster.yaml:2:5: unknown key 'job.corse' (did you mean 'job.cores'?)");
	ck_assert_str_eq(user_file_fails("job:\n  memory: 4 gigs\n"),
			 "cluster.yaml:2:11: invalid value '4 gigs' for 'job.memory': expected a size like 4GiB or 1.5GB");
	ck_assert_str_eq(user_file_fails("job: {cores: 100001}\n"),
			 "cluster.yaml:1:14: invalid value '100001' for 'job.cores': expected an integer from 1 to 100000");
	ck_assert_str_eq(user_file_fails("job:\n  cores: -3\n"),
			 "cluster.yaml:2:10: invalid value '-3' for 'job.cores': expected an integer from 1 to 100000");
	ck_assert_str_eq(user_file_fails("job:\n  walltime: soon\n"),
			 "cluster.yaml:2:13: invalid value 'soon' for 'job.walltime': expected a duration like 01:30:00, 90m or 2h");
	ck_assert_str_eq(user_file_fails("backend: sge\n"),
			 "cluster.yaml:1:10: invalid value 'sge' for 'backend': expected one of local, slurm, pbs, torque");
	ck_assert_str_eq(user_file_fails("job:\n  cores: [1, 2]\n"),
			 "cluster.yaml:2:10: 'job.cores' expected an integer from 1 to 100000, found a list");
	ck_assert_str_eq(user_file_fails("job:\n  extra: -l x\n"),
			 "cluster.yaml:2:10: 'job.extra' expected a list like [\"a\", \"b\"], found a value");
	ck_assert_str_eq(user_file_fails("job: 4\n"),
			 "cluster.yaml:1:6: 'job' is a group of keys: expected a mapping like job: {key: value}");
}
END_TEST

START_TEST(duplicate_dotted_and_nested)
{
	/* job.cores and job: {cores} are the same key */
	write_file("home/.config/cluster/cluster.yaml",
		   "job.cores: 2\njob:\n  cores: 3\n");
	const char *msg = load_fails();
	ck_assert_ptr_nonnull(strstr(msg, "cluster.yaml:3:3: duplicate key 'job.cores' (first set at "));
	ck_assert_ptr_nonnull(strstr(msg, "cluster.yaml:1:1)"));
}
END_TEST

START_TEST(syntax_error)
{
	ck_assert_str_eq(user_file_fails("job:\n  cores: 4\n queue: x\n"),
			 "cluster.yaml:3:2: YAML syntax error: did not find expected key (while parsing a block mapping at line 1, column 1)");
	const char *m = user_file_fails("job: [1, 2\nbackend: pbs\n");
	ck_assert_msg(!strncmp(m, "cluster.yaml:2:", 15) &&
		      strstr(m, "YAML syntax error: did not find expected ',' or ']'"),
		      "message '%s'", m);
	m = user_file_fails("job:\n\tcores: 4\n");
	ck_assert_msg(!strncmp(m, "cluster.yaml:2:1: YAML syntax error:", 36),
		      "message '%s'", m);
	m = user_file_fails("job: {cores: 1}\n---\njob: {cores: 2}\n");
	ck_assert_str_eq(m, "cluster.yaml:3:1: a second YAML document; a config file holds one");
}
END_TEST

START_TEST(env_expansion)
{
	setenv("CFGTEST_DIR", "/scratch/me", 1);
	setenv("CFGTEST_Q", "premium", 1);
	write_file("home/.config/cluster/cluster.yaml",
		   "job:\n"
		   "  log-directory: ${CFGTEST_DIR}/logs\n"
		   "  queue: \"${CFGTEST_Q}\"\n"
		   "  template: '${CFGTEST_DIR}/t.sh'\n"
		   "  prologue: [\"cd ${CFGTEST_DIR}\", 'echo $HOME ${HOME}']\n");
	struct config *cfg = load_ok();
	ck_assert_str_eq(config_get_str(cfg, "job.log-directory"), "/scratch/me/logs");
	ck_assert_str_eq(config_get_str(cfg, "job.queue"), "premium");
	ck_assert_str_eq(config_get_str(cfg, "job.template"), "${CFGTEST_DIR}/t.sh");
	char *const *pro = config_get_list(cfg, "job.prologue");
	ck_assert_str_eq(pro[0], "cd /scratch/me");
	ck_assert_str_eq(pro[1], "echo $HOME ${HOME}");
	ck_assert_ptr_null(pro[2]);
	ck_assert_uint_eq(config_get(cfg, "job.prologue")->nlist, 2);
	config_destroy(cfg);
	unsetenv("CFGTEST_DIR");
	unsetenv("CFGTEST_Q");
}
END_TEST

START_TEST(env_unset_is_error)
{
	unsetenv("CFGTEST_NOT_SET");
	ck_assert_str_eq(user_file_fails("job:\n"
					 "  log-directory: /a/${CFGTEST_NOT_SET}/b\n"),
			 "cluster.yaml:2:21: environment variable 'CFGTEST_NOT_SET' is not set (in 'job.log-directory'; single quotes keep '${CFGTEST_NOT_SET}' literal)");
	ck_assert_str_eq(user_file_fails("job:\n"
					 "  prologue:\n"
					 "    - \"x ${CFGTEST_NOT_SET}\"\n"),
			 "cluster.yaml:3:10: environment variable 'CFGTEST_NOT_SET' is not set (in 'job.prologue'; single quotes keep '${CFGTEST_NOT_SET}' literal)");
	const char *m = user_file_fails("job:\n  template: x${not a name}\n");
	ck_assert_msg(strstr(m, "cluster.yaml:2:14: bad variable reference '${not a name}' in 'job.template'"),
		      "message '%s'", m);
}
END_TEST

START_TEST(word_rejects_shell)
{
	ck_assert_str_eq(user_file_fails("job:\n  queue: casper; rm -rf ~\n"),
			 "cluster.yaml:2:10: invalid value 'casper; rm -rf ~' for 'job.queue': only letters, digits and the characters _.@+%=:,/- are allowed");
	ck_assert_str_eq(user_file_fails("job: {account: \"$(id)\"}\n"),
			 "cluster.yaml:1:16: invalid value '$(id)' for 'job.account': only letters, digits and the characters _.@+%=:,/- are allowed");
	ck_assert_str_eq(user_file_fails("job:\n  shell: \"/bin/sh\\nrm x\"\n"),
			 "cluster.yaml:2:10: invalid value '/bin/sh\\nrm x' for 'job.shell': newlines and other control characters are not allowed");
	ck_assert_str_eq(user_file_fails("job:\n  extra: [\"a\\tb\"]\n"),
			 "cluster.yaml:2:11: invalid item 'a\\tb' in 'job.extra': newlines and other control characters are not allowed");
	/* the allowed set passes */
	write_file("home/.config/cluster/cluster.yaml",
		   "job: {account: \"A-b_c.d@e+f%g=h:i,j/k\"}\n");
	struct config *cfg = load_ok();
	ck_assert_str_eq(config_get_str(cfg, "job.account"), "A-b_c.d@e+f%g=h:i,j/k");
	config_destroy(cfg);
}
END_TEST

START_TEST(set_override)
{
	write_file("home/.config/cluster/cluster.yaml",
		   "job: {cores: 4, queue: q, memory: 8GB}\n");
	const char *sets[] = { "job.cores=12", "job.memory=1.5GiB", "job.queue=",
			       "job.extra=[\"-l place=scatter\", -V]",
			       "launch.args=--oversubscribe", NULL };
	src.sets = sets;
	struct config *cfg = load_ok();
	ck_assert_int_eq(config_get_num(cfg, "job.cores"), 12);
	ck_assert_str_eq(origin(cfg, "job.cores"), "--set");
	ck_assert_int_eq(config_get_num(cfg, "job.memory"), 1610612736LL);
	ck_assert_str_eq(config_get_str(cfg, "job.memory"), "1.5GiB");
	ck_assert_ptr_null(config_get_str(cfg, "job.queue"));
	char *const *extra = config_get_list(cfg, "job.extra");
	ck_assert_str_eq(extra[0], "-l place=scatter");
	ck_assert_str_eq(extra[1], "-V");
	ck_assert_ptr_null(extra[2]);
	ck_assert_str_eq(config_get_list(cfg, "launch.args")[0], "--oversubscribe");
	config_destroy(cfg);
}
END_TEST

START_TEST(set_errors)
{
	const char *unknown[] = { "job.corse=4", NULL };
	src.sets = unknown;
	ck_assert_str_eq(load_fails(),
			 "--set job.corse: unknown key 'job.corse' (did you mean 'job.cores'?)");
	const char *bad[] = { "job.cores=many", NULL };
	src.sets = bad;
	ck_assert_str_eq(load_fails(),
			 "--set job.cores: invalid value 'many' for 'job.cores': expected an integer from 1 to 100000");
	const char *shell[] = { "job.queue=a`b`", NULL };
	src.sets = shell;
	ck_assert_str_eq(load_fails(),
			 "--set job.queue: invalid value 'a`b`' for 'job.queue': only letters, digits and the characters _.@+%=:,/- are allowed");
	const char *noeq[] = { "job.cores", NULL };
	src.sets = noeq;
	ck_assert_str_eq(load_fails(), "--set wants KEY=VALUE, got 'job.cores'");
}
END_TEST

START_TEST(null_unsets)
{
	write_file("data/p.yaml",
		   "profiles:\n  p: {job: {queue: q, extra: [a]}}\n");
	write_file("home/.config/cluster/cluster.yaml",
		   "profile: p\njob:\n  queue: ~\n  extra: []\n");
	struct config *cfg = load_ok();
	ck_assert(!config_get(cfg, "job.queue")->set);
	ck_assert_str_eq(origin(cfg, "job.queue"), "home/.config/cluster/cluster.yaml:3:3");
	ck_assert_ptr_null(config_get_list(cfg, "job.extra")[0]);
	config_destroy(cfg);
}
END_TEST

START_TEST(broken_user_file)
{
	write_file("home/.config/cluster/cluster.yaml", "job: {cores: 4\n");
	const char *m = load_fails();
	ck_assert_msg(!strncmp(m, "home/.config/cluster/cluster.yaml:", 34) &&
		      strstr(m, "YAML syntax error"), "message '%s'", m);
	/* an unreadable file is an error too, not a skipped layer */
	write_file("home/.config/cluster/cluster.yaml", "");
	chmod(path_of("home/.config/cluster/cluster.yaml"), 0);
	if (access(path_of("home/.config/cluster/cluster.yaml"), R_OK) != 0) {
		m = load_fails();
		ck_assert_msg(strstr(m, "cannot read config file"), "message '%s'", m);
	}
	/* an empty file is fine */
	chmod(path_of("home/.config/cluster/cluster.yaml"), 0600);
	struct config *cfg = load_ok();
	config_destroy(cfg);
}
END_TEST

START_TEST(profile_shapes)
{
	ck_assert_str_eq(user_file_fails("profiles:\n  auto: {}\n"),
			 "cluster.yaml:2:3: invalid profile name 'auto': use letters, digits and _.- (and not 'auto', which picks a profile by hostname)");
	ck_assert_str_eq(user_file_fails("profiles:\n  p:\n    hots: [a]\n"),
			 "cluster.yaml:3:5: unknown key 'hots' (did you mean 'hosts'?)");
	ck_assert_str_eq(user_file_fails("profiles:\n  p: 3\n"),
			 "cluster.yaml:2:6: profile 'p' expected a mapping of settings, found a value");
	ck_assert_str_eq(user_file_fails("profils:\n  p: {}\n"),
			 "cluster.yaml:1:1: unknown key 'profils' (did you mean 'profiles'?)");
	ck_assert_str_eq(user_file_fails("- a\n- b\n"),
			 "cluster.yaml:1:1: expected a mapping of settings at the top, found a list");
}
END_TEST

START_TEST(suggestions)
{
	ck_assert_str_eq(config_suggest_key("job.corse"), "job.cores");
	ck_assert_str_eq(config_suggest_key("job.memroy"), "job.memory");
	ck_assert_str_eq(config_suggest_key("walltime"), "job.walltime");
	ck_assert_str_eq(config_suggest_key("job.waltime"), "job.walltime");
	ck_assert_str_eq(config_suggest_key("backnd"), "backend");
	ck_assert_ptr_null(config_suggest_key("frobnicate"));
	ck_assert_ptr_nonnull(config_key_find("job.cores"));
	ck_assert_ptr_null(config_key_find("job"));
}
END_TEST

START_TEST(check_file)
{
	struct err err = { "" };

	write_file("ok.yaml", "profile: mine\nprofiles:\n  mine:\n    inherit: generic-pbs\n    job: {cores: 4}\n");
	ck_assert_int_eq(config_check_file(path_of("ok.yaml"), &err), 0);
	write_file("bad.yaml", "job:\n  cores: lots\n");
	ck_assert_int_eq(config_check_file(path_of("bad.yaml"), &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "bad.yaml:2:10: invalid value 'lots'"));
	ck_assert_int_eq(config_check_file(path_of("none.yaml"), &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "cannot read config file"));
}
END_TEST

/* The profiles that ship with cluster load and say what they should. */
START_TEST(bundled_profiles)
{
	free((char *)src.datadir);
	src.datadir = strdup(CLUSTER_SRCDIR "/config");
	src.hostname = "casper-login1";
	struct config *cfg = load_ok();
	ck_assert_str_eq(config_profile_name(cfg), "casper");
	ck_assert_str_eq(config_get_str(cfg, "backend"), "pbs");
	ck_assert_str_eq(config_get_str(cfg, "job.queue"), "casper");
	char *const *args = config_get_list(cfg, "launch.args");
	ck_assert_str_eq(args[0], "--hostfile");
	ck_assert_str_eq(args[1], "$PBS_NODEFILE");
	config_destroy(cfg);

	src.hostname = "derecho3";
	cfg = load_ok();
	ck_assert_str_eq(config_profile_name(cfg), "derecho");
	ck_assert_int_eq(config_get_num(cfg, "job.cores"), 128);
	ck_assert_str_eq(config_get_str(cfg, "job.queue"), "main");
	ck_assert_str_eq(config_get_str(cfg, "job.priority"), "regular");
	ck_assert_int_le(config_get_num(cfg, "job.walltime"), 12 * 3600);
	ck_assert_int_le(config_get_num(cfg, "job.memory"), 235LL << 30);
	config_destroy(cfg);

	src.profile = "torque";
	cfg = load_ok();
	ck_assert_str_eq(config_get_str(cfg, "backend"), "torque");
	ck_assert_str_eq(config_get_list(cfg, "launch.args")[1], "$PBS_NODEFILE");
	config_destroy(cfg);

	src.profile = NULL;
	src.hostname = "laptop";
	cfg = load_ok();
	ck_assert_str_eq(config_profile_name(cfg), "local");
	ck_assert_str_eq(config_get_str(cfg, "backend"), "local");
	ck_assert_str_eq(config_get_str(cfg, "scheduler.location"), "local");
	const struct config_profile_info *info;
	unsigned n = config_profiles(cfg, &info);
	const char *want[] = { "casper", "casper-gpu", "derecho", "generic-pbs",
			       "generic-slurm", "local", "torque" };
	ck_assert_uint_eq(n, 7);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_str_eq(info[i].name, want[i]);
		ck_assert_ptr_nonnull(info[i].description);
	}
	config_destroy(cfg);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_only);
	tcase_add_test(tc, layer_order_and_origins);
	tcase_add_test(tc, cluster_config_env);
	tcase_add_test(tc, account_from_environment);
	tcase_add_test(tc, inherit_chain);
	tcase_add_test(tc, inherit_cycle);
	tcase_add_test(tc, inherit_self);
	tcase_add_test(tc, inherit_unknown);
	tcase_add_test(tc, auto_by_hostname);
	tcase_add_test(tc, unknown_profile);
	tcase_add_test(tc, error_positions);
	tcase_add_test(tc, duplicate_dotted_and_nested);
	tcase_add_test(tc, syntax_error);
	tcase_add_test(tc, env_expansion);
	tcase_add_test(tc, env_unset_is_error);
	tcase_add_test(tc, word_rejects_shell);
	tcase_add_test(tc, set_override);
	tcase_add_test(tc, set_errors);
	tcase_add_test(tc, null_unsets);
	tcase_add_test(tc, broken_user_file);
	tcase_add_test(tc, profile_shapes);
	tcase_add_test(tc, suggestions);
	tcase_add_test(tc, check_file);
	tcase_add_test(tc, bundled_profiles);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * Job sizing and job scripts: the default split of cores, sizing errors,
 * memory requests that never fall short, whole scripts for every backend
 * and role against the files in tests/golden/, and values that must never
 * run as shell code.
 *
 * CLUSTER_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing;
 * review the difference before committing it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "jobscript/jobscript.h"
#include "util/units.h"

#ifndef CLUSTER_SRCDIR
#define CLUSTER_SRCDIR "."
#endif

#define RANK_PATH "/opt/cluster/bin/cluster-rank"
#define STATE_DIR "/home/user/.cluster/default"

static char tmpdir[64];
static char empty_dir[128];
static char config_path[128];

/* Site profiles for the tests, independent of the bundled ones so that
 * the golden files only change when rendering does. */
static const char test_config[] =
	"profiles:\n"
	"  casper:\n"
	"    backend: pbs\n"
	"    job:\n"
	"      name: casper-dask\n"
	"      queue: casper\n"
	"      account: NCAR0001\n"
	"      cores: 8\n"
	"      memory: 4GB\n"
	"      walltime: 4h\n"
	"      log-directory: /glade/derecho/scratch/user/logs\n"
	"    launch:\n"
	"      command: mpirun\n"
	"      args: ['--hostfile', '$PBS_NODEFILE']\n"
	"  derecho:\n"
	"    backend: pbs\n"
	"    job:\n"
	"      name: derecho-dask\n"
	"      queue: main\n"
	"      account: NCAR0002\n"
	"      nodes: 2\n"
	"      cores: 128\n"
	"      memory: 235GB\n"
	"      walltime: '12:00:00'\n"
	"      priority: premium\n"
	"      extra: ['-l place=scatter', '-m n']\n"
	"      skip: ['#PBS -e']\n"
	"      prologue: ['module load ncarenv openmpi', "
	"'export OMP_PROC_BIND=close']\n"
	"      epilogue: ['echo \"cluster finished: $?\"']\n"
	"    launch:\n"
	"      command: mpiexec\n"
	"      args: ['--hostfile', '$PBS_NODEFILE', '--mca', "
	"'orte_enable_recovery', '1']\n"
	"  gpu-pbs:\n"
	"    backend: pbs\n"
	"    job:\n"
	"      cores: 4\n"
	"      gpus: 1\n"
	"      memory: 16GiB\n"
	"  generic-slurm:\n"
	"    backend: slurm\n"
	"    job:\n"
	"      queue: compute\n"
	"      cores: 16\n"
	"      memory: 64GiB\n"
	"      processes: 4\n"
	"      gpus: 2\n"
	"      walltime: 90m\n"
	"      extra: ['--constraint=skylake']\n"
	"    launch:\n"
	"      command: srun\n"
	"      args: ['--mpi=pmix']\n"
	"  torque:\n"
	"    backend: torque\n"
	"    job:\n"
	"      queue: batch\n"
	"      nodes: 2\n"
	"      cores: 12\n"
	"      memory: 48GB\n"
	"      walltime: 30m\n"
	"    launch:\n"
	"      args: ['--hostfile', '$PBS_NODEFILE']\n"
	"  small:\n"
	"    backend: local\n"
	"    job:\n"
	"      cores: 2\n"
	"      memory: 1GiB\n"
	"    launch:\n"
	"      args: ['--mca', 'btl', 'self,tcp']\n"
	"  inject:\n"
	"    backend: slurm\n"
	"    job:\n"
	"      cores: 2\n"
	"      processes: 2\n"
	"    launch:\n"
	"      command: mpirun\n"
	"      args: ['$(touch @DIR@/pwned1)', '`touch @DIR@/pwned2`',\n"
	"             '\"; touch @DIR@/pwned3; \"', '$HOME', '${SLURM_NTASKS}',\n"
	"             '${X:-$(touch @DIR@/pwned4)}', 'a\\b', '$', '$1', 'x$',\n"
	"             \"it's\"]\n";

static struct config *load(const char *profile, const char *const *sets,
			   struct err *err)
{
	struct config_source src = {
		.config_file = config_path,
		.profile = profile,
		.sets = sets,
		.datadir = empty_dir,
		.sysconfdir = empty_dir,
		.home = empty_dir,
		.hostname = "testhost",
	};

	return config_load(&src, err);
}

static struct config *load_ok(const char *profile, const char *const *sets)
{
	struct err err = { "" };
	struct config *cfg = load(profile, sets, &err);

	ck_assert_msg(cfg != NULL, "profile %s: %s", profile, err.text);
	return cfg;
}

static void clean_env(void)
{
	unsetenv("CLUSTER_HOME");
	unsetenv("PBS_ACCOUNT");
	unsetenv("SLURM_ACCOUNT");
}

static int render(const struct config *cfg, enum job_role role,
		  const char *batch, struct strbuf *out, struct err *err)
{
	struct job_script_opts o = {
		.role = role,
		.cluster_name = "default",
		.batch_file = batch,
		.rank_path = RANK_PATH,
		.state_dir = STATE_DIR,
		.templates_dir = CLUSTER_SRCDIR "/jobscripts",
	};

	return job_script_render(cfg, &o, out, err);
}

static char *render_ok(const char *profile, const char *const *sets,
		       enum job_role role, const char *batch)
{
	struct config *cfg = load_ok(profile, sets);
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };

	ck_assert_msg(render(cfg, role, batch, &sb, &err) == 0, "render %s: %s",
		      profile, err.text);
	config_destroy(cfg);
	return strbuf_detach(&sb, NULL);
}

static const char *render_bad(const char *profile, const char *const *sets,
			      enum job_role role)
{
	static struct err err;
	struct config *cfg = load_ok(profile, sets);
	struct strbuf sb = STRBUF_INIT;

	memset(&err, 0, sizeof(err));
	strbuf_addstr(&sb, "kept");
	ck_assert_msg(render(cfg, role, NULL, &sb, &err) == -1,
		      "render %s succeeded", profile);
	ck_assert_str_eq(sb.buf, "kept");	/* nothing added on failure */
	ck_assert_msg(err.text[0], "no error message");
	strbuf_release(&sb);
	config_destroy(cfg);
	return err.text;
}

static void check_golden(const char *name, const char *got)
{
	struct strbuf path = STRBUF_INIT, want = STRBUF_INIT;

	strbuf_addf(&path, "%s/tests/golden/%s", CLUSTER_SRCDIR, name);
	if (getenv("CLUSTER_UPDATE_GOLDEN")) {
		FILE *fp = fopen(path.buf, "w");
		ck_assert_ptr_nonnull(fp);
		fputs(got, fp);
		ck_assert_int_eq(fclose(fp), 0);
	}
	ck_assert_msg(strbuf_read_file(&want, path.buf) == 0,
		      "cannot read '%s': %s", path.buf, strerror(errno));
	ck_assert_msg(!strcmp(want.buf, got),
		      "%s differs from the rendered script:\n%s", name, got);
	strbuf_release(&path);
	strbuf_release(&want);
}

static void golden(const char *name, const char *profile, enum job_role role,
		   const char *batch)
{
	char *got = render_ok(profile, NULL, role, batch);

	check_golden(name, got);
	free(got);
}

/* --- sizing --------------------------------------------------------------- */

START_TEST(default_processes)
{
	static const unsigned table[][2] = {
		{ 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 5 }, { 6, 3 },
		{ 7, 7 }, { 8, 4 }, { 9, 3 }, { 10, 5 }, { 12, 4 }, { 16, 4 },
		{ 18, 6 }, { 36, 6 }, { 48, 8 }, { 64, 8 }, { 97, 97 },
		{ 128, 16 }, { 0, 1 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_msg(job_default_processes(table[i][0]) == table[i][1],
			      "%u cores: %u processes, want %u", table[i][0],
			      job_default_processes(table[i][0]), table[i][1]);
}
END_TEST

static int size_with(const char *const *sets, struct job_size *js,
		     struct err *err)
{
	struct config *cfg = load_ok("small", sets);
	int rc = job_size_from_config(cfg, js, err);

	config_destroy(cfg);
	return rc;
}

START_TEST(sizing_values)
{
	struct job_size js;
	struct err err = { "" };
	const char *const derecho[] = { "job.cores=128", "job.memory=235GB",
					"job.nodes=3", "job.gpus=4", NULL };
	const char *const explicit[] = { "job.cores=36", "job.processes=9",
					 "job.memory=36GiB", NULL };

	ck_assert_int_eq(size_with(derecho, &js, &err), 0);
	ck_assert_uint_eq(js.nodes, 3);
	ck_assert_uint_eq(js.cores, 128);
	ck_assert_uint_eq(js.processes, 16);
	ck_assert_uint_eq(js.threads, 8);
	ck_assert_uint_eq(js.gpus, 4);
	ck_assert_uint_eq(js.memory, 235000000000ULL);
	ck_assert_uint_eq(js.worker_memory, 235000000000ULL / 16);
	ck_assert_uint_eq(js.walltime, 3600);

	ck_assert_int_eq(size_with(explicit, &js, &err), 0);
	ck_assert_uint_eq(js.processes, 9);
	ck_assert_uint_eq(js.threads, 4);
	ck_assert_uint_eq(js.worker_memory, 4ULL << 30);
}
END_TEST

START_TEST(sizing_errors)
{
	struct job_size js = { .nodes = 99 };
	struct err err = { "" };
	const char *const five[] = { "job.cores=36", "job.processes=5", NULL };
	const char *const more[] = { "job.cores=4", "job.processes=8", NULL };
	const char *const tiny[] = { "job.cores=4", "job.processes=4",
				     "job.memory=3B", NULL };

	ck_assert_int_eq(size_with(five, &js, &err), -1);
	ck_assert_str_eq(err.text, "job.processes = 5 does not divide job.cores = 36; "
			 "use one of 1, 2, 3, 4, 6, 9, 12, 18, 36");
	ck_assert_uint_eq(js.nodes, 99);	/* untouched on failure */
	ck_assert_int_eq(size_with(more, &js, &err), -1);
	ck_assert_str_eq(err.text, "job.processes = 8 does not divide job.cores = 4; "
			 "use one of 1, 2, 4");
	ck_assert_int_eq(size_with(tiny, &js, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "job.memory = 3B"));
	ck_assert_ptr_nonnull(strstr(err.text, "raise job.memory or lower "
				     "job.processes"));
}
END_TEST

/* --- memory ---------------------------------------------------------------- */

static void mem_is(const char *backend, uint64_t bytes, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	job_memory_render(backend, bytes, &sb);
	ck_assert_msg(!strcmp(sb.buf, want), "%s %llu bytes: '%s', want '%s'",
		      backend, (unsigned long long)bytes, sb.buf, want);
	strbuf_release(&sb);
}

START_TEST(memory_units)
{
	mem_is("pbs", 4000000000ULL, "3815MB");
	mem_is("slurm", 4000000000ULL, "3815M");
	mem_is("torque", 4000000000ULL, "3815MB");
	mem_is("pbs", 4ULL << 30, "4GB");
	mem_is("slurm", 4ULL << 30, "4G");
	mem_is("pbs", (4ULL << 30) + 1, "4097MB");
	mem_is("slurm", 1, "1M");
	mem_is("pbs", 1ULL << 20, "1MB");
	mem_is("pbs", (1ULL << 20) + 1, "2MB");
	mem_is("pbs", 235000000000ULL, "224114MB");
	mem_is("slurm", 512ULL << 30, "512G");
}
END_TEST

/* Read a rendered figure back in bytes, as PBS and Slurm read it. */
static uint64_t mem_back(const char *s)
{
	char *end;
	uint64_t n = strtoull(s, &end, 10);

	if (*end == 'G')
		return n << 30;
	ck_assert_int_eq(*end, 'M');
	return n << 20;
}

START_TEST(memory_never_short)
{
	static const char *const sizes[] = {
		"1GB", "4GB", "4GiB", "10GB", "25GB", "109GB", "235GB", "256GiB",
		"0.5GB", "7.3GB", "1000000001", "123456789B", "3TB",
	};
	static const unsigned procs[] = { 1, 2, 3, 4, 6, 8, 12, 16, 24, 48 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(procs) / sizeof(procs[0]); j++) {
			char cores[32], p[32], m[64];
			const char *const sets[] = { cores, p, m, NULL };
			struct job_size js;
			struct err err = { "" };
			struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

			snprintf(cores, sizeof(cores), "job.cores=%u", procs[j] * 2);
			snprintf(p, sizeof(p), "job.processes=%u", procs[j]);
			snprintf(m, sizeof(m), "job.memory=%s", sizes[i]);
			ck_assert_msg(size_with(sets, &js, &err) == 0, "%s", err.text);
			job_memory_render("pbs", js.memory, &a);
			job_memory_render("slurm", js.memory, &b);
			uint64_t need = (uint64_t)js.processes * js.worker_memory;
			ck_assert_uint_ge(mem_back(a.buf), need);
			ck_assert_uint_ge(mem_back(b.buf), need);
			ck_assert_uint_ge(mem_back(a.buf), js.memory);
			/* and rounded by less than one MiB */
			ck_assert_uint_lt(mem_back(a.buf), js.memory + (1ULL << 20));
			strbuf_release(&a);
			strbuf_release(&b);
		}
	}
}
END_TEST

/* --- whole scripts ----------------------------------------------------------- */

START_TEST(golden_scripts)
{
	clean_env();
	golden("casper-worker.pbs", "casper", JOB_WORKER, NULL);
	golden("casper-head.pbs", "casper", JOB_HEAD, NULL);
	golden("derecho-head.pbs", "derecho", JOB_HEAD, NULL);
	golden("derecho-worker.pbs", "derecho", JOB_WORKER, NULL);
	golden("gpu-worker.pbs", "gpu-pbs", JOB_WORKER, NULL);
	golden("torque-worker.pbs", "torque", JOB_WORKER, NULL);
	golden("torque-head.pbs", "torque", JOB_HEAD, NULL);
	golden("slurm-batch.slurm", "generic-slurm", JOB_BATCH,
	       "/home/user/tasks.txt");
	golden("generic-slurm-head.slurm", "generic-slurm", JOB_HEAD, NULL);
	golden("local-head.sh", "small", JOB_HEAD, NULL);
	golden("local-worker.sh", "small", JOB_WORKER, NULL);
	setenv("SLURM_ACCOUNT", "envproject", 1);
	golden("generic-slurm-worker.slurm", "generic-slurm", JOB_WORKER, NULL);
}
END_TEST

START_TEST(head_chunks)
{
	char *s;
	const char *const one[] = { "job.nodes=1", NULL };

	clean_env();
	/* one node: the only chunk carries the scheduler's slot */
	s = render_ok("derecho", one, JOB_HEAD, NULL);
	ck_assert_ptr_nonnull(strstr(s, "#PBS -l select=1:ncpus=128:mpiprocs=17:"
				     "ompthreads=8:mem=224114MB\n"));
	ck_assert_ptr_nonnull(strstr(s, " -n 17 '"));
	ck_assert_ptr_null(strstr(s, "--oversubscribe"));
	free(s);
	s = render_ok("derecho", one, JOB_WORKER, NULL);
	ck_assert_ptr_nonnull(strstr(s, "#PBS -l select=1:ncpus=128:mpiprocs=16:"));
	ck_assert_ptr_nonnull(strstr(s, " -n 16 '"));
	free(s);
	/* GPUs before mem=, in every chunk: mem= ends the chunk */
	const char *const gpus[] = { "job.gpus=4", NULL };
	s = render_ok("derecho", gpus, JOB_HEAD, NULL);
	ck_assert_ptr_nonnull(strstr(s, "#PBS -l select=1:ncpus=128:mpiprocs=17:"
				     "ompthreads=8:ngpus=4:mem=224114MB+1:ncpus=128:"
				     "mpiprocs=16:ompthreads=8:ngpus=4:mem=224114MB\n"));
	free(s);
}
END_TEST

START_TEST(account_from_environment)
{
	char *s;
	const char *const unset_acct[] = { "job.queue=casper", NULL };

	clean_env();
	setenv("PBS_ACCOUNT", "P93300", 1);
	setenv("SLURM_ACCOUNT", "slurmproj", 1);
	/* job.account wins over the environment */
	s = render_ok("casper", NULL, JOB_WORKER, NULL);
	ck_assert_ptr_nonnull(strstr(s, "#PBS -A NCAR0001\n"));
	ck_assert_ptr_null(strstr(s, "P93300"));
	free(s);
	s = render_ok("torque", unset_acct, JOB_WORKER, NULL);
	ck_assert_ptr_nonnull(strstr(s, "#PBS -A P93300\n"));
	free(s);
	s = render_ok("generic-slurm", NULL, JOB_WORKER, NULL);
	ck_assert_ptr_nonnull(strstr(s, "#SBATCH --account=slurmproj\n"));
	free(s);
	/* An environment value that is no single word is refused, by the
	 * loader or else by the renderer; either way the error names it. */
	setenv("PBS_ACCOUNT", "P1; rm -rf ~", 1);
	struct err err = { "" };
	struct strbuf sb = STRBUF_INIT;
	struct config *cfg = load("torque", NULL, &err);
	if (cfg) {
		ck_assert_int_eq(render(cfg, JOB_WORKER, NULL, &sb, &err), -1);
		ck_assert_str_eq(err.text, "$PBS_ACCOUNT = 'P1; rm -rf ~' is not a "
				 "valid account; set job.account or fix the variable");
		config_destroy(cfg);
	}
	ck_assert_ptr_nonnull(strstr(err.text, "PBS_ACCOUNT"));
	ck_assert_uint_eq(sb.len, 0);
	unsetenv("PBS_ACCOUNT");
	s = render_ok("torque", NULL, JOB_WORKER, NULL);
	ck_assert_ptr_null(strstr(s, "#PBS -A"));
	free(s);
}
END_TEST

START_TEST(cluster_home_exported)
{
	char *s;

	clean_env();
	setenv("CLUSTER_HOME", "/scratch/it's mine", 1);
	s = render_ok("casper", NULL, JOB_WORKER, NULL);
	ck_assert_ptr_nonnull(strstr(s, "\nexport CLUSTER_HOME='/scratch/it'\\''s "
				     "mine'\n"));
	free(s);
}
END_TEST

START_TEST(batch_relative_path)
{
	char *s, *cwd = getcwd(NULL, 0);
	struct strbuf want = STRBUF_INIT;

	clean_env();
	s = render_ok("small", NULL, JOB_BATCH, "tasks.txt");
	strbuf_addf(&want, " --run '%s/tasks.txt' ", cwd);
	ck_assert_ptr_nonnull(strstr(s, want.buf));
	ck_assert_ptr_nonnull(strstr(s, " -np 3 --oversubscribe "));
	free(s);
	free(cwd);
	strbuf_release(&want);
}
END_TEST

START_TEST(skip_and_extra)
{
	char *s;
	const char *const sets[] = { "job.queue=short", NULL };

	clean_env();
	s = render_ok("derecho", sets, JOB_WORKER, NULL);
	ck_assert_ptr_nonnull(strstr(s, "#PBS -q short\n"));
	ck_assert_ptr_nonnull(strstr(s, "#PBS -o /home/user/.cluster/default/\n"));
	ck_assert_ptr_null(strstr(s, "#PBS -e"));
	ck_assert_ptr_nonnull(strstr(s, "#PBS -l place=scatter\n#PBS -m n\n"));
	/* prologue before the launch, epilogue after */
	char *pro = strstr(s, "module load ncarenv openmpi\n");
	char *launch = strstr(s, "\nmpiexec ");
	char *epi = strstr(s, "echo \"cluster finished: $?\"\n");
	ck_assert_ptr_nonnull(pro);
	ck_assert_ptr_nonnull(launch);
	ck_assert_ptr_nonnull(epi);
	ck_assert(pro < launch && launch < epi);
	free(s);
}
END_TEST

/* --- bad input ------------------------------------------------------------- */

START_TEST(injection_rejected_by_config)
{
	struct err err = { "" };
	const char *const sets[] = { "job.queue=casper; rm -rf ~", NULL };
	struct config *cfg = load("casper", sets, &err);

	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(err.text, "job.queue"));
}
END_TEST

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int exists(const char *dir, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* Run a rendered script with an mpirun that prints its arguments, one a
 * line, into `got`; the script must first pass bash -n. */
static void run_launcher(const char *s, struct strbuf *got)
{
	char bindir[160], script[160], out[160], cmd[768];
	FILE *fp;

	snprintf(script, sizeof(script), "%s/job.sh", tmpdir);
	fp = fopen(script, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(s, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "bash -n '%s'", script);
	ck_assert_int_eq(run(cmd), 0);

	snprintf(bindir, sizeof(bindir), "%s/bin", tmpdir);
	mkdir(bindir, 0700);
	snprintf(cmd, sizeof(cmd), "%s/mpirun", bindir);
	fp = fopen(cmd, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n", fp);
	fclose(fp);
	chmod(cmd, 0700);
	snprintf(out, sizeof(out), "%s/args", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "env -i PATH='%s':/usr/bin:/bin HOME=/home/h SLURM_NTASKS=7 "
		 "PBS_NODEFILE=/var/nodes bash '%s' > '%s'", bindir, script, out);
	ck_assert_int_eq(run(cmd), 0);
	ck_assert_int_eq(strbuf_read_file(got, out), 0);
}

START_TEST(launch_args_inert)
{
	struct strbuf got = STRBUF_INIT, want = STRBUF_INIT;
	char *s;

	clean_env();
	s = render_ok("inject", NULL, JOB_WORKER, NULL);
	ck_assert_ptr_nonnull(strstr(s, "\nmpirun "));
	/* variables expand, nothing else runs */
	run_launcher(s, &got);
	for (int i = 1; i <= 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "pwned%d", i);
		ck_assert_msg(!exists(tmpdir, name), "%s was created", name);
	}
	strbuf_addf(&want,
		    "$(touch %s/pwned1)\n`touch %s/pwned2`\n\"; touch %s/pwned3; \"\n"
		    "/home/h\n7\n${X:-$(touch %s/pwned4)}\na\\b\n$\n$1\nx$\nit's\n"
		    "-np\n2\n" RANK_PATH "\n--worker-only\n--name\ndefault\n"
		    "--profile\ninject\n--cores\n1\n--memory\n1073741824\n",
		    tmpdir, tmpdir, tmpdir, tmpdir);
	ck_assert_str_eq(got.buf, want.buf);
	strbuf_release(&got);
	strbuf_release(&want);
	free(s);
}
END_TEST

/* launch.extra adds after the profile's launch.args; launch.args from a
 * later layer replaces them. */
START_TEST(launch_extra_adds)
{
	const char *const extra[] = { "launch.extra=[--bind-to, core]", NULL };
	const char *const both[] = { "launch.args=[--np-first]",
				     "launch.extra=[--bind-to, core]", NULL };
	const char *const args[] = { "launch.args=[--bind-to, core]", NULL };
	char *s;

	clean_env();
	s = render_ok("small", extra, JOB_WORKER, NULL);
	ck_assert_msg(strstr(s, "\"--mca\" \"btl\" \"self,tcp\" \"--bind-to\" "
			     "\"core\" "), "%s", s);
	free(s);
	s = render_ok("small", both, JOB_WORKER, NULL);
	ck_assert_msg(strstr(s, " \"--np-first\" \"--bind-to\" \"core\" "), "%s", s);
	ck_assert_ptr_null(strstr(s, "self,tcp"));
	free(s);
	s = render_ok("small", args, JOB_WORKER, NULL);
	ck_assert_ptr_null(strstr(s, "self,tcp"));
	free(s);
}
END_TEST

/* The ranks see the job as it was rendered: the resolved profile, the
 * configuration file, each worker's share and every --set, each reaching
 * cluster-rank as one argument, whatever it holds. */
START_TEST(rank_gets_job_config)
{
	struct strbuf sets5 = STRBUF_INIT, got = STRBUF_INIT, want = STRBUF_INIT;
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };
	char *s;

	clean_env();
	strbuf_addf(&sets5, "job.prologue=[\"echo it's $(touch %s/pwned5)\"]",
		    tmpdir);
	const char *const sets[] = { "scheduler.host=10.1.2.3", "job.cores=4",
				     "job.memory=8GB", sets5.buf, NULL };
	struct config *cfg = load_ok("casper", sets);
	struct job_script_opts o = {
		.role = JOB_WORKER,
		.cluster_name = "default",
		.rank_path = RANK_PATH,
		.state_dir = STATE_DIR,
		.templates_dir = CLUSTER_SRCDIR "/jobscripts",
		.config_file = "/etc/site's cluster.yaml",
		.sets = sets,
	};
	ck_assert_msg(job_script_render(cfg, &o, &sb, &err) == 0, "%s", err.text);
	/* The prologue is the profile's own shell and would run the
	 * command; the --set that carries it must not.  Run the launch line
	 * alone. */
	char *launch = strstr(sb.buf, "\nmpirun ");
	ck_assert_ptr_nonnull(launch);
	s = strdup(launch + 1);
	run_launcher(s, &got);
	ck_assert_msg(!exists(tmpdir, "pwned5"), "pwned5 was created");
	strbuf_addf(&want,
		    "--hostfile\n/var/nodes\n-np\n4\n" RANK_PATH "\n"
		    "--worker-only\n--name\ndefault\n--profile\ncasper\n"
		    "--config\n/etc/site's cluster.yaml\n"
		    "--cores\n1\n--memory\n2000000000\n"
		    "--set\nscheduler.host=10.1.2.3\n--set\njob.cores=4\n"
		    "--set\njob.memory=8GB\n--set\n%s\n", sets5.buf);
	ck_assert_str_eq(got.buf, want.buf);
	free(s);
	strbuf_reset(&sb);

	/* --profile names the profile `auto` resolved to, not "auto" */
	config_destroy(cfg);
	cfg = load_ok(NULL, NULL);
	ck_assert_str_eq(config_profile_name(cfg), "local");
	o.config_file = NULL;
	o.sets = NULL;
	ck_assert_msg(job_script_render(cfg, &o, &sb, &err) == 0, "%s", err.text);
	ck_assert_ptr_nonnull(strstr(sb.buf, " --name 'default' --profile 'local' "
				     "--cores '1' --memory '2147483648'\n"));
	ck_assert_ptr_null(strstr(sb.buf, "--set"));
	ck_assert_ptr_null(strstr(sb.buf, "--config"));
	strbuf_reset(&sb);

	/* what a job script cannot carry is refused, naming it */
	const char *const ctl[] = { "job.name=a\nb", NULL };
	o.sets = ctl;
	ck_assert_int_eq(job_script_render(cfg, &o, &sb, &err), -1);
	ck_assert_str_eq(err.text, "--set 'job.name=a\nb' contains a control "
			 "character, which a job script cannot pass on");
	o.sets = NULL;
	o.config_file = "site.yaml";
	ck_assert_int_eq(job_script_render(cfg, &o, &sb, &err), -1);
	ck_assert_str_eq(err.text, "the configuration file 'site.yaml' is not "
			 "an absolute path");
	ck_assert_uint_eq(sb.len, 0);

	config_destroy(cfg);
	strbuf_release(&sb);
	strbuf_release(&sets5);
	strbuf_release(&got);
	strbuf_release(&want);
}
END_TEST

START_TEST(render_errors)
{
	char path[160];
	FILE *fp;
	struct strbuf set = STRBUF_INIT;

	clean_env();
	const char *const missing[] = { "job.template=nosuch.sh", NULL };
	ck_assert_ptr_nonnull(strstr(render_bad("casper", missing, JOB_WORKER),
				     "cannot read job script template '"
				     CLUSTER_SRCDIR "/jobscripts/nosuch.sh'"));

	snprintf(path, sizeof(path), "%s/bad.sh", tmpdir);
	fp = fopen(path, "w");
	fputs("#!@SHELL@\n@DIRECTIVES@\necho @NAME@\n@LAUNCH@\n", fp);
	fclose(fp);
	strbuf_addf(&set, "job.template=%s", path);
	const char *const bad[] = { set.buf, NULL };
	ck_assert_ptr_nonnull(strstr(render_bad("casper", bad, JOB_WORKER),
				     "bad.sh:3: unknown placeholder '@NAME@'"));

	fp = fopen(path, "w");
	fputs("#!@SHELL@\n@DIRECTIVES@\necho hi\n", fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(render_bad("casper", bad, JOB_WORKER),
				     "has no @LAUNCH@ line"));

	fp = fopen(path, "w");
	fputs("#!@SHELL@\n@DIRECTIVES@\ntime @LAUNCH@\n", fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(render_bad("casper", bad, JOB_WORKER),
				     "bad.sh:3: placeholder '@LAUNCH@' must stand "
				     "alone on its line"));

	/* a custom template that works, with "$@" left alone */
	fp = fopen(path, "w");
	fputs("#!@SHELL@ -l\n#@ note\n@DIRECTIVES@\nset -- \"$@\"\n@LAUNCH@\n", fp);
	fclose(fp);
	char *s = render_ok("small", bad, JOB_WORKER, NULL);
	/* the launch line between the lines of the worker ranks' verdict */
	ck_assert_str_eq(s, "#!/bin/bash -l\nset -- \"$@\"\n"
			 "cluster_verdict=\"${CLUSTER_HOME:-$HOME/.cluster}\"/"
			 "'default'/verdict.\"$CLUSTER_JOB_ID\"\n"
			 "if [ \"${CLUSTER_JOB_INDEX:--1}\" != -1 ]; then "
			 "cluster_verdict=\"${cluster_verdict}_$CLUSTER_JOB_INDEX\"; "
			 "fi\nrm -f \"$cluster_verdict\".rank*\n"
			 "mpirun \"--mca\" "
			 "\"btl\" \"self,tcp\" -np 2 '" RANK_PATH
			 "' --worker-only --name 'default' --profile 'small' "
			 "--cores '1' --memory '536870912'\n"
			 "cluster_status=$?\n"
			 "# why worker ranks gave up, which the launcher's status "
			 "may not carry\n"
			 "for cluster_f in \"$cluster_verdict\".rank*; do\n"
			 "\tif [ \"$cluster_status\" = 0 ] && [ -s \"$cluster_f\" ]; "
			 "then read -r cluster_status <\"$cluster_f\"; fi\n"
			 "\trm -f \"$cluster_f\"\ndone\n"
			 "trap 'exit \"$cluster_status\"' EXIT\n");
	free(s);

	const char *const logdir[] = { "job.log-directory=/my logs", NULL };
	ck_assert_ptr_nonnull(strstr(render_bad("casper", logdir, JOB_WORKER),
				     "job.log-directory '/my logs' contains a space"));
	const char *const shell[] = { "job.shell=bash", NULL };
	ck_assert_ptr_nonnull(strstr(render_bad("casper", shell, JOB_WORKER),
				     "job.shell = 'bash' is not an absolute path"));
	const char *const divide[] = { "job.processes=3", NULL };
	ck_assert_ptr_nonnull(strstr(render_bad("casper", divide, JOB_WORKER),
				     "job.processes = 3 does not divide job.cores = 8"));
	strbuf_release(&set);
}
END_TEST

START_TEST(opts_errors)
{
	struct config *cfg = load_ok("casper", NULL);
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };
	struct job_script_opts o = {
		.role = JOB_WORKER, .cluster_name = "default",
		.rank_path = "bin/cluster-rank", .state_dir = STATE_DIR,
		.templates_dir = CLUSTER_SRCDIR "/jobscripts",
	};

	clean_env();
	ck_assert_int_eq(job_script_render(cfg, &o, &sb, &err), -1);
	ck_assert_str_eq(err.text, "the path of cluster-rank 'bin/cluster-rank' "
			 "is not absolute");
	o.rank_path = RANK_PATH;
	o.role = JOB_BATCH;
	ck_assert_int_eq(job_script_render(cfg, &o, &sb, &err), -1);
	ck_assert_str_eq(err.text, "a batch job script needs a tasks file");
	ck_assert_uint_eq(sb.len, 0);
	strbuf_release(&sb);
	config_destroy(cfg);
}
END_TEST

static void write_config(void)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = test_config, *at;
	FILE *fp;

	while ((at = strstr(p, "@DIR@"))) {
		strbuf_add(&sb, p, (size_t)(at - p));
		strbuf_addstr(&sb, tmpdir);
		p = at + 5;
	}
	strbuf_addstr(&sb, p);
	fp = fopen(config_path, "w");
	if (!fp || fputs(sb.buf, fp) < 0 || fclose(fp)) {
		perror(config_path);
		exit(1);
	}
	strbuf_release(&sb);
}

int main(void)
{
	Suite *s = suite_create("jobscript");
	TCase *tc = tcase_create("jobscript");
	SRunner *sr;
	int failed;
	char cmd[128];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_jobscript.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(empty_dir, sizeof(empty_dir), "%s/empty", tmpdir);
	snprintf(config_path, sizeof(config_path), "%s/cluster.yaml", tmpdir);
	mkdir(empty_dir, 0700);
	write_config();

	tcase_add_test(tc, default_processes);
	tcase_add_test(tc, sizing_values);
	tcase_add_test(tc, sizing_errors);
	tcase_add_test(tc, memory_units);
	tcase_add_test(tc, memory_never_short);
	tcase_add_test(tc, golden_scripts);
	tcase_add_test(tc, head_chunks);
	tcase_add_test(tc, account_from_environment);
	tcase_add_test(tc, cluster_home_exported);
	tcase_add_test(tc, batch_relative_path);
	tcase_add_test(tc, skip_and_extra);
	tcase_add_test(tc, injection_rejected_by_config);
	tcase_add_test(tc, launch_args_inert);
	tcase_add_test(tc, launch_extra_adds);
	tcase_add_test(tc, rank_gets_job_config);
	tcase_add_test(tc, render_errors);
	tcase_add_test(tc, opts_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove '%s'\n", tmpdir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

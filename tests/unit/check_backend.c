/*
 * check_backend: the batch systems' ops tables.  Status, history and
 * submit output is read from the files in tests/unit/data/backend/ (see
 * the README there: recorded from the private Slurm and Slurm's Torque
 * wrappers where this machine can produce it, written after the
 * documented formats where it cannot, PBS Pro's JSON among them); the
 * argv builders are checked word by word; local jobs run as real process
 * groups, and the command runner runs real /bin/sh children.
 *
 * Longer than most suites: one backend module, every batch system's
 * states in one place, so that a code mapped differently in two tables
 * shows up side by side.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "backend/backend.h"
#include "backend/run.h"
#include "util/strbuf.h"

#ifndef CLUSTER_SRCDIR
#define CLUSTER_SRCDIR "."
#endif

#define DATA CLUSTER_SRCDIR "/tests/unit/data/backend/"

/* 2026-12-01T10:00:00 UTC */
#define T0 1796119200LL

static char tmpdir[64];

static char *data(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	char path[256];

	snprintf(path, sizeof(path), DATA "%s", name);
	ck_assert_msg(strbuf_read_file(&sb, path) == 0, "cannot read %s", path);
	return strbuf_detach(&sb, NULL);
}

static void parse_file(int (*parse)(const char *, struct job_status_list *,
				    struct err *),
		       const char *name, struct job_status_list *list)
{
	struct err err = { "" };
	char *out = data(name);

	ck_assert_msg(parse(out, list, &err) == 0, "%s: %s", name, err.text);
	free(out);
}

static const struct job_status *by_name(const struct job_status_list *l,
					const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	ck_abort_msg("no record named '%s'", name);
	return NULL;
}

static const struct job_status *by_id(const struct job_status_list *l,
				      const char *id, long index)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].ref.id, id) && l->v[i].ref.index == index)
			return &l->v[i];
	ck_abort_msg("no record for '%s' index %ld", id, index);
	return NULL;
}

static void state_is(const struct job_status *st, enum job_state state,
		     enum job_end end, const char *raw)
{
	ck_assert_msg(st->state == state && st->end == end &&
		      !strcmp(st->raw, raw),
		      "job %s[%ld] (%s): %s/%s '%s', want %s/%s '%s'",
		      st->ref.id, st->ref.index, st->name,
		      job_state_name(st->state), job_end_name(st->end), st->raw,
		      job_state_name(state), job_end_name(end), raw);
}

static void argv_is(const struct backend_argv *a, const char *const *want)
{
	size_t n = 0;

	for (; want[n]; n++) {
		ck_assert_msg(n < a->n, "argv has %zu words, want more: '%s'",
			      a->n, want[n]);
		ck_assert_str_eq(a->v[n], want[n]);
	}
	ck_assert_uint_eq(a->n, n);
	ck_assert_ptr_null(a->v[n]);
}

static struct job_ref ref(const char *id, int array, long index)
{
	struct job_ref r;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	r.array = array;
	r.index = index;
	return r;
}

/* --- the table ---------------------------------------------------------- */

START_TEST(lookup)
{
	ck_assert_ptr_eq(backend_find("local"), &backend_local);
	ck_assert_ptr_eq(backend_find("slurm"), &backend_slurm);
	ck_assert_ptr_eq(backend_find("pbs"), &backend_pbs);
	ck_assert_ptr_eq(backend_find("torque"), &backend_torque);
	ck_assert_ptr_null(backend_find("sge"));
	ck_assert_ptr_null(backend_find(NULL));
	ck_assert_str_eq(backend_names[0], "local");
	ck_assert_str_eq(backend_names[3], "torque");
	ck_assert_ptr_null(backend_names[4]);
	for (const char *const *n = backend_names; *n; n++)
		ck_assert_str_eq(backend_find(*n)->name, *n);

	ck_assert(!backend_local.is_batch && !backend_local.prefix);
	ck_assert(backend_slurm.is_batch && backend_pbs.is_batch &&
		  backend_torque.is_batch);
	ck_assert_str_eq(backend_slurm.account_env, "SLURM_ACCOUNT");
	ck_assert_str_eq(backend_torque.account_env, "PBS_ACCOUNT");
	ck_assert_ptr_null(backend_local.account_env);
	ck_assert_str_eq(backend_slurm.array_index_env, "SLURM_ARRAY_TASK_ID");
	ck_assert_str_eq(backend_pbs.array_index_env, "PBS_ARRAY_INDEX");
	ck_assert_str_eq(backend_torque.array_index_env, "PBS_ARRAYID");
	ck_assert_ptr_null(backend_torque.history_argv);
	ck_assert(backend_pbs.dry_run_holds && !backend_slurm.dry_run_holds);

	ck_assert_str_eq(job_state_name(JOB_STATE_QUEUED), "queued");
	ck_assert_str_eq(job_state_name(JOB_STATE_ENDED), "ended");
	ck_assert_str_eq(job_state_name((enum job_state)99), "unknown");
	ck_assert_str_eq(job_end_name(JOB_END_WALLTIME), "walltime");
	ck_assert_str_eq(job_end_name(JOB_END_LOST), "lost");
}
END_TEST

START_TEST(memory_and_directives)
{
	struct backend_job j = { .nodes = 2, .memory = 4000000000ULL };
	struct strbuf sb = STRBUF_INIT;
	static char error_opt[] = "--error";
	char *const skip[] = { error_opt, NULL };

	backend_slurm.memory_request(&j, &sb);
	ck_assert_str_eq(sb.buf, "--mem=3815M");
	strbuf_reset(&sb);
	backend_pbs.memory_request(&j, &sb);
	ck_assert_str_eq(sb.buf, "mem=3815MB");
	strbuf_reset(&sb);
	backend_torque.memory_request(&j, &sb);
	ck_assert_str_eq(sb.buf, "mem=7630MB");	/* the whole job's */
	strbuf_reset(&sb);
	backend_local.memory(4ULL << 30, &sb);
	ck_assert_str_eq(sb.buf, "4G");
	strbuf_reset(&sb);

	struct backend_job w = {
		.name = "n", .log_dir = "/logs", .walltime = 5400, .nodes = 1,
		.cores = 4, .processes = 2, .threads = 2, .memory = 1ULL << 30,
		.skip = skip,
	};
	backend_slurm.directives(&backend_slurm, &w, &sb);
	ck_assert_str_eq(sb.buf,
			 "#SBATCH --job-name=n\n#SBATCH --nodes=1\n"
			 "#SBATCH --ntasks-per-node=2\n#SBATCH --cpus-per-task=2\n"
			 "#SBATCH --mem=1G\n#SBATCH --time=01:30:00\n"
			 "#SBATCH --output=/logs/%x-%j.out\n");
	strbuf_reset(&sb);
	w.head = 1;
	w.skip = NULL;
	backend_pbs.directives(&backend_pbs, &w, &sb);
	ck_assert_ptr_nonnull(strstr(sb.buf, "#PBS -l select=1:ncpus=4:mpiprocs=3:"
				     "ompthreads=2:mem=1GB\n"));
	ck_assert_ptr_null(backend_local.directives);
	strbuf_release(&sb);
}
END_TEST

/* --- Slurm ------------------------------------------------------------------ */

START_TEST(slurm_squeue_live)
{
	struct job_status_list l = { 0 };
	const struct job_status *st;

	parse_file(backend_slurm.parse_status, "slurm-squeue-live.txt", &l);
	ck_assert_uint_eq(l.n, 17);

	st = by_name(&l, "rec-run");
	state_is(st, JOB_STATE_RUNNING, JOB_END_NONE, "R");
	ck_assert_str_eq(st->ref.id, "59");
	ck_assert(!st->ref.array && st->ref.index == -1);
	ck_assert_str_eq(st->reason, "");
	ck_assert_int_eq(st->submit_time, T0 + 19 * 60 + 57);
	ck_assert_int_eq(st->start_time, T0 + 19 * 60 + 59);
	ck_assert_int_eq(st->end_time, 0);		/* NONE */
	ck_assert_int_eq(st->time_limit, -1);		/* UNLIMITED */

	st = by_name(&l, "rec-timeout");
	ck_assert_int_eq(st->time_limit, 60);		/* 1:00 */
	ck_assert_int_eq(st->end_time, T0 + 20 * 60 + 59);

	st = by_name(&l, "rec-hold");
	state_is(st, JOB_STATE_HELD, JOB_END_NONE, "PD");
	ck_assert_str_eq(st->reason, "JobHeldUser");
	ck_assert_int_eq(st->start_time, 0);		/* N/A */
	st = by_name(&l, "rec-dep");
	state_is(st, JOB_STATE_QUEUED, JOB_END_NONE, "PD");
	ck_assert_str_eq(st->reason, "Dependency");
	state_is(by_name(&l, "rec-begin"), JOB_STATE_QUEUED, JOB_END_NONE, "PD");
	state_is(by_name(&l, "rec-suspended"), JOB_STATE_SUSPENDED, JOB_END_NONE,
		 "S");
	state_is(by_name(&l, "rec-ok"), JOB_STATE_ENDED, JOB_END_COMPLETED, "CD");
	st = by_name(&l, "rec-fail");
	state_is(st, JOB_STATE_ENDED, JOB_END_FAILED, "F");
	ck_assert_str_eq(st->reason, "NonZeroExitCode");
	ck_assert(!st->has_exit);			/* squeue does not say */
	state_is(by_name(&l, "rec-cancel"), JOB_STATE_ENDED, JOB_END_CANCELLED,
		 "CA");
	st = by_name(&l, "rec-special");
	state_is(st, JOB_STATE_ENDED, JOB_END_FAILED, "SE");
	ck_assert_str_eq(st->reason, "job requeued in held state");

	/* array elements: base id and index apart */
	st = by_id(&l, "67", 0);
	state_is(st, JOB_STATE_RUNNING, JOB_END_NONE, "R");
	ck_assert(st->ref.array);
	st = by_id(&l, "67", 3);
	state_is(st, JOB_STATE_QUEUED, JOB_END_NONE, "PD");
	ck_assert_str_eq(st->reason, "JobArrayTaskLimit");

	/* a '|' in the name does not shift the fields */
	st = by_name(&l, "rec-name|with bar");
	ck_assert_int_eq(st->time_limit, ((2 * 24 + 3) * 60 + 5) * 60);
	job_status_list_release(&l);
}
END_TEST

START_TEST(slurm_squeue_completing_and_ended)
{
	struct job_status_list l = { 0 };
	const struct job_status *st;

	parse_file(backend_slurm.parse_status, "slurm-squeue-completing.txt", &l);
	state_is(by_name(&l, "rec-cancel"), JOB_STATE_ENDING, JOB_END_NONE, "CG");
	state_is(by_name(&l, "rec-requeue"), JOB_STATE_ENDING, JOB_END_NONE, "CG");
	job_status_list_release(&l);

	parse_file(backend_slurm.parse_status, "slurm-squeue-ended.txt", &l);
	st = by_name(&l, "rec-timeout");
	state_is(st, JOB_STATE_ENDED, JOB_END_WALLTIME, "TO");
	ck_assert_str_eq(st->reason, "TimeLimit");
	st = by_name(&l, "rec-deadline");
	state_is(st, JOB_STATE_ENDED, JOB_END_WALLTIME, "DL");
	ck_assert_str_eq(st->reason, "DeadLine");
	state_is(by_id(&l, "67", 2), JOB_STATE_ENDED, JOB_END_CANCELLED, "CA");
	for (size_t i = 0; i < l.n; i++)
		ck_assert_int_eq(l.v[i].state, JOB_STATE_ENDED);
	job_status_list_release(&l);
}
END_TEST

START_TEST(slurm_every_code)
{
	struct job_status_list l = { 0 };
	struct err err = { "" };
	const struct job_status *st;
	char *out = data("slurm-squeue-written.txt");
	static const struct {
		const char *name, *raw;
		enum job_state state;
		enum job_end end;
		int transitional;
	} want[] = {
		{ "written-configuring", "CF", JOB_STATE_STARTING, JOB_END_NONE, 0 },
		{ "written-stopped", "ST", JOB_STATE_SUSPENDED, JOB_END_NONE, 0 },
		{ "written-requeued", "RQ", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
		{ "written-requeue-hold", "RH", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
		{ "written-requeue-fed", "RF", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
		{ "written-resizing", "RS", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
		{ "written-signaling", "SI", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
		{ "written-stage-out", "SO", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
		{ "written-preempted", "PR", JOB_STATE_ENDED, JOB_END_PREEMPTED, 0 },
		{ "written-node-fail", "NF", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
		{ "written-boot-fail", "BF", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
		{ "written-oom", "OOM", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
		{ "written-revoked", "RV", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
		{ "written-held-admin", "PD", JOB_STATE_HELD, JOB_END_NONE, 0 },
		{ "written-held-system", "PD", JOB_STATE_HELD, JOB_END_NONE, 0 },
		{ "written-unknown-code", "XX", JOB_STATE_UNKNOWN, JOB_END_NONE, 0 },
		{ "written-long-name", "RUNNING", JOB_STATE_RUNNING, JOB_END_NONE, 0 },
		{ "written-after-garbage", "PD", JOB_STATE_QUEUED, JOB_END_NONE, 0 },
	};

	/* the line that is no record is named; every other is still read */
	ck_assert_int_eq(backend_slurm.parse_status(out, &l, &err), -1);
	ck_assert_str_eq(err.text, "squeue output line 19 is no job record: "
			 "'not a squeue line'");
	ck_assert_uint_eq(l.n, 19);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		st = by_name(&l, want[i].name);
		state_is(st, want[i].state, want[i].end, want[i].raw);
		ck_assert_int_eq(st->transitional, want[i].transitional);
	}
	st = by_name(&l, "written-array-rest");	/* "4-9": the rest of it */
	ck_assert(st->ref.array && st->ref.index == -1);
	ck_assert_int_eq(by_name(&l, "written-configuring")->time_limit, 3600);
	ck_assert_int_eq(by_name(&l, "written-after-garbage")->time_limit, 1800);
	job_status_list_release(&l);
	free(out);
}
END_TEST

START_TEST(slurm_sacct)
{
	struct job_status_list l = { 0 };
	const struct job_status *st;

	parse_file(backend_slurm.parse_history, "slurm-sacct-written.txt", &l);
	ck_assert_uint_eq(l.n, 18);
	st = by_id(&l, "201", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_COMPLETED, "COMPLETED");
	ck_assert(st->has_exit && st->exit_status == 0 && st->signal == 0);
	ck_assert_int_eq(st->submit_time, T0);
	ck_assert_int_eq(st->end_time, T0 + 30 * 60);
	ck_assert_int_eq(st->time_limit, 3600);
	st = by_id(&l, "202", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_FAILED, "FAILED");
	ck_assert_int_eq(st->exit_status, 3);
	st = by_id(&l, "203", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_CANCELLED, "CANCELLED");
	ck_assert_str_eq(st->reason, "by 1000");	/* who cancelled it */
	ck_assert_int_eq(st->signal, 15);
	state_is(by_id(&l, "204", -1), JOB_STATE_ENDED, JOB_END_WALLTIME,
		 "TIMEOUT");
	state_is(by_id(&l, "205", -1), JOB_STATE_ENDED, JOB_END_FAILED,
		 "OUT_OF_MEMORY");
	state_is(by_id(&l, "206", -1), JOB_STATE_ENDED, JOB_END_FAILED,
		 "NODE_FAIL");
	state_is(by_id(&l, "207", -1), JOB_STATE_ENDED, JOB_END_PREEMPTED,
		 "PREEMPTED");
	state_is(by_id(&l, "208", -1), JOB_STATE_ENDED, JOB_END_FAILED,
		 "BOOT_FAIL");
	state_is(by_id(&l, "209", -1), JOB_STATE_ENDED, JOB_END_WALLTIME,
		 "DEADLINE");
	state_is(by_id(&l, "210", 4), JOB_STATE_ENDED, JOB_END_COMPLETED,
		 "COMPLETED");
	st = by_id(&l, "210", 5);
	state_is(st, JOB_STATE_RUNNING, JOB_END_NONE, "RUNNING");
	ck_assert(!st->has_exit);
	ck_assert_int_eq(st->end_time, 0);		/* Unknown */
	st = by_id(&l, "210", -1);			/* 210_[6-9] */
	ck_assert(st->ref.array);
	state_is(st, JOB_STATE_QUEUED, JOB_END_NONE, "PENDING");
	st = by_id(&l, "211", -1);
	state_is(st, JOB_STATE_UNKNOWN, JOB_END_NONE, "REQUEUED");
	ck_assert(st->transitional);
	ck_assert(by_id(&l, "212", -1)->transitional);
	state_is(by_id(&l, "213", -1), JOB_STATE_ENDED, JOB_END_FAILED, "REVOKED");
	state_is(by_id(&l, "214", -1), JOB_STATE_ENDED, JOB_END_FAILED,
		 "SPECIAL_EXIT");
	st = by_id(&l, "215", -1);
	state_is(st, JOB_STATE_HELD, JOB_END_NONE, "PENDING");
	ck_assert_int_eq(st->time_limit, 0);		/* Partition_Limit */
	st = by_id(&l, "216", -1);
	state_is(st, JOB_STATE_SUSPENDED, JOB_END_NONE, "SUSPENDED");
	ck_assert_str_eq(st->name, "name|with bar");
	ck_assert_int_eq(st->time_limit, 86400);
	job_status_list_release(&l);
}
END_TEST

START_TEST(slurm_commands)
{
	struct backend_argv a = BACKEND_ARGV_INIT;
	struct err err = { "" };
	struct job_ref r, refs[3];
	char *out;

	struct backend_submit s = { .script = "/s/job.sh", .name = "pool-7" };
	ck_assert_int_eq(backend_slurm.submit_argv(&s, &a, &err), 0);
	argv_is(&a, (const char *[]){ "sbatch", "--parsable", "--job-name=pool-7",
				      "/s/job.sh", NULL });
	backend_argv_release(&a);
	s = (struct backend_submit){ .script = "j", .hold = 1, .dry_run = 1,
				     .array = 1, .first = 0, .last = 999 };
	ck_assert_int_eq(backend_slurm.submit_argv(&s, &a, &err), 0);
	argv_is(&a, (const char *[]){ "sbatch", "--parsable", "--hold",
				      "--test-only", "--array=0-999", "j", NULL });
	backend_argv_release(&a);
	ck_assert_int_eq(backend_slurm.array_args(3, 3, &a, &err), 0);
	argv_is(&a, (const char *[]){ "--array=3-3", NULL });
	backend_argv_release(&a);
	ck_assert_int_eq(backend_slurm.array_args(4, 3, &a, &err), -1);
	ck_assert_uint_eq(a.n, 0);

	out = data("slurm-sbatch.out");
	ck_assert_int_eq(backend_slurm.parse_submit(out, &r, &err), 0);
	ck_assert_str_eq(r.id, "57");
	ck_assert(!r.array && r.index == -1);
	free(out);
	out = data("slurm-sbatch-array.out");
	ck_assert_int_eq(backend_slurm.parse_submit(out, &r, &err), 0);
	ck_assert_str_eq(r.id, "67");
	free(out);
	out = data("slurm-sbatch-cluster.out");
	ck_assert_int_eq(backend_slurm.parse_submit(out, &r, &err), 0);
	ck_assert_str_eq(r.id, "123");
	free(out);
	out = data("slurm-sbatch-test-only.err");
	ck_assert_int_eq(backend_slurm.parse_submit(out, &r, &err), -1);
	ck_assert_str_eq(err.text, "sbatch printed no job id");
	free(out);
	ck_assert_int_eq(backend_slurm.parse_submit("", &r, &err), -1);
	ck_assert_int_eq(backend_slurm.parse_submit("12a\n", &r, &err), -1);

	refs[0] = ref("100", 0, -1);
	refs[1] = ref("123", 1, 7);
	refs[2] = ref("124", 1, -1);
	backend_slurm.cancel_argv(refs, 3, &a);
	argv_is(&a, (const char *[]){ "scancel", "100", "123_7", "124", NULL });
	backend_argv_release(&a);
	/* the user's jobs, not the ids: one forgotten id fails squeue -j */
	backend_slurm.status_argv(refs, 3, &a);
	argv_is(&a, (const char *[]){ "squeue", "--me", "-h", "-r", "-t", "all",
				      "-o", "%F|%K|%t|%r|%V|%S|%e|%l|%j", NULL });
	backend_argv_release(&a);
	backend_slurm.history_argv(refs, 3, &a);
	argv_is(&a, (const char *[]){ "sacct", "-X", "-n", "-P", "-j",
				      "100,123_7,124", "-o",
				      "JobID,State,ExitCode,Reason,Submit,Start,"
				      "End,Timelimit,JobName", NULL });
	backend_argv_release(&a);
	ck_assert_str_eq(backend_slurm.command_env[0], "SLURM_TIME_FORMAT=standard");
}
END_TEST

/* --- PBS Pro -------------------------------------------------------------- */

START_TEST(pbs_status_json)
{
	struct job_status_list l = { 0 };
	const struct job_status *st;

	parse_file(backend_pbs.parse_status, "pbs-qstat-f.json", &l);
	ck_assert_uint_eq(l.n, 16);
	st = by_id(&l, "1001", -1);
	state_is(st, JOB_STATE_QUEUED, JOB_END_NONE, "Q");
	ck_assert_str_eq(st->reason, "Not Running: Insufficient amount of "
			 "resource: ncpus (R: 8 A: 0 T: 128)");
	ck_assert_int_eq(st->submit_time, T0);
	ck_assert_int_eq(st->time_limit, 3600);
	ck_assert_str_eq(st->name, "cluster");
	state_is(by_id(&l, "1002", -1), JOB_STATE_QUEUED, JOB_END_NONE, "W");
	ck_assert_int_eq(by_id(&l, "1002", -1)->time_limit, 4 * 3600);
	state_is(by_id(&l, "1003", -1), JOB_STATE_QUEUED, JOB_END_NONE, "T");
	state_is(by_id(&l, "1004", -1), JOB_STATE_QUEUED, JOB_END_NONE, "M");
	st = by_id(&l, "1005", -1);
	state_is(st, JOB_STATE_HELD, JOB_END_NONE, "H");
	ck_assert_str_eq(st->reason, "Hold_Types=u");
	st = by_id(&l, "1006", -1);
	state_is(st, JOB_STATE_HELD, JOB_END_NONE, "H");
	ck_assert_str_eq(st->reason, "job held, too many failed attempts to run");
	st = by_id(&l, "1007", -1);
	state_is(st, JOB_STATE_RUNNING, JOB_END_NONE, "R");
	ck_assert_int_eq(st->start_time, T0 + 60);

	/* the array and its subjobs */
	st = by_id(&l, "1008", -1);
	state_is(st, JOB_STATE_RUNNING, JOB_END_NONE, "B");
	ck_assert(st->ref.array);
	st = by_id(&l, "1008", 0);
	state_is(st, JOB_STATE_ENDED, JOB_END_COMPLETED, "X");
	ck_assert(st->ref.array && st->has_exit && st->exit_status == 0);
	ck_assert_int_eq(st->end_time, T0 + 11 * 60);
	st = by_id(&l, "1008", 1);
	state_is(st, JOB_STATE_ENDED, JOB_END_CANCELLED, "X");
	ck_assert_int_eq(st->exit_status, 271);
	ck_assert_int_eq(st->signal, SIGTERM);
	state_is(by_id(&l, "1008", 2), JOB_STATE_RUNNING, JOB_END_NONE, "R");
	state_is(by_id(&l, "1008", 3), JOB_STATE_QUEUED, JOB_END_NONE, "Q");

	st = by_id(&l, "1009", -1);
	state_is(st, JOB_STATE_ENDING, JOB_END_NONE, "E");
	ck_assert(st->has_exit);			/* known, not yet ended */
	state_is(by_id(&l, "1010", -1), JOB_STATE_SUSPENDED, JOB_END_NONE, "S");
	state_is(by_id(&l, "1011", -1), JOB_STATE_SUSPENDED, JOB_END_NONE, "U");
	state_is(by_id(&l, "1012", -1), JOB_STATE_UNKNOWN, JOB_END_NONE, "Z");
	job_status_list_release(&l);
}
END_TEST

START_TEST(pbs_history_json)
{
	struct job_status_list l = { 0 };
	const struct job_status *st;

	parse_file(backend_pbs.parse_history, "pbs-qstat-x.json", &l);
	ck_assert_uint_eq(l.n, 6);
	st = by_id(&l, "2001", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_COMPLETED, "F");
	ck_assert_int_eq(st->end_time, T0 + 31 * 60);
	st = by_id(&l, "2002", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_WALLTIME, "F");
	ck_assert_int_eq(st->exit_status, -29);
	ck_assert_int_eq(st->signal, 0);
	st = by_id(&l, "2003", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_CANCELLED, "F");
	ck_assert_int_eq(st->signal, SIGTERM);
	st = by_id(&l, "2004", -1);			/* "1": a string */
	state_is(st, JOB_STATE_ENDED, JOB_END_FAILED, "F");
	ck_assert_int_eq(st->exit_status, 1);
	st = by_id(&l, "2005", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_FAILED, "F");
	ck_assert_int_eq(st->signal, SIGSEGV);
	st = by_id(&l, "2006", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_LOST, "F");
	ck_assert(!st->has_exit);
	job_status_list_release(&l);
}
END_TEST

START_TEST(pbs_bad_output)
{
	struct job_status_list l = { 0 };
	struct err err = { "" };

	/* every id unknown: nothing on stdout, or no "Jobs" */
	ck_assert_int_eq(backend_pbs.parse_status("", &l, &err), 0);
	ck_assert_int_eq(backend_pbs.parse_status(" \n", &l, &err), 0);
	ck_assert_int_eq(backend_pbs.parse_status("{\"timestamp\":1}", &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(backend_pbs.parse_status("{\"Jobs\":{", &l, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "qstat output is not JSON"));
	ck_assert_int_eq(backend_pbs.parse_status("{\"Jobs\":[]}", &l, &err), -1);
	ck_assert_int_eq(backend_pbs.parse_status(
		"{\"Jobs\":{\"x.s\":{\"job_state\":\"R\"},"
		"\"5.s\":{\"job_state\":\"R\"},\"6.s\":{}}}", &l, &err), -1);
	ck_assert_str_eq(err.text, "qstat output: job 'x.s' has no readable id "
			 "or job_state");
	ck_assert_uint_eq(l.n, 1);			/* 5.s is still read */
	ck_assert_str_eq(l.v[0].ref.id, "5");
	job_status_list_release(&l);
}
END_TEST

START_TEST(pbs_commands)
{
	struct backend_argv a = BACKEND_ARGV_INIT;
	struct err err = { "" };
	struct job_ref r, refs[3];
	char *out;

	struct backend_submit s = { .script = "job.pbs", .name = "pool-7",
				    .array = 1, .first = 0, .last = 9 };
	ck_assert_int_eq(backend_pbs.submit_argv(&s, &a, &err), 0);
	argv_is(&a, (const char *[]){ "qsub", "-N", "pool-7", "-J", "0-9",
				      "job.pbs", NULL });
	backend_argv_release(&a);
	/* no dry-run flag: held, then cancelled by the caller */
	s = (struct backend_submit){ .script = "job.pbs", .dry_run = 1 };
	ck_assert_int_eq(backend_pbs.submit_argv(&s, &a, &err), 0);
	argv_is(&a, (const char *[]){ "qsub", "-h", "job.pbs", NULL });
	backend_argv_release(&a);
	/* never a one-element array */
	s = (struct backend_submit){ .script = "j", .array = 1, .first = 5,
				     .last = 5 };
	ck_assert_int_eq(backend_pbs.submit_argv(&s, &a, &err), -1);
	ck_assert_str_eq(err.text, "PBS Pro refuses array 5-5: an array needs at "
			 "least two elements; submit a plain job");
	backend_argv_release(&a);
	ck_assert_int_eq(backend_pbs.array_args(0, 1, &a, &err), 0);
	argv_is(&a, (const char *[]){ "-J", "0-1", NULL });
	backend_argv_release(&a);

	out = data("pbs-qsub.out");
	ck_assert_int_eq(backend_pbs.parse_submit(out, &r, &err), 0);
	ck_assert_str_eq(r.id, "1001");
	ck_assert(!r.array);
	free(out);
	out = data("pbs-qsub-array.out");
	ck_assert_int_eq(backend_pbs.parse_submit(out, &r, &err), 0);
	ck_assert_str_eq(r.id, "1008");
	ck_assert(r.array && r.index == -1);
	free(out);
	ck_assert_int_eq(backend_pbs.parse_submit("qsub: Unknown queue\n", &r,
						  &err), -1);
	ck_assert_str_eq(err.text, "qsub printed no job id");

	refs[0] = ref("100", 0, -1);
	refs[1] = ref("123", 1, 7);
	refs[2] = ref("124", 1, -1);
	backend_pbs.cancel_argv(refs, 3, &a);
	argv_is(&a, (const char *[]){ "qdel", "100", "123[7]", "124[]", NULL });
	backend_argv_release(&a);
	backend_pbs.status_argv(refs, 3, &a);
	argv_is(&a, (const char *[]){ "qstat", "-f", "-F", "json", "-t", "100",
				      "123[7]", "124[]", NULL });
	backend_argv_release(&a);
	backend_pbs.history_argv(refs, 1, &a);
	argv_is(&a, (const char *[]){ "qstat", "-x", "-f", "-F", "json", "-t",
				      "100", NULL });
	backend_argv_release(&a);
}
END_TEST

/* --- Torque --------------------------------------------------------------- */

START_TEST(torque_wrapper_output)
{
	struct job_status_list l = { 0 };
	const struct job_status *st;
	char *out;
	struct job_ref r;
	struct err err = { "" };

	parse_file(backend_torque.parse_status, "torque-wrapper-qstat-f-live.txt",
		   &l);
	ck_assert_uint_eq(l.n, 6);
	st = by_name(&l, "rec-run");
	state_is(st, JOB_STATE_RUNNING, JOB_END_NONE, "R");
	ck_assert_str_eq(st->ref.id, "59");
	ck_assert_int_eq(st->submit_time, T0 + 19 * 60 + 57);
	state_is(by_name(&l, "rec-hold"), JOB_STATE_QUEUED, JOB_END_NONE, "Q");
	state_is(by_name(&l, "rec-suspended"), JOB_STATE_SUSPENDED, JOB_END_NONE,
		 "S");
	/* the wrapper prints C and no exit status for every end */
	state_is(by_name(&l, "rec-ok"), JOB_STATE_ENDED, JOB_END_LOST, "C");
	state_is(by_name(&l, "rec-fail"), JOB_STATE_ENDED, JOB_END_LOST, "C");
	job_status_list_release(&l);

	parse_file(backend_torque.parse_status, "torque-wrapper-qstat-f-ended.txt",
		   &l);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(by_name(&l, "rec-timeout")->time_limit, 60);
	job_status_list_release(&l);
	ck_assert_int_eq(backend_torque.parse_status("", &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);

	out = data("torque-wrapper-qsub.out");
	ck_assert_int_eq(backend_torque.parse_submit(out, &r, &err), 0);
	ck_assert_str_eq(r.id, "74");
	free(out);
}
END_TEST

START_TEST(torque_qstat_f)
{
	struct job_status_list l = { 0 };
	struct err err = { "" };
	const struct job_status *st;

	parse_file(backend_torque.parse_status, "torque-qstat-f-written.txt", &l);
	ck_assert_uint_eq(l.n, 8);
	st = by_id(&l, "3001", -1);
	state_is(st, JOB_STATE_RUNNING, JOB_END_NONE, "R");
	ck_assert_int_eq(st->submit_time, T0);
	ck_assert_int_eq(st->start_time, T0 + 60);
	ck_assert_int_eq(st->time_limit, 3600);
	st = by_id(&l, "3002", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_COMPLETED, "C");
	ck_assert_int_eq(st->end_time, T0 + 15 * 60);
	st = by_id(&l, "3003", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_WALLTIME, "C");
	ck_assert_str_eq(st->reason, "job exceeded its walltime limit and was "
			 "killed by the server after 00:30:05");
	st = by_id(&l, "3004", -1);
	state_is(st, JOB_STATE_ENDED, JOB_END_CANCELLED, "C");
	ck_assert_int_eq(st->signal, SIGTERM);
	state_is(by_id(&l, "3005", -1), JOB_STATE_ENDED, JOB_END_FAILED, "C");
	st = by_id(&l, "3006", 4);
	state_is(st, JOB_STATE_HELD, JOB_END_NONE, "H");
	ck_assert(st->ref.array);
	ck_assert_str_eq(st->reason, "Hold_Types=u");
	state_is(by_id(&l, "3007", -1), JOB_STATE_QUEUED, JOB_END_NONE, "W");
	state_is(by_id(&l, "3008", -1), JOB_STATE_ENDING, JOB_END_NONE, "E");
	job_status_list_release(&l);

	/* a bad id or a job without job_state is named and left out */
	ck_assert_int_eq(backend_torque.parse_status(
		"Job Id: x.s\n    job_state = R\nJob Id: 7.s\n    job_state = R\n"
		"Job Id: 8.s\n    Job_Name = a\n", &l, &err), -1);
	ck_assert_str_eq(err.text, "qstat output line 1: cannot read job id 'x.s'");
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.v[0].ref.id, "7");
	job_status_list_release(&l);
	ck_assert_int_eq(backend_torque.parse_status(
		"Job Id: 8.s\n    Job_Name = a\n", &l, &err), -1);
	ck_assert_str_eq(err.text, "qstat output: job '8' has no job_state");
	ck_assert_uint_eq(l.n, 0);
	job_status_list_release(&l);
}
END_TEST

START_TEST(torque_commands)
{
	struct backend_argv a = BACKEND_ARGV_INIT;
	struct err err = { "" };
	struct job_ref refs[2];

	struct backend_submit s = { .script = "job.pbs", .hold = 1, .array = 1,
				    .first = 2, .last = 2 };
	ck_assert_int_eq(backend_torque.submit_argv(&s, &a, &err), 0);
	argv_is(&a, (const char *[]){ "qsub", "-h", "-t", "2-2", "job.pbs", NULL });
	backend_argv_release(&a);
	refs[0] = ref("100", 0, -1);
	refs[1] = ref("123", 1, 7);
	backend_torque.cancel_argv(refs, 2, &a);
	argv_is(&a, (const char *[]){ "qdel", "100", "123[7]", NULL });
	backend_argv_release(&a);
	/* no -t in Slurm's wrapper, -x is XML: elements by name */
	backend_torque.status_argv(refs, 2, &a);
	argv_is(&a, (const char *[]){ "qstat", "-f", "100", "123[7]", NULL });
	backend_argv_release(&a);
}
END_TEST

/* --- local ---------------------------------------------------------------- */

static pid_t start_local(const char *body, const char *name, long index,
			 const char *output)
{
	char script[128];
	FILE *fp;
	pid_t pid;
	struct err err = { "" };

	snprintf(script, sizeof(script), "%s/job-%s.sh", tmpdir, name);
	fp = fopen(script, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "#!/bin/sh\n%s\n", body);
	fclose(fp);
	chmod(script, 0755);
	struct backend_local_job job = { .script = script, .name = name,
					 .index = index, .output = output };
	ck_assert_msg(backend_local_submit(&job, &pid, &err) == 0, "%s", err.text);
	return pid;
}

/* Status until it is `state`, at most 5 s. */
static void wait_for(pid_t pid, enum job_state state, struct job_status *st)
{
	for (int i = 0; i < 500; i++) {
		backend_local_status(pid, st);
		if (st->state == state)
			return;
		usleep(10000);
	}
	ck_abort_msg("job %d is %s, not %s", (int)pid, job_state_name(st->state),
		     job_state_name(state));
}

START_TEST(local_jobs)
{
	struct job_status st;
	struct strbuf sb = STRBUF_INIT;
	char out[128];
	pid_t pid;

	snprintf(out, sizeof(out), "%s/env.out", tmpdir);
	setenv("CLUSTER_JOB_NAME", "inherited", 1);
	pid = start_local("echo \"$CLUSTER_JOB_NAME $CLUSTER_JOB_INDEX $$\"; "
			  "exit 3", "envjob", 4, out);
	wait_for(pid, JOB_STATE_ENDED, &st);
	state_is(&st, JOB_STATE_ENDED, JOB_END_FAILED, "exited");
	ck_assert_int_eq(st.exit_status, 3);
	backend_local_status(pid, &st);			/* not reaped: same */
	ck_assert_int_eq(st.exit_status, 3);
	ck_assert_int_eq(backend_local_reap(pid), 0);
	ck_assert_int_eq(backend_local_reap(pid), -1);
	ck_assert_int_eq(errno, ECHILD);
	backend_local_status(pid, &st);
	state_is(&st, JOB_STATE_ENDED, JOB_END_LOST, "gone");
	ck_assert_int_eq(strbuf_read_file(&sb, out), 0);
	snprintf(out, sizeof(out), "envjob 4 %d\n", (int)pid);
	ck_assert_str_eq(sb.buf, out);		/* ours replace the inherited */
	unsetenv("CLUSTER_JOB_NAME");

	/* a group: cancel reaches the script's own children too */
	pid = start_local("sleep 30 & wait", "sleeper", -1, NULL);
	backend_local_status(pid, &st);
	ck_assert_int_eq(st.state, JOB_STATE_RUNNING);
	snprintf(out, sizeof(out), "%d", (int)pid);
	ck_assert_str_eq(st.ref.id, out);
	ck_assert_int_eq(backend_local_cancel(pid, SIGSTOP), 0);
	wait_for(pid, JOB_STATE_SUSPENDED, &st);
	state_is(&st, JOB_STATE_SUSPENDED, JOB_END_NONE, "T");
	ck_assert_int_eq(backend_local_cancel(pid, SIGKILL), 0);
	wait_for(pid, JOB_STATE_ENDED, &st);
	state_is(&st, JOB_STATE_ENDED, JOB_END_CANCELLED, "killed");
	ck_assert_int_eq(st.signal, SIGKILL);
	ck_assert_int_eq(backend_local_reap(pid), 0);
	/* the sleep went too, once whoever inherited it has reaped it */
	for (int i = 0; i < 500 && backend_local_cancel(pid, 0) == 0; i++)
		usleep(10000);
	ck_assert_int_eq(backend_local_cancel(pid, SIGKILL), -1);
	ck_assert_int_eq(errno, ESRCH);

	pid = start_local("exit 0", "ok", -1, NULL);
	wait_for(pid, JOB_STATE_ENDED, &st);
	state_is(&st, JOB_STATE_ENDED, JOB_END_COMPLETED, "exited");
	ck_assert_int_eq(backend_local_reap(pid), 0);
	strbuf_release(&sb);
}
END_TEST

START_TEST(local_errors)
{
	struct err err = { "" };
	struct backend_local_job job = { .script = "/nonexistent/job.sh",
					 .index = -1 };
	pid_t pid;

	ck_assert_int_eq(backend_local_submit(&job, &pid, &err), -1);
	ck_assert_str_eq(err.text, "cannot start local job '/nonexistent/job.sh': "
			 "No such file or directory");
	job.script = "";
	ck_assert_int_eq(backend_local_submit(&job, &pid, &err), -1);
	ck_assert_int_eq(backend_local_cancel(0, SIGTERM), -1);
	ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* --- the command runner ------------------------------------------------------ */

/* An argv of literals, as the runner takes it (-Wwrite-strings). */
static struct backend_argv args(const char *first, ...)
{
	struct backend_argv a = BACKEND_ARGV_INIT;
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		backend_argv_push(&a, s);
	va_end(ap);
	return a;
}

static int sync_sh(const char *script, const struct backend_run_opts *opts,
		   struct backend_result *r)
{
	struct backend_argv a = args("/bin/sh", "-c", script, NULL);
	struct err err = { "" };
	int rc = backend_run_sync(a.v, opts, r, &err);

	ck_assert_msg(rc == 0, "%s: %s", script, err.text);
	backend_argv_release(&a);
	return rc;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(run_output_and_status)
{
	struct backend_result r;

	sync_sh("echo out; echo err >&2; printf 'no newline'; exit 3", NULL, &r);
	ck_assert(r.exited && !r.timed_out && !r.signal);
	ck_assert_int_eq(r.status, 3);
	ck_assert_str_eq(r.out.buf, "out\nno newline");
	ck_assert_str_eq(r.err.buf, "err\n");
	ck_assert(!r.out_truncated && !r.err_truncated);
	backend_result_release(&r);

	sync_sh("kill -USR1 $$", NULL, &r);
	ck_assert(!r.exited);
	ck_assert_int_eq(r.signal, SIGUSR1);
	backend_result_release(&r);

	/* stdin is /dev/null: cat ends at once */
	sync_sh("cat; echo done", NULL, &r);
	ck_assert(r.exited && r.status == 0);
	ck_assert_str_eq(r.out.buf, "done\n");
	backend_result_release(&r);
}
END_TEST

START_TEST(run_environment_and_descriptors)
{
	static const char *const env[] = { "CLUSTER_RUN_A=one",
					   "CLUSTER_RUN_B=two words", NULL };
	struct backend_run_opts opts = { .env = env };
	struct backend_result r;
	char script[128];
	int fd = dup(2);	/* not close-on-exec */

	setenv("CLUSTER_RUN_A", "inherited", 1);
	setenv("CLUSTER_RUN_C", "kept", 1);
	sync_sh("echo \"$CLUSTER_RUN_A|$CLUSTER_RUN_B|$CLUSTER_RUN_C\"", &opts, &r);
	ck_assert_str_eq(r.out.buf, "one|two words|kept\n");
	backend_result_release(&r);
	unsetenv("CLUSTER_RUN_A");
	unsetenv("CLUSTER_RUN_C");

	snprintf(script, sizeof(script),
		 "if [ -e /proc/self/fd/%d ]; then echo leaked; fi", fd);
	sync_sh(script, NULL, &r);
	ck_assert_str_eq(r.out.buf, "");
	backend_result_release(&r);
	close(fd);

	static const char *const bad[] = { "NOEQUALS", NULL };
	struct backend_argv a = args("/bin/true", NULL);
	struct err err = { "" };
	opts.env = bad;
	ck_assert_int_eq(backend_run_sync(a.v, &opts, &r, &err), -1);
	ck_assert_str_eq(err.text, "environment entry 'NOEQUALS' is not NAME=value");
	backend_argv_release(&a);
}
END_TEST

START_TEST(run_timeout)
{
	struct backend_run_opts opts = { .timeout_ms = 200, .grace_ms = 200 };
	struct backend_result r;
	double t = now();

	sync_sh("sleep 10", &opts, &r);
	ck_assert(r.timed_out && !r.exited);
	ck_assert_int_eq(r.signal, SIGTERM);
	ck_assert_msg(now() - t < 5, "took %.1f s", now() - t);
	backend_result_release(&r);

	/* SIGTERM ignored: SIGKILL after the grace period, to the group */
	t = now();
	sync_sh("trap '' TERM; sleep 10; echo late", &opts, &r);
	ck_assert(r.timed_out);
	ck_assert_int_eq(r.signal, SIGKILL);
	ck_assert_str_eq(r.out.buf, "");
	ck_assert_msg(now() - t < 5, "took %.1f s", now() - t);
	backend_result_release(&r);

	/* what a command leaves running in its group does not hold it */
	t = now();
	sync_sh("sleep 10 & echo started", NULL, &r);
	ck_assert(r.exited && r.status == 0 && !r.timed_out);
	ck_assert_str_eq(r.out.buf, "started\n");
	ck_assert_msg(now() - t < 5, "took %.1f s", now() - t);
	backend_result_release(&r);
}
END_TEST

START_TEST(run_output_capped)
{
	struct backend_result r;

	sync_sh("head -c 5000000 /dev/zero; echo tail >&2", NULL, &r);
	ck_assert(r.exited && r.status == 0);
	ck_assert_uint_eq(r.out.len, BACKEND_RUN_OUTPUT_MAX);
	ck_assert(r.out_truncated && !r.err_truncated);
	ck_assert_str_eq(r.err.buf, "tail\n");
	backend_result_release(&r);
}
END_TEST

START_TEST(run_cannot_start)
{
	struct backend_argv a = args("/nonexistent/qstat", NULL);
	struct backend_argv b = args("cluster-no-such-command", NULL);
	struct backend_result r;
	struct err err = { "" };

	ck_assert_int_eq(backend_run_sync(a.v, NULL, &r, &err), -1);
	ck_assert_str_eq(err.text, "cannot run '/nonexistent/qstat': No such file "
			 "or directory");
	ck_assert_int_eq(backend_run_sync(b.v, NULL, &r, &err), -1);
	ck_assert_str_eq(err.text, "cannot run 'cluster-no-such-command': No such "
			 "file or directory");
	backend_argv_release(&a);
	backend_argv_release(&b);
}
END_TEST

struct seen {
	int calls;
	int status;
	char out[64];
};

static void record(struct backend_result *r, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	s->status = r->exited ? r->status : -r->signal;
	snprintf(s->out, sizeof(s->out), "%s", r->out.buf);
}

START_TEST(run_on_a_loop)
{
	struct event_base *base = event_base_new();
	struct backend_argv quick = args("/bin/sh", "-c", "sleep 0.2; echo quick",
					 NULL);
	struct backend_argv other = args("/bin/sh", "-c", "echo other; exit 4",
					 NULL);
	struct backend_argv slow = args("/bin/sh", "-c", "sleep 10", NULL);
	struct seen a = { 0 }, b = { 0 }, c = { 0 };
	struct err err = { "" };
	struct backend_run *run;
	double t = now();

	ck_assert_ptr_nonnull(base);
	ck_assert_ptr_nonnull(backend_run_start(base, quick.v, NULL, record, &a,
						&err));
	ck_assert_ptr_nonnull(backend_run_start(base, other.v, NULL, record, &b,
						&err));
	run = backend_run_start(base, slow.v, NULL, record, &c, &err);
	ck_assert_ptr_nonnull(run);
	/* cancelled: no callback, and nothing left for the loop to wait on */
	backend_run_cancel(run);
	event_base_dispatch(base);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_str_eq(a.out, "quick\n");
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_eq(b.status, 4);
	ck_assert_str_eq(b.out, "other\n");
	ck_assert_int_eq(c.calls, 0);
	ck_assert_msg(now() - t < 5, "took %.1f s", now() - t);
	event_base_free(base);
	backend_argv_release(&quick);
	backend_argv_release(&other);
	backend_argv_release(&slow);
}
END_TEST

/* A backend's own argv through the runner: what the pool will do. */
START_TEST(run_backend_argv)
{
	struct backend_argv a = BACKEND_ARGV_INIT;
	struct backend_result r;
	struct err err = { "" };
	struct job_ref refs[1] = { ref("1", 0, -1) };

	backend_pbs.cancel_argv(refs, 1, &a);
	free(a.v[0]);
	a.v[0] = strdup("echo");	/* qdel stands in as echo */
	struct backend_run_opts opts = { .env = backend_slurm.command_env };
	ck_assert_int_eq(backend_run_sync(a.v, &opts, &r, &err), 0);
	ck_assert_str_eq(r.out.buf, "1\n");
	backend_result_release(&r);
	backend_argv_release(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tcase_create("backend");
	SRunner *sr;
	int failed;
	char cmd[128];

	/* Recorded times are the controller's local time, which was UTC. */
	setenv("TZ", "UTC0", 1);
	tzset();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_backend.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	tcase_add_test(tc, lookup);
	tcase_add_test(tc, memory_and_directives);
	tcase_add_test(tc, slurm_squeue_live);
	tcase_add_test(tc, slurm_squeue_completing_and_ended);
	tcase_add_test(tc, slurm_every_code);
	tcase_add_test(tc, slurm_sacct);
	tcase_add_test(tc, slurm_commands);
	tcase_add_test(tc, pbs_status_json);
	tcase_add_test(tc, pbs_history_json);
	tcase_add_test(tc, pbs_bad_output);
	tcase_add_test(tc, pbs_commands);
	tcase_add_test(tc, torque_wrapper_output);
	tcase_add_test(tc, torque_qstat_f);
	tcase_add_test(tc, torque_commands);
	tcase_add_test(tc, local_jobs);
	tcase_add_test(tc, local_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("run");
	tcase_add_test(tc, run_output_and_status);
	tcase_add_test(tc, run_environment_and_descriptors);
	tcase_add_test(tc, run_timeout);
	tcase_add_test(tc, run_output_capped);
	tcase_add_test(tc, run_cannot_start);
	tcase_add_test(tc, run_on_a_loop);
	tcase_add_test(tc, run_backend_argv);
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

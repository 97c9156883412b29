/*
 * backend pbs: PBS Professional (and OpenPBS): #PBS directives with a
 * select line; qsub, qdel and qstat -f -F json.  What PBS Pro and Torque
 * share (job ids, state codes, exit codes, qdel) is here too.
 *
 * State comes from job_state, how a job ended from Exit_status.  An array
 * job (qsub -J) is "123[]", its subjobs "123[7]"; status asks with -t, so
 * every subjob has its own record beside the array's (state B while any
 * subjob runs).  History (qstat -x) needs job history on the server, off
 * by default: without it a finished job is simply absent.
 */
#include "backend/internal.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "util/units.h"

#define PBS_TIME "%a %b %d %H:%M:%S %Y"
#define PBS_WALLTIME_EXIT (-29)		/* JOB_EXEC_KILL_WALLTIME */
#define PBS_NAME_MAX 230		/* job name length, as PBS rules allow */

/* --- shared with torque ------------------------------------------------------ */

/* "123", "123[]", "123[7]", each optionally followed by ".server". */
int backend_pbs_parse_id(const char *s, struct job_ref *ref)
{
	size_t len = strspn(s, "0123456789");
	const char *p = s + len;
	long ix = -1;

	if (!len || len >= sizeof(ref->id))
		return -1;
	memset(ref, 0, sizeof(*ref));
	backend_copy(ref->id, sizeof(ref->id), s, len);
	ref->index = -1;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		char num[24];
		if (!close || (size_t)(close - p - 1) >= sizeof(num))
			return -1;
		backend_copy(num, sizeof(num), p + 1, (size_t)(close - p - 1));
		if (*num && backend_parse_long(num, 0, 0x7fffffff, &ix) < 0)
			return -1;
		ref->array = 1;
		ref->index = ix;
		p = close + 1;
	}
	return *p == '\0' || *p == '.' ? 0 : -1;
}

void backend_pbs_format_ref(const struct job_ref *ref, struct strbuf *out)
{
	strbuf_addstr(out, ref->id);
	if (ref->array && ref->index >= 0)
		strbuf_addf(out, "[%ld]", ref->index);
	else if (ref->array)
		strbuf_addstr(out, "[]");
}

void backend_pbs_state(struct job_status *st, const char *code)
{
	static const struct {
		char code;
		enum job_state state;
	} codes[] = {
		{ 'Q', JOB_STATE_QUEUED },	/* queued */
		{ 'W', JOB_STATE_QUEUED },	/* waiting for its start time */
		{ 'T', JOB_STATE_QUEUED },	/* in transit */
		{ 'M', JOB_STATE_QUEUED },	/* moved to another server */
		{ 'H', JOB_STATE_HELD },
		{ 'R', JOB_STATE_RUNNING },
		{ 'B', JOB_STATE_RUNNING },	/* array: a subjob has begun */
		{ 'E', JOB_STATE_ENDING },	/* exiting */
		{ 'S', JOB_STATE_SUSPENDED },
		{ 'U', JOB_STATE_SUSPENDED },	/* suspended: workstation busy */
		{ 'F', JOB_STATE_ENDED },	/* finished (history) */
		{ 'X', JOB_STATE_ENDED },	/* subjob finished */
		{ 'C', JOB_STATE_ENDED },	/* Torque: completed */
	};

	backend_copy(st->raw, sizeof(st->raw), code, strlen(code));
	st->state = JOB_STATE_UNKNOWN;
	st->end = JOB_END_NONE;
	if (!code[0] || code[1])
		return;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (codes[i].code != code[0])
			continue;
		st->state = codes[i].state;
		/* until an Exit_status says how */
		if (st->state == JOB_STATE_ENDED)
			st->end = JOB_END_LOST;
		return;
	}
}

void backend_pbs_exit(struct job_status *st, long exit_status,
		      long walltime_code)
{
	st->has_exit = 1;
	st->exit_status = (int)exit_status;
	st->signal = exit_status > 256 && exit_status < 256 + 128 ?
		     (int)(exit_status - 256) : 0;
	if (st->state != JOB_STATE_ENDED)
		return;
	if (exit_status == 0)
		st->end = JOB_END_COMPLETED;
	else if (exit_status == walltime_code)
		st->end = JOB_END_WALLTIME;
	else if (st->signal == SIGTERM || st->signal == SIGKILL)
		st->end = JOB_END_CANCELLED;	/* what qdel sends */
	else
		st->end = JOB_END_FAILED;
}

/* The last line that is a job id: "123.server", "123[].server". */
int backend_pbs_parse_submit(const char *out, struct job_ref *ref,
			     struct err *err)
{
	struct job_ref found;
	int have = 0;
	struct strbuf line = STRBUF_INIT;

	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct job_ref r;
		strbuf_reset(&line);
		strbuf_add(&line, p, len);
		strbuf_rtrim(&line);
		if (line.len && backend_pbs_parse_id(line.buf, &r) == 0) {
			found = r;
			have = 1;
		}
		p += len + (nl != NULL);
	}
	strbuf_release(&line);
	if (!have)
		return errprintf(err, "qsub printed no job id");
	*ref = found;
	return 0;
}

int backend_pbs_check_name(const char *name, struct err *err)
{
	size_t len = strlen(name);
	int ok = len >= 1 && len <= PBS_NAME_MAX && isalpha((unsigned char)name[0]);

	for (const char *p = name; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("-_+", *p);
	if (ok)
		return 0;
	/* a long name is cut short, so the rule still fits the message */
	return errprintf(err, "job.name = '%.40s%s' is not a PBS job name: PBS "
			 "takes at most %d letters, digits, '-', '_' and '+', "
			 "starting with a letter", name, len > 40 ? "..." : "",
			 PBS_NAME_MAX);
}

void backend_pbs_cancel_argv(const struct job_ref *refs, size_t n,
			     struct backend_argv *argv)
{
	struct strbuf sb = STRBUF_INIT;

	backend_argv_push(argv, "qdel");
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&sb);
		backend_pbs_format_ref(&refs[i], &sb);
		backend_argv_push(argv, sb.buf);
	}
	strbuf_release(&sb);
}

/* --- directives ---------------------------------------------------------------- */

static void pbs_memory(uint64_t bytes, struct strbuf *out)
{
	backend_memory_mib(bytes, "MB", "GB", out);
}

static void pbs_memory_request(const struct backend_job *j, struct strbuf *out)
{
	strbuf_addstr(out, "mem=");
	pbs_memory(j->memory, out);
}

/* mem= comes last: PBS Pro takes the resources in any order, but Slurm's
 * PBS stand-in (sbatch reading #PBS lines) reads the memory figure up to
 * the next comma, so anything after it would be read as part of it. */
static void pbs_chunk(struct strbuf *sb, const struct backend_job *j,
		      unsigned count, unsigned mpiprocs, const char *mem)
{
	strbuf_addf(sb, "%u:ncpus=%u:mpiprocs=%u:ompthreads=%u", count,
		    j->cores, mpiprocs, j->threads);
	if (j->gpus)
		strbuf_addf(sb, ":ngpus=%u", j->gpus);
	/* in the chunk: a job-wide -l gpu_type= is refused (NCAR Casper) */
	if (j->gpus && j->gpu_type)
		strbuf_addf(sb, ":gpu_type=%s", j->gpu_type);
	strbuf_addf(sb, ":%s", mem);
}

static void pbs_directives(const struct backend *b,
			   const struct backend_job *j, struct strbuf *out)
{
	struct strbuf mem = STRBUF_INIT, select = STRBUF_INIT,
		      walltime = STRBUF_INIT;

	pbs_memory_request(j, &mem);
	duration_format_hms(&walltime, j->walltime);
	/* One chunk per node; a head job's first chunk has a slot for the
	 * scheduler rank, so $PBS_NODEFILE lists it there. */
	strbuf_addstr(&select, "select=");
	if (!j->head) {
		pbs_chunk(&select, j, j->nodes, j->processes, mem.buf);
	} else {
		pbs_chunk(&select, j, 1, j->processes + 1, mem.buf);
		if (j->nodes > 1) {
			strbuf_addch(&select, '+');
			pbs_chunk(&select, j, j->nodes - 1, j->processes, mem.buf);
		}
	}

	backend_directive(b, j, out, "-N %s", j->name);
	if (j->queue)
		backend_directive(b, j, out, "-q %s", j->queue);
	if (j->account)
		backend_directive(b, j, out, "-A %s", j->account);
	backend_directive(b, j, out, "-l %s", select.buf);
	backend_directive(b, j, out, "-l walltime=%s", walltime.buf);
	if (j->priority)
		backend_directive(b, j, out, "-l job_priority=%s", j->priority);
	backend_directive(b, j, out, "-o %s/", j->log_dir);
	backend_directive(b, j, out, "-e %s/", j->log_dir);
	strbuf_release(&walltime);
	strbuf_release(&select);
	strbuf_release(&mem);
}

/* --- commands ------------------------------------------------------------------ */

/* PBS Pro wants first < last: a one-element array is refused. */
static int pbs_array_args(unsigned first, unsigned last,
			  struct backend_argv *argv, struct err *err)
{
	if (first >= last)
		return errprintf(err, "PBS Pro refuses array %u-%u: an array needs "
				 "at least two elements; submit a plain job",
				 first, last);
	backend_argv_push(argv, "-J");
	backend_argv_pushf(argv, "%u-%u", first, last);
	return 0;
}

static int pbs_submit_argv(const struct backend_submit *s,
			   struct backend_argv *argv, struct err *err)
{
	/* no dry-run flag: a held job, cancelled by the caller, is the check */
	return backend_qsub_argv(s, pbs_array_args, argv, err);
}

/* qsub as PBS Pro and Torque both take it; only the array option
 * differs. */
int backend_qsub_argv(const struct backend_submit *s,
		      int (*array_args)(unsigned first, unsigned last,
					struct backend_argv *argv,
					struct err *err),
		      struct backend_argv *argv, struct err *err)
{
	backend_argv_push(argv, "qsub");
	if (s->name) {
		backend_argv_push(argv, "-N");
		backend_argv_push(argv, s->name);
	}
	if (s->hold || s->dry_run)
		backend_argv_push(argv, "-h");
	if (s->array && array_args(s->first, s->last, argv, err) < 0)
		return -1;
	backend_argv_push(argv, s->script);
	return 0;
}

static void push_refs(const struct job_ref *refs, size_t n,
		      struct backend_argv *argv)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&sb);
		backend_pbs_format_ref(&refs[i], &sb);
		backend_argv_push(argv, sb.buf);
	}
	strbuf_release(&sb);
}

static void pbs_status_argv(const struct job_ref *refs, size_t n,
			    struct backend_argv *argv)
{
	backend_argv_push(argv, "qstat");
	backend_argv_push(argv, "-f");
	backend_argv_push(argv, "-F");
	backend_argv_push(argv, "json");
	backend_argv_push(argv, "-t");
	push_refs(refs, n, argv);
}

static void pbs_history_argv(const struct job_ref *refs, size_t n,
			     struct backend_argv *argv)
{
	backend_argv_push(argv, "qstat");
	backend_argv_push(argv, "-x");
	backend_argv_push(argv, "-f");
	backend_argv_push(argv, "-F");
	backend_argv_push(argv, "json");
	backend_argv_push(argv, "-t");
	push_refs(refs, n, argv);
}

/* --- qstat -f -F json ---------------------------------------------------------- */

static const char *json_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A time as ctime(3) text, or as Unix seconds. */
static int64_t json_time(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_string(v))
		return backend_parse_time(json_string_value(v), PBS_TIME);
	return 0;
}

/* Numbers are numbers in PBS Pro 19 and later, strings before. */
static int json_long(json_t *obj, const char *key, long *out)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v)) {
		*out = (long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return backend_parse_long(json_string_value(v), -1000000,
					  1000000, out);
	return -1;
}

static void json_job(const struct job_ref *ref, json_t *job,
		     struct job_status_list *list)
{
	struct job_status *st = backend_status_add(list);
	const char *s;
	json_t *res;
	long ex;

	st->ref = *ref;
	if (json_is_true(json_object_get(job, "array")))
		st->ref.array = 1;
	backend_pbs_state(st, json_str(job, "job_state"));
	if ((s = json_str(job, "Job_Name")))
		backend_copy(st->name, sizeof(st->name), s, strlen(s));
	if ((s = json_str(job, "comment")))
		backend_copy(st->reason, sizeof(st->reason), s, strlen(s));
	else if (st->state == JOB_STATE_HELD && (s = json_str(job, "Hold_Types")))
		snprintf(st->reason, sizeof(st->reason), "Hold_Types=%s", s);
	if (json_long(job, "Exit_status", &ex) == 0)
		backend_pbs_exit(st, ex, PBS_WALLTIME_EXIT);
	st->submit_time = json_time(job, "ctime");
	st->start_time = json_time(job, "stime");
	st->end_time = json_time(job, "obittime");
	res = json_object_get(job, "Resource_List");
	if ((s = json_str(res, "walltime")))
		st->time_limit = backend_parse_limit(s, 1);
}

static int pbs_parse_json(const char *out, struct job_status_list *list,
			  struct err *err)
{
	json_error_t jerr;
	json_t *root, *jobs, *job;
	const char *key;
	int rc = 0;

	if (!out[strspn(out, " \t\r\n")])
		return 0;	/* nothing known: every id was unknown */
	root = json_loads(out, 0, &jerr);
	if (!root)
		return errprintf(err, "qstat output is not JSON: line %d: %s",
				 jerr.line, jerr.text);
	jobs = json_object_get(root, "Jobs");
	if (jobs && !json_is_object(jobs)) {
		json_decref(root);
		return errprintf(err, "qstat output: \"Jobs\" is not an object");
	}
	json_object_foreach(jobs, key, job) {
		struct job_ref ref;
		if (!json_is_object(job) || !json_str(job, "job_state") ||
		    backend_pbs_parse_id(key, &ref) < 0) {
			if (rc == 0)
				errprintf(err, "qstat output: job '%.100s' has no "
					  "readable id or job_state", key);
			rc = -1;
			continue;
		}
		json_job(&ref, job, list);
	}
	json_decref(root);
	return rc;
}

const struct backend backend_pbs = {
	.name = "pbs",
	.is_batch = 1,
	.prefix = "#PBS ",
	.account_env = "PBS_ACCOUNT",
	.job_id_env = "PBS_JOBID",
	.array_index_env = "PBS_ARRAY_INDEX",
	.scheduler_slot = 1,
	.dry_run_holds = 1,
	.check_name = backend_pbs_check_name,
	.memory = pbs_memory,
	.memory_request = pbs_memory_request,
	.directives = pbs_directives,
	.array_args = pbs_array_args,
	.format_ref = backend_pbs_format_ref,
	.submit_argv = pbs_submit_argv,
	.parse_submit = backend_pbs_parse_submit,
	.cancel_argv = backend_pbs_cancel_argv,
	.status_argv = pbs_status_argv,
	.parse_status = pbs_parse_json,
	.history_argv = pbs_history_argv,
	.parse_history = pbs_parse_json,
};

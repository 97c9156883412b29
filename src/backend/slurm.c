/*
 * backend slurm: #SBATCH directives; sbatch, scancel, squeue and sacct.
 *
 * Status lists the user's jobs (squeue --me) instead of naming ids: once
 * Slurm forgets an ended job (MinJobAge), `squeue -j` with that id fails
 * as a whole and every other job in the call would stop updating.  Each
 * line carries the array job id and index apart (%F, %K), and the name
 * comes last, where a '|' in it cannot shift the other fields.  The time
 * format is pinned for every command, whatever SLURM_TIME_FORMAT the user
 * has set.
 */
#include "backend/internal.h"

#include <string.h>

#include "util/units.h"

#define SQUEUE_FORMAT "%F|%K|%t|%r|%V|%S|%e|%l|%j"
#define SQUEUE_FIELDS 9
#define SACCT_FORMAT "JobID,State,ExitCode,Reason,Submit,Start,End," \
	"Timelimit,JobName"
#define SACCT_FIELDS 9
#define SLURM_TIME "%Y-%m-%dT%H:%M:%S"

/* Every state code, short and long (squeue %t and %T, sacct State). */
static const struct slurm_code {
	const char *code, *name;
	enum job_state state;
	enum job_end end;
	int transitional;
} codes[] = {
	{ "PD", "PENDING", JOB_STATE_QUEUED, JOB_END_NONE, 0 },
	{ "CF", "CONFIGURING", JOB_STATE_STARTING, JOB_END_NONE, 0 },
	{ "R", "RUNNING", JOB_STATE_RUNNING, JOB_END_NONE, 0 },
	{ "CG", "COMPLETING", JOB_STATE_ENDING, JOB_END_NONE, 0 },
	{ "S", "SUSPENDED", JOB_STATE_SUSPENDED, JOB_END_NONE, 0 },
	{ "ST", "STOPPED", JOB_STATE_SUSPENDED, JOB_END_NONE, 0 },
	/* on the way back to pending, or changing, under the same id */
	{ "RQ", "REQUEUED", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
	{ "RH", "REQUEUE_HOLD", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
	{ "RF", "REQUEUE_FED", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
	{ "RS", "RESIZING", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
	{ "SI", "SIGNALING", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
	{ "SO", "STAGE_OUT", JOB_STATE_UNKNOWN, JOB_END_NONE, 1 },
	{ "CD", "COMPLETED", JOB_STATE_ENDED, JOB_END_COMPLETED, 0 },
	{ "TO", "TIMEOUT", JOB_STATE_ENDED, JOB_END_WALLTIME, 0 },
	{ "DL", "DEADLINE", JOB_STATE_ENDED, JOB_END_WALLTIME, 0 },
	{ "CA", "CANCELLED", JOB_STATE_ENDED, JOB_END_CANCELLED, 0 },
	{ "PR", "PREEMPTED", JOB_STATE_ENDED, JOB_END_PREEMPTED, 0 },
	{ "F", "FAILED", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
	{ "NF", "NODE_FAIL", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
	{ "BF", "BOOT_FAIL", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
	{ "OOM", "OUT_OF_MEMORY", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
	{ "RV", "REVOKED", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
	{ "SE", "SPECIAL_EXIT", JOB_STATE_ENDED, JOB_END_FAILED, 0 },
	{ NULL, NULL, 0, 0, 0 },
};

/* Pending reasons that are holds: by the user, an operator, or Slurm
 * itself after the job failed to launch. */
static const char *const hold_reasons[] = {
	"JobHeldUser", "JobHeldAdmin", "launch failed requeued held",
	"job requeued in held state", NULL,
};

static const char *const slurm_env[] = { "SLURM_TIME_FORMAT=standard", NULL };

static void slurm_state(struct job_status *st, const char *code, size_t len)
{
	backend_copy(st->raw, sizeof(st->raw), code, len);
	st->state = JOB_STATE_UNKNOWN;
	st->end = JOB_END_NONE;
	for (const struct slurm_code *c = codes; c->code; c++) {
		if (strcmp(st->raw, c->code) && strcmp(st->raw, c->name))
			continue;
		st->state = c->state;
		st->end = c->end;
		st->transitional = c->transitional;
		return;
	}
}

static void slurm_memory(uint64_t bytes, struct strbuf *out)
{
	backend_memory_mib(bytes, "M", "G", out);
}

static void slurm_memory_request(const struct backend_job *j,
				 struct strbuf *out)
{
	strbuf_addstr(out, "--mem=");
	slurm_memory(j->memory, out);
}

static void slurm_directives(const struct backend *b,
			     const struct backend_job *j, struct strbuf *out)
{
	struct strbuf mem = STRBUF_INIT, walltime = STRBUF_INIT;

	slurm_memory_request(j, &mem);
	duration_format_hms(&walltime, j->walltime);
	backend_directive(b, j, out, "--job-name=%s", j->name);
	if (j->queue)
		backend_directive(b, j, out, "--partition=%s", j->queue);
	if (j->account)
		backend_directive(b, j, out, "--account=%s", j->account);
	backend_directive(b, j, out, "--nodes=%u", j->nodes);
	backend_directive(b, j, out, "--ntasks-per-node=%u", j->processes);
	backend_directive(b, j, out, "--cpus-per-task=%u", j->threads);
	backend_directive(b, j, out, "%s", mem.buf);
	if (j->gpus && j->gpu_type)
		backend_directive(b, j, out, "--gres=gpu:%s:%u", j->gpu_type,
				  j->gpus);
	else if (j->gpus)
		backend_directive(b, j, out, "--gres=gpu:%u", j->gpus);
	backend_directive(b, j, out, "--time=%s", walltime.buf);
	backend_directive(b, j, out, "--output=%s/%%x-%%j.out", j->log_dir);
	backend_directive(b, j, out, "--error=%s/%%x-%%j.err", j->log_dir);
	strbuf_release(&walltime);
	strbuf_release(&mem);
}

static int slurm_array_args(unsigned first, unsigned last,
			    struct backend_argv *argv, struct err *err)
{
	if (first > last)
		return errprintf(err, "array %u-%u is empty", first, last);
	backend_argv_pushf(argv, "--array=%u-%u", first, last);
	return 0;
}

static void slurm_format_ref(const struct job_ref *ref, struct strbuf *out)
{
	strbuf_addstr(out, ref->id);
	if (ref->array && ref->index >= 0)
		strbuf_addf(out, "_%ld", ref->index);
}

static int slurm_submit_argv(const struct backend_submit *s,
			     struct backend_argv *argv, struct err *err)
{
	backend_argv_push(argv, "sbatch");
	backend_argv_push(argv, "--parsable");
	if (s->name)
		backend_argv_pushf(argv, "--job-name=%s", s->name);
	if (s->hold)
		backend_argv_push(argv, "--hold");
	if (s->dry_run)
		backend_argv_push(argv, "--test-only");
	if (s->array && slurm_array_args(s->first, s->last, argv, err) < 0)
		return -1;
	backend_argv_push(argv, s->script);
	return 0;
}

static int all_digits(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The last line that is a job id: "123" or "123;cluster". */
static int slurm_parse_submit(const char *out, struct job_ref *ref,
			      struct err *err)
{
	const char *found = NULL;
	size_t found_len = 0;

	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t idlen = strcspn(p, ";\r\n");
		if (idlen > len)
			idlen = len;
		if (all_digits(p, idlen) && idlen < JOB_ID_MAX) {
			found = p;
			found_len = idlen;
		}
		p += len + (nl != NULL);
	}
	if (!found)
		return errprintf(err, "sbatch printed no job id");
	memset(ref, 0, sizeof(*ref));
	backend_copy(ref->id, sizeof(ref->id), found, found_len);
	ref->index = -1;
	return 0;
}

static void slurm_cancel_argv(const struct job_ref *refs, size_t n,
			      struct backend_argv *argv)
{
	struct strbuf sb = STRBUF_INIT;

	backend_argv_push(argv, "scancel");
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&sb);
		slurm_format_ref(&refs[i], &sb);
		backend_argv_push(argv, sb.buf);
	}
	strbuf_release(&sb);
}

static void slurm_status_argv(const struct job_ref *refs, size_t n,
			      struct backend_argv *argv)
{
	(void)refs;
	(void)n;
	backend_argv_push(argv, "squeue");
	backend_argv_push(argv, "--me");
	backend_argv_push(argv, "-h");
	backend_argv_push(argv, "-r");
	backend_argv_push(argv, "-t");
	backend_argv_push(argv, "all");
	backend_argv_push(argv, "-o");
	backend_argv_push(argv, SQUEUE_FORMAT);
}

static void slurm_history_argv(const struct job_ref *refs, size_t n,
			       struct backend_argv *argv)
{
	struct strbuf ids = STRBUF_INIT;

	backend_argv_push(argv, "sacct");
	backend_argv_push(argv, "-X");
	backend_argv_push(argv, "-n");
	backend_argv_push(argv, "-P");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(&ids, ',');
		slurm_format_ref(&refs[i], &ids);
	}
	if (n) {
		backend_argv_push(argv, "-j");
		backend_argv_push(argv, ids.buf);
	}
	backend_argv_push(argv, "-o");
	backend_argv_push(argv, SACCT_FORMAT);
	strbuf_release(&ids);
}

/* A line's fields, split at '|' in place; the last takes the rest.  The
 * number found. */
static int split_line(char *line, char **field, int max)
{
	int n = 0;

	field[n++] = line;
	while (n < max) {
		char *bar = strchr(field[n - 1], '|');
		if (!bar)
			break;
		*bar = '\0';
		field[n++] = bar + 1;
	}
	return n;
}

/* "123", "123_7", "123_[1-5%2]", "123+0": the base id and the element. */
static int parse_jobid(const char *s, const char *index, struct job_ref *ref)
{
	size_t len = strspn(s, "0123456789");
	long ix;

	if (!len || len >= sizeof(ref->id))
		return -1;
	backend_copy(ref->id, sizeof(ref->id), s, len);
	ref->array = 0;
	ref->index = -1;
	if (s[len] == '_' && !index)
		index = s + len + 1;
	if (!index || !strcmp(index, "N/A") || !*index)
		return 0;
	ref->array = 1;
	/* a range still pending as one record: the rest of the array */
	if (backend_parse_long(index, 0, 0x7fffffff, &ix) == 0)
		ref->index = ix;
	return 0;
}

static void set_reason(struct job_status *st, const char *reason)
{
	if (!strcmp(reason, "None") || !strcmp(reason, "(null)"))
		return;
	backend_copy(st->reason, sizeof(st->reason), reason, strlen(reason));
}

static void mark_held(struct job_status *st)
{
	if (st->state != JOB_STATE_QUEUED)
		return;
	for (const char *const *h = hold_reasons; *h; h++)
		if (!strcmp(st->reason, *h))
			st->state = JOB_STATE_HELD;
}

/* Calls fn for each non-empty line of out, with its number; stops at the
 * first line fn refuses, after reading every other. */
static int each_line(const char *out, struct job_status_list *list,
		     int (*fn)(char *line, struct job_status_list *list),
		     const char *what, struct err *err)
{
	struct strbuf line = STRBUF_INIT;
	unsigned lineno = 0;
	int rc = 0;

	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char head[61];
		lineno++;
		strbuf_reset(&line);
		strbuf_add(&line, p, len);
		strbuf_rtrim(&line);
		backend_copy(head, sizeof(head), line.buf, line.len);
		p += len + (nl != NULL);
		if (!line.len)
			continue;
		if (fn(line.buf, list) < 0 && rc == 0) {
			errprintf(err, "%s output line %u is no job record: '%s'",
				  what, lineno, head);
			rc = -1;
		}
	}
	strbuf_release(&line);
	return rc;
}

/* The fields squeue and sacct share, in the same order: submit, start and
 * end times, time limit, job name. */
static void set_times_and_name(struct job_status *st, char *const *f)
{
	st->submit_time = backend_parse_time(f[0], SLURM_TIME);
	st->start_time = backend_parse_time(f[1], SLURM_TIME);
	st->end_time = backend_parse_time(f[2], SLURM_TIME);
	st->time_limit = backend_parse_limit(f[3], 0);
	backend_copy(st->name, sizeof(st->name), f[4], strlen(f[4]));
}

/* %F|%K|%t|%r|%V|%S|%e|%l|%j */
static int squeue_line(char *line, struct job_status_list *list)
{
	char *f[SQUEUE_FIELDS];
	struct job_ref ref;
	struct job_status *st;

	if (split_line(line, f, SQUEUE_FIELDS) != SQUEUE_FIELDS ||
	    parse_jobid(f[0], f[1], &ref) < 0 || !*f[2])
		return -1;
	st = backend_status_add(list);
	st->ref = ref;
	slurm_state(st, f[2], strlen(f[2]));
	set_reason(st, f[3]);
	mark_held(st);
	set_times_and_name(st, f + 4);
	return 0;
}

static int slurm_parse_status(const char *out, struct job_status_list *list,
			      struct err *err)
{
	return each_line(out, list, squeue_line, "squeue", err);
}

/* JobID|State|ExitCode|Reason|Submit|Start|End|Timelimit|JobName; State
 * may say who cancelled: "CANCELLED by 1234". */
static int sacct_line(char *line, struct job_status_list *list)
{
	char *f[SACCT_FIELDS];
	struct job_ref ref;
	struct job_status *st;
	size_t codelen;
	long ex, sig;
	char *colon;

	if (split_line(line, f, SACCT_FIELDS) != SACCT_FIELDS ||
	    parse_jobid(f[0], NULL, &ref) < 0 || !*f[1])
		return -1;
	st = backend_status_add(list);
	st->ref = ref;
	codelen = strcspn(f[1], " ");
	slurm_state(st, f[1], codelen);
	set_reason(st, f[3]);
	if (!st->reason[0] && f[1][codelen])
		set_reason(st, f[1] + codelen + 1);
	mark_held(st);
	colon = strchr(f[2], ':');
	if (colon && st->state == JOB_STATE_ENDED) {
		*colon = '\0';
		if (backend_parse_long(f[2], 0, 255, &ex) == 0 &&
		    backend_parse_long(colon + 1, 0, 255, &sig) == 0) {
			st->has_exit = 1;
			st->exit_status = (int)ex;
			st->signal = (int)sig;
		}
	}
	set_times_and_name(st, f + 4);
	return 0;
}

static int slurm_parse_history(const char *out, struct job_status_list *list,
			       struct err *err)
{
	return each_line(out, list, sacct_line, "sacct", err);
}

const struct backend backend_slurm = {
	.name = "slurm",
	.is_batch = 1,
	.prefix = "#SBATCH ",
	.account_env = "SLURM_ACCOUNT",
	.job_id_env = "SLURM_JOB_ID",
	.array_index_env = "SLURM_ARRAY_TASK_ID",
	.command_env = slurm_env,
	.memory = slurm_memory,
	.memory_request = slurm_memory_request,
	.directives = slurm_directives,
	.array_args = slurm_array_args,
	.format_ref = slurm_format_ref,
	.submit_argv = slurm_submit_argv,
	.parse_submit = slurm_parse_submit,
	.cancel_argv = slurm_cancel_argv,
	.status_argv = slurm_status_argv,
	.parse_status = slurm_parse_status,
	.history_argv = slurm_history_argv,
	.parse_history = slurm_parse_history,
};

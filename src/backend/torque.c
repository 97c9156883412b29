/*
 * backend torque: Torque (and Slurm's PBS wrappers) #PBS directives with
 * nodes=N:ppn=C; qsub, qdel and the text of qstat -f.
 *
 * Torque's -x means XML, not history, and it keeps no history beyond the
 * completed jobs (C) qstat still shows for a while: there is no history
 * lookup.  Array subjobs are named one by one ("123[7]"); qstat takes no
 * -t in Slurm's wrapper.  qstat -f prints "Job Id: ID" and then one
 * indented "attribute = value" a line; a long value is cut at a fixed
 * width, wherever that falls, and goes on in lines indented with a tab
 * that have no " = " of their own.  Times are read
 * from qtime, start_time and comp_time only: ctime and mtime mean
 * different things in Torque and in Slurm's wrapper.
 */
#include "backend/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/units.h"

#define TORQUE_TIME "%a %b %d %H:%M:%S %Y"
#define TORQUE_WALLTIME_EXIT (-11)	/* JOB_EXEC_OVERLIMIT_WT */

static void torque_memory(uint64_t bytes, struct strbuf *out)
{
	backend_memory_mib(bytes, "MB", "GB", out);
}

/* Torque's mem is for the whole job, not per node. */
static void torque_memory_request(const struct backend_job *j,
				  struct strbuf *out)
{
	unsigned __int128 total = (unsigned __int128)j->memory * j->nodes;

	strbuf_addstr(out, "mem=");
	torque_memory(total > UINT64_MAX ? UINT64_MAX : (uint64_t)total, out);
}

static void torque_directives(const struct backend *b,
			      const struct backend_job *j, struct strbuf *out)
{
	struct strbuf mem = STRBUF_INIT, walltime = STRBUF_INIT;

	torque_memory_request(j, &mem);
	duration_format_hms(&walltime, j->walltime);
	backend_directive(b, j, out, "-N %s", j->name);
	if (j->queue)
		backend_directive(b, j, out, "-q %s", j->queue);
	if (j->account)
		backend_directive(b, j, out, "-A %s", j->account);
	if (j->gpus)
		backend_directive(b, j, out, "-l nodes=%u:ppn=%u:gpus=%u",
				  j->nodes, j->cores, j->gpus);
	else
		backend_directive(b, j, out, "-l nodes=%u:ppn=%u", j->nodes,
				  j->cores);
	backend_directive(b, j, out, "-l %s", mem.buf);
	backend_directive(b, j, out, "-l walltime=%s", walltime.buf);
	backend_directive(b, j, out, "-o %s/", j->log_dir);
	backend_directive(b, j, out, "-e %s/", j->log_dir);
	strbuf_release(&walltime);
	strbuf_release(&mem);
}

static int torque_array_args(unsigned first, unsigned last,
			     struct backend_argv *argv, struct err *err)
{
	if (first > last)
		return errprintf(err, "array %u-%u is empty", first, last);
	backend_argv_push(argv, "-t");
	backend_argv_pushf(argv, "%u-%u", first, last);
	return 0;
}

static int torque_submit_argv(const struct backend_submit *s,
			      struct backend_argv *argv, struct err *err)
{
	return backend_qsub_argv(s, torque_array_args, argv, err);
}

static void torque_status_argv(const struct job_ref *refs, size_t n,
			       struct backend_argv *argv)
{
	struct strbuf sb = STRBUF_INIT;

	backend_argv_push(argv, "qstat");
	backend_argv_push(argv, "-f");
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&sb);
		backend_pbs_format_ref(&refs[i], &sb);
		backend_argv_push(argv, sb.buf);
	}
	strbuf_release(&sb);
}

/* --- qstat -f ------------------------------------------------------------------ */

/* Epoch seconds (Torque's start_time) or ctime(3) text. */
static int64_t torque_time(const char *v)
{
	long n;

	if (backend_parse_long(v, 0, 0x7fffffffL, &n) == 0)
		return n;
	return backend_parse_time(v, TORQUE_TIME);
}

static void torque_attribute(struct job_status *st, const char *key,
			     const char *v, struct strbuf *hold_types)
{
	long ex;

	if (!strcmp(key, "job_state"))
		backend_pbs_state(st, v);
	else if (!strcmp(key, "Job_Name"))
		backend_copy(st->name, sizeof(st->name), v, strlen(v));
	else if (!strcmp(key, "comment"))
		backend_copy(st->reason, sizeof(st->reason), v, strlen(v));
	else if (!strcmp(key, "Hold_Types"))
		strbuf_addstr(hold_types, v);
	else if (!strcasecmp(key, "exit_status")) {
		if (backend_parse_long(v, -1000000, 1000000, &ex) == 0) {
			st->has_exit = 1;
			st->exit_status = (int)ex;
		}
	} else if (!strcmp(key, "qtime"))
		st->submit_time = torque_time(v);
	else if (!strcmp(key, "start_time"))
		st->start_time = torque_time(v);
	else if (!strcmp(key, "comp_time"))
		st->end_time = torque_time(v);
	else if (!strcmp(key, "Resource_List.walltime"))
		st->time_limit = backend_parse_limit(v, 1);
}

/* Exit status and hold reason once every attribute of a job is read:
 * job_state may come after them. */
static void torque_finish(struct job_status *st, struct strbuf *hold_types)
{
	if (st->has_exit)
		backend_pbs_exit(st, st->exit_status, TORQUE_WALLTIME_EXIT);
	if (st->state == JOB_STATE_HELD && !st->reason[0] && hold_types->len)
		snprintf(st->reason, sizeof(st->reason), "Hold_Types=%s",
			 hold_types->buf);
	strbuf_reset(hold_types);
}

/* "    key = value": the key's length, or 0 when the line is none. */
static size_t attribute_key(const char *line, const char **value)
{
	const char *p = line, *k;

	if (*p != ' ' && *p != '\t')
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	k = p;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
		p++;
	if (p == k || strncmp(p, " = ", 3))
		return 0;
	*value = p + 3;
	return (size_t)(p - k);
}

static int torque_parse_status(const char *out, struct job_status_list *list,
			       struct err *err)
{
	struct strbuf line = STRBUF_INIT, hold = STRBUF_INIT;
	size_t first = list->n;
	long cur = -1;			/* index of the record being read */
	int in_comment = 0, rc = 0;
	unsigned lineno = 0;

	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n'), *v;
		size_t len = nl ? (size_t)(nl - p) : strlen(p), klen;
		lineno++;
		strbuf_reset(&line);
		strbuf_add(&line, p, len);
		/* not rtrim: a value cut at a space goes on after it */
		if (line.len && line.buf[line.len - 1] == '\r')
			strbuf_setlen(&line, line.len - 1);
		p += len + (nl != NULL);
		if (!line.len || !line.buf[strspn(line.buf, " \t")])
			continue;
		if (!strncmp(line.buf, "Job Id:", 7)) {
			const char *id = line.buf + 7;
			struct job_ref ref;
			if (cur >= 0)
				torque_finish(&list->v[cur], &hold);
			cur = -1;
			in_comment = 0;
			id += strspn(id, " \t");
			if (backend_pbs_parse_id(id, &ref) < 0) {
				if (rc == 0)
					errprintf(err, "qstat output line %u: cannot "
						  "read job id '%.60s'", lineno, id);
				rc = -1;
				continue;
			}
			cur = (long)list->n;
			backend_status_add(list)->ref = ref;
			continue;
		}
		if (cur < 0)
			continue;	/* attributes of a job not read */
		klen = attribute_key(line.buf, &v);
		if (klen) {
			char key[64];
			backend_copy(key, sizeof(key), v - 3 - klen, klen);
			torque_attribute(&list->v[cur], key, v, &hold);
			in_comment = !strcmp(key, "comment");
		} else if (in_comment) {
			/* a long comment goes on in the next line */
			struct job_status *st = &list->v[cur];
			const char *more = line.buf + strspn(line.buf, " \t");
			size_t have = strlen(st->reason);
			backend_copy(st->reason + have, sizeof(st->reason) - have,
				     more, strlen(more));
		}
	}
	if (cur >= 0)
		torque_finish(&list->v[cur], &hold);
	/* a record with no job_state says nothing: drop it */
	size_t keep = first;
	for (size_t i = first; i < list->n; i++) {
		if (list->v[i].raw[0]) {
			list->v[keep++] = list->v[i];
			continue;
		}
		if (rc == 0)
			errprintf(err, "qstat output: job '%s' has no job_state",
				  list->v[i].ref.id);
		rc = -1;
	}
	list->n = keep;
	strbuf_release(&line);
	strbuf_release(&hold);
	return rc;
}

const struct backend backend_torque = {
	.name = "torque",
	.is_batch = 1,
	.prefix = "#PBS ",
	.account_env = "PBS_ACCOUNT",
	.job_id_env = "PBS_JOBID",
	.array_index_env = "PBS_ARRAYID",
	.slots_per_core = 1,
	.check_name = backend_pbs_check_name,
	.memory = torque_memory,
	.memory_request = torque_memory_request,
	.directives = torque_directives,
	.array_args = torque_array_args,
	.format_ref = backend_pbs_format_ref,
	.submit_argv = torque_submit_argv,
	.parse_submit = backend_pbs_parse_submit,
	.cancel_argv = backend_pbs_cancel_argv,
	.status_argv = torque_status_argv,
	.parse_status = torque_parse_status,
};

/*
 * taskfile syntax: barriers, per-line options, arrays and dependencies by
 * name (taskfile.h).  The file is parsed whole first, so an error names
 * its line and column before anything runs; each line then becomes one
 * submission (an array is one), with its dependencies as task ids.
 *
 * Why a plan and not one submission: sched knows only "after success"
 * (a failed dependency cancels its dependents).  A barrier and after=
 * are that; afterany= is not, so a line waiting for "any end" is held
 * here and submitted, without those dependencies, once every task it
 * waits for has ended.  A line that depends on a held line waits for it
 * to be submitted.  Plain files keep taskfile_submit's compact path.
 */
#include "sched/taskfile.h"

#include <stdlib.h>
#include <string.h>

#include "task/fields.h"
#include "util/strbuf.h"

struct entry {
	unsigned line;
	char *name;
	char **argv;
	struct task_spec spec;		/* argv and after filled at submit */
	size_t *deps, ndeps;		/* entries: after success */
	size_t *anydeps, nanydeps;	/* entries: after any end */
	int submitted;
	task_id_t first;
	uint64_t count;
};

struct taskplan {
	struct entry *e;
	size_t n, cap;
	uint64_t ntasks;
	size_t nsubmitted;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* An options line: '[' then a lowercase letter. */
static int is_options(const char *p)
{
	return p[0] == '[' && p[1] >= 'a' && p[1] <= 'z';
}

static int is_barrier(const char *p, const char *end)
{
	while (end > p && is_blank(end[-1]))
		end--;
	return end - p == 3 && !memcmp(p, "---", 3);
}

int taskfile_has_syntax(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *q = p;
		while (q < eol && is_blank(*q))
			q++;
		if (is_barrier(q, eol) || (eol - q >= 2 && is_options(q)))
			return 1;
		p = eol + 1;
	}
	return 0;
}

static void entry_release(struct entry *e)
{
	free(e->name);
	for (char **a = e->argv; a && *a; a++)
		free(*a);
	free(e->argv);
	free(e->deps);
	free(e->anydeps);
}

void taskplan_destroy(struct taskplan *p)
{
	if (!p)
		return;
	for (size_t k = 0; k < p->n; k++)
		entry_release(&p->e[k]);
	free(p->e);
	free(p);
}

static int add_dep(size_t **list, size_t *n, size_t dep)
{
	size_t *l;

	for (size_t k = 0; k < *n; k++)
		if ((*list)[k] == dep)
			return 0;
	l = realloc(*list, (*n + 1) * sizeof(*l));
	if (!l)
		return -1;
	l[(*n)++] = dep;
	*list = l;
	return 0;
}

/* A parse position for messages. */
struct pos {
	unsigned line;
	const char *start;		/* of the line */
};

static int at(struct err *err, const struct pos *ps, const char *p,
	      const char *what)
{
	return errprintf(err, "line %u, column %u: %s", ps->line,
			 (unsigned)(p - ps->start) + 1, what);
}

/* after=a,b: every entry above named so; an unknown name is an error. */
static int name_deps(struct taskplan *pl, struct entry *e, const char *v,
		     const char *vend, const struct pos *ps, int any,
		     struct err *err)
{
	while (v < vend) {
		const char *c = memchr(v, ',', (size_t)(vend - v));
		const char *ne = c ? c : vend;
		int found = 0;
		struct strbuf msg = STRBUF_INIT;

		for (const char *q = v; q < ne; q++)
			if (!is_name_char(*q))
				return at(err, ps, q, "a task name has letters, "
					  "digits and _.- only");
		for (size_t k = 0; k < pl->n; k++) {
			const char *n = pl->e[k].name ? pl->e[k].name : "line";
			if (strlen(n) != (size_t)(ne - v) ||
			    memcmp(n, v, (size_t)(ne - v)))
				continue;
			found = 1;
			if (add_dep(any ? &e->anydeps : &e->deps,
				    any ? &e->nanydeps : &e->ndeps, k) < 0)
				return errprintf(err, "out of memory");
		}
		if (!found) {
			strbuf_addf(&msg, "no task named '%.*s' above", (int)(ne - v),
				    v);
			at(err, ps, v, msg.buf);
			strbuf_release(&msg);
			return -1;
		}
		v = c ? c + 1 : vend;
	}
	return 0;
}

static int field_value(enum task_field_id id, const char *key,
		       const char *v, const char *vend, const struct pos *ps,
		       uint64_t *out, struct err *err)
{
	struct err e2 = { "" };
	char *text = strndup(v, (size_t)(vend - v));
	int rc;

	if (!text)
		return errprintf(err, "out of memory");
	rc = task_field_parse(task_field(id), key, text, out, &e2);
	free(text);
	if (rc < 0)
		return at(err, ps, v, e2.text);
	return 0;
}

/* "[k=v ...]" at p; *rest is set to the command after ']'. */
static int parse_options(struct taskplan *pl, struct entry *e, const char *p,
			 const struct pos *ps, const char **rest,
			 struct err *err)
{
	const char *close = strchr(p, ']');
	uint64_t u;

	if (!close)
		return at(err, ps, p, "options have no closing ']'");
	p++;
	for (;;) {
		while (p < close && is_blank(*p))
			p++;
		if (p == close)
			break;
		const char *k = p, *eq, *vend;
		while (p < close && !is_blank(*p))
			p++;
		vend = p;
		eq = memchr(k, '=', (size_t)(vend - k));
		if (!eq || eq == k)
			return at(err, ps, k, "an option is KEY=VALUE");
		const char *v = eq + 1;
		size_t kl = (size_t)(eq - k);
#define KEY(s) (kl == sizeof(s) - 1 && !memcmp(k, s, kl))
		if (v == vend)
			return at(err, ps, v, "the option has no value");
		if (KEY("name")) {
			for (const char *q = v; q < vend; q++)
				if (!is_name_char(*q))
					return at(err, ps, q, "a task name has "
						  "letters, digits and _.- only");
			free(e->name);
			if (!(e->name = strndup(v, (size_t)(vend - v))))
				return errprintf(err, "out of memory");
		} else if (KEY("cores")) {
			if (field_value(TASK_FIELD_CORES, "cores", v, vend, ps, &u,
					err) < 0)
				return -1;
			e->spec.cores = (unsigned)u;
		} else if (KEY("gpus")) {
			if (field_value(TASK_FIELD_GPUS, "gpus", v, vend, ps, &u,
					err) < 0)
				return -1;
			e->spec.gpus = (unsigned)u;
		} else if (KEY("memory")) {
			if (field_value(TASK_FIELD_MEMORY, "memory", v, vend, ps,
					&e->spec.memory, err) < 0)
				return -1;
		} else if (KEY("time")) {
			if (field_value(TASK_FIELD_TIME_LIMIT, "time", v, vend, ps,
					&e->spec.time_limit, err) < 0)
				return -1;
		} else if (KEY("retries")) {
			if (field_value(TASK_FIELD_RETRIES, "retries", v, vend, ps,
					&u, err) < 0)
				return -1;
			e->spec.retries = (unsigned)u;
		} else if (KEY("array")) {
			char *text = strndup(v, (size_t)(vend - v));
			int bad = !text || task_range_parse(text, &e->spec.array_first,
							    &e->spec.array_last) < 0;
			free(text);
			if (bad)
				return at(err, ps, v, "array wants a range A-B "
					  "(A <= B) or one index");
			e->spec.is_array = 1;
		} else if (KEY("after") || KEY("afterany")) {
			if (name_deps(pl, e, v, vend, ps, KEY("afterany"), err) < 0)
				return -1;
		} else {
			struct strbuf msg = STRBUF_INIT;
			strbuf_addf(&msg, "unknown option '%.*s'; known: name, "
				    "cores, gpus, memory, time, retries, array, after, "
				    "afterany", (int)kl, k);
			at(err, ps, k, msg.buf);
			strbuf_release(&msg);
			return -1;
		}
#undef KEY
	}
	p = close + 1;
	while (*p && is_blank(*p))
		p++;
	if (!*p)
		return at(err, ps, p, "no command after the options");
	*rest = p;
	return 0;
}

struct taskplan *taskplan_parse(const char *text, size_t len,
				const struct task_spec *defaults,
				struct err *err)
{
	struct taskplan *pl = calloc(1, sizeof(*pl));
	char *copy = malloc(len + 1);
	size_t seg = 0;			/* first entry of this segment */
	size_t bar_lo = 0, bar_hi = 0;	/* the segment above the barrier */
	struct pos ps = { 0, NULL };

	if (!pl || !copy) {
		errprintf(err, "out of memory");
		goto fail;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (char *p = copy, *end = copy + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;

		ps.line++;
		ps.start = p;
		if ((size_t)(eol - p) > TASKFILE_MAX_LINE) {
			errprintf(err, "line %u: longer than %d KiB", ps.line,
				  TASKFILE_MAX_LINE / 1024);
			goto fail;
		}
		if (memchr(p, '\0', (size_t)(eol - p))) {
			errprintf(err, "line %u: contains a NUL byte", ps.line);
			goto fail;
		}
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		char *q = p;
		while (*q && is_blank(*q))
			q++;
		p = eol + 1;
		if (!*q || *q == '#')
			continue;
		if (is_barrier(q, q + strlen(q))) {
			if (pl->n > seg)
				bar_lo = seg, bar_hi = pl->n;
			seg = pl->n;
			continue;
		}
		if (pl->n == pl->cap) {
			size_t cap = pl->cap ? pl->cap * 2 : 16;
			struct entry *e = realloc(pl->e, cap * sizeof(*e));
			if (!e) {
				errprintf(err, "out of memory");
				goto fail;
			}
			pl->e = e;
			pl->cap = cap;
		}
		struct entry *e = &pl->e[pl->n];
		memset(e, 0, sizeof(*e));
		e->line = ps.line;
		e->spec = *defaults;
		e->spec.argv = NULL;
		e->spec.after = NULL;
		e->spec.nafter = 0;
		e->spec.is_array = 0;
		e->spec.name = NULL;
		const char *cmd = q;
		pl->n++;		/* released on failure from here */
		if (defaults->name && !(e->name = strdup(defaults->name))) {
			errprintf(err, "out of memory");
			goto fail;
		}
		if (is_options(q) && parse_options(pl, e, q, &ps, &cmd, err) < 0)
			goto fail;
		for (size_t k = bar_lo; k < bar_hi; k++)
			if (add_dep(&e->deps, &e->ndeps, k) < 0) {
				errprintf(err, "out of memory");
				goto fail;
			}
		if (!(e->argv = taskfile_line_argv(cmd))) {
			errprintf(err, "out of memory");
			goto fail;
		}
		e->count = e->spec.is_array ?
			(uint64_t)(e->spec.array_last - e->spec.array_first) + 1 : 1;
		pl->ntasks += e->count;
	}
	free(copy);
	return pl;
fail:
	free(copy);
	taskplan_destroy(pl);
	return NULL;
}

uint64_t taskplan_ntasks(const struct taskplan *p)
{
	return p->ntasks;
}

size_t taskplan_pending(const struct taskplan *p)
{
	return p->n - p->nsubmitted;
}

/* Every task of entry `e` (submitted) has ended. */
static int entry_ended(struct sched *s, const struct entry *e)
{
	unsigned live = 1u << TASK_WAITING | 1u << TASK_QUEUED |
		1u << TASK_RUNNING;
	task_id_t id = sched_next(s, e->first - 1, live);

	return !id || id >= e->first + e->count;
}

long long taskplan_submit_ready(struct taskplan *p, struct sched *s,
				struct err *err)
{
	struct task_spec *specs = NULL;
	task_id_t **afters = NULL;
	size_t *which = NULL, nready = 0;
	task_id_t next = sched_last_id(s) + 1;
	task_id_t first = 0;
	uint64_t count = 0;
	long long ret = -1;

	if (p->nsubmitted == p->n)
		return 0;
	specs = calloc(p->n, sizeof(*specs));
	afters = calloc(p->n, sizeof(*afters));
	which = calloc(p->n, sizeof(*which));
	if (!specs || !afters || !which) {
		errprintf(err, "out of memory");
		goto out;
	}
	/* submitted == 2: ready in this round, ids predicted */
	for (size_t k = 0; k < p->n; k++) {
		struct entry *e = &p->e[k];
		int ready = !e->submitted;
		for (size_t d = 0; ready && d < e->ndeps; d++)
			ready = p->e[e->deps[d]].submitted != 0;
		for (size_t d = 0; ready && d < e->nanydeps; d++)
			ready = p->e[e->anydeps[d]].submitted == 1 &&
				entry_ended(s, &p->e[e->anydeps[d]]);
		if (!ready)
			continue;
		uint64_t nafter = 0;
		for (size_t d = 0; d < e->ndeps; d++)
			nafter += p->e[e->deps[d]].count;
		if (nafter > UINT32_MAX) {
			errprintf(err, "line %u: depends on too many tasks", e->line);
			goto out;
		}
		if (nafter && !(afters[nready] = malloc(nafter * sizeof(task_id_t)))) {
			errprintf(err, "out of memory");
			goto out;
		}
		size_t a = 0;
		for (size_t d = 0; d < e->ndeps; d++) {
			const struct entry *de = &p->e[e->deps[d]];
			for (uint64_t i = 0; i < de->count; i++)
				afters[nready][a++] = de->first + i;
		}
		specs[nready] = e->spec;
		specs[nready].argv = e->argv;
		specs[nready].name = e->name ? e->name : "line";
		specs[nready].after = afters[nready];
		specs[nready].nafter = (unsigned)nafter;
		e->first = next;
		next += e->count;
		e->submitted = 2;
		which[nready++] = k;
	}
	if (!nready) {
		ret = 0;
		goto out;
	}
	if (sched_submit_many(s, specs, nready, &first, &count, err) < 0) {
		for (size_t r = 0; r < nready; r++)
			p->e[which[r]].submitted = 0;
		errprefix(err, "line %u", p->e[which[0]].line);
		goto out;
	}
	for (size_t r = 0; r < nready; r++)
		p->e[which[r]].submitted = 1;
	p->nsubmitted += nready;
	ret = (long long)count;
out:
	for (size_t r = 0; afters && r < p->n; r++)
		free(afters[r]);
	free(afters);
	free(which);
	free(specs);
	return ret;
}

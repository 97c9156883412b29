/*
 * activity: the ring is an array used modulo its size, the event with
 * number seq at seq % size; the names a small open-addressed table
 * (FNV-1a) in front of an array, so counting a task is a hash and an
 * add.  A worker's slots are an array indexed by slot, id 0 marking a
 * free one: a run takes the lowest free slot, so the rows of the task
 * stream stay as few as the worker's tasks at once.  A run is found again
 * by its task id in an open-addressed table (linear probing, deletion by
 * shifting back), as a worker may hold dozens: a scan of its slots at
 * each report and stop cost more than the rest of the activity.
 */
#include "api/activity.h"

#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "util/xalloc.h"

struct name {
	char *text;
	uint64_t count[TASK_NSTATES];
};

struct slots {
	struct activity_run *run;
	size_t n, alloc;
};

struct where {
	task_id_t id;
	worker_id_t w;
	unsigned slot;
};

struct activity {
	struct activity_event *ring;
	size_t size;
	uint64_t last;			/* number of the latest event */

	struct name *names;		/* [0] is ACTIVITY_OTHER */
	size_t nnames, max_names;
	unsigned *hash;			/* index + 1; 0: empty */
	size_t hash_size;

	struct slots *workers;
	size_t nworkers, workers_alloc;

	struct where *runs_at;		/* the runs by task id; id 0: empty */
	size_t runs_size, nruns;	/* a power of two; at most half full */
	int shadowed;			/* a task ran twice at once: its
					   first run is found by a scan */

	double seconds[ACTION_COUNT];
	uint64_t runs[ACTION_COUNT];
};

static const char *const action_names[ACTION_COUNT] = {
	[ACTION_QUEUE_WAIT] = "queue_wait",
	[ACTION_DISPATCH] = "dispatch",
	[ACTION_SPAWN] = "spawn",
	[ACTION_RUN] = "run",
	[ACTION_OUTPUT] = "output",
};

const char *activity_action_name(enum activity_action act)
{
	return (unsigned)act < ACTION_COUNT ? action_names[act] : "?";
}

struct activity *activity_create(size_t ring, size_t names)
{
	struct activity *a = xcalloc(1, sizeof(*a));

	a->size = ring ? ring : ACTIVITY_RING;
	a->ring = xcalloc(a->size, sizeof(*a->ring));
	a->max_names = (names ? names : ACTIVITY_NAMES) + 1;
	a->names = xcalloc(a->max_names, sizeof(*a->names));
	a->names[0].text = xstrdup(ACTIVITY_OTHER);
	a->nnames = 1;
	/* At most half full, a power of two. */
	for (a->hash_size = 16; a->hash_size < 2 * a->max_names;)
		a->hash_size *= 2;
	a->hash = xcalloc(a->hash_size, sizeof(*a->hash));
	return a;
}

void activity_destroy(struct activity *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nnames; i++)
		free(a->names[i].text);
	for (size_t i = 0; i < a->nworkers; i++)
		free(a->workers[i].run);
	free(a->workers);
	free(a->runs_at);
	free(a->names);
	free(a->hash);
	free(a->ring);
	free(a);
}

/* ---- names ---------------------------------------------------------------- */

static size_t fnv(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

unsigned activity_name(struct activity *a, const char *name)
{
	size_t mask = a->hash_size - 1;

	if (!name || !*name)
		return 0;
	for (size_t i = fnv(name) & mask;; i = (i + 1) & mask) {
		unsigned k = a->hash[i];
		if (!k) {
			if (a->nnames == a->max_names)
				return 0;
			a->names[a->nnames].text = xstrdup(name);
			a->hash[i] = (unsigned)++a->nnames;
			return (unsigned)(a->nnames - 1);
		}
		if (!strcmp(a->names[k - 1].text, name))
			return k - 1;
	}
}

const char *activity_name_text(const struct activity *a, unsigned name)
{
	return name < a->nnames ? a->names[name].text : ACTIVITY_OTHER;
}

size_t activity_nnames(const struct activity *a)
{
	return a->nnames;
}

void activity_count(struct activity *a, unsigned name, int from,
		    enum task_state to)
{
	struct name *n = &a->names[name < a->nnames ? name : 0];

	if (from >= 0 && from < TASK_NSTATES && n->count[from])
		n->count[from]--;
	if ((unsigned)to < TASK_NSTATES)
		n->count[to]++;
}

const uint64_t *activity_counts(const struct activity *a, unsigned name)
{
	return a->names[name < a->nnames ? name : 0].count;
}

/* ---- the ring ------------------------------------------------------------- */

static struct activity_event *push(struct activity *a)
{
	struct activity_event *e = &a->ring[++a->last % a->size];

	memset(e, 0, sizeof(*e));
	e->seq = a->last;
	return e;
}

uint64_t activity_first(const struct activity *a)
{
	return a->last < a->size ? 1 : a->last - a->size + 1;
}

uint64_t activity_last(const struct activity *a)
{
	return a->last;
}

const struct activity_event *activity_event(const struct activity *a,
					    uint64_t seq)
{
	if (!seq || seq > a->last || seq < activity_first(a))
		return NULL;
	return &a->ring[seq % a->size];
}

/* ---- runs ----------------------------------------------------------------- */

static size_t home(const struct activity *a, task_id_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) &
	       (a->runs_size - 1);
}

/* The entry of `id`, or the empty one where it would go. */
static struct where *at(struct activity *a, task_id_t id)
{
	size_t i = home(a, id);

	while (a->runs_at[i].id && a->runs_at[i].id != id)
		i = (i + 1) & (a->runs_size - 1);
	return &a->runs_at[i];
}

static void runs_grow(struct activity *a)
{
	struct where *old = a->runs_at;
	size_t n = a->runs_size;

	a->runs_size = n ? 2 * n : 64;
	a->runs_at = xcalloc(a->runs_size, sizeof(*a->runs_at));
	for (size_t i = 0; i < n; i++)
		if (old[i].id)
			*at(a, old[i].id) = old[i];
	free(old);
}

static void runs_put(struct activity *a, task_id_t id, worker_id_t w,
		     unsigned slot)
{
	struct where *e;

	if (2 * (a->nruns + 1) > a->runs_size)
		runs_grow(a);
	e = at(a, id);
	if (!e->id)
		a->nruns++;
	else
		a->shadowed = 1;
	*e = (struct where){ id, w, slot };
}

/* Remove `id`; the entries after it in its run of the table move back
 * where their probe would find them. */
static void runs_del(struct activity *a, task_id_t id)
{
	size_t mask = a->runs_size - 1, i, j;

	if (!a->runs_size || !at(a, id)->id)
		return;
	i = (size_t)(at(a, id) - a->runs_at);
	a->runs_at[i].id = 0;
	a->nruns--;
	for (j = (i + 1) & mask; a->runs_at[j].id; j = (j + 1) & mask) {
		size_t h = home(a, a->runs_at[j].id);
		/* j's entry may stay unless its home lies cyclically in (i, j] */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			a->runs_at[i] = a->runs_at[j];
			a->runs_at[j].id = 0;
			i = j;
		}
	}
}

static struct slots *worker_slots(struct activity *a, worker_id_t w)
{
	size_t i = (size_t)w;

	if (i >= a->nworkers) {
		a->workers = vec_grow(a->workers, &a->workers_alloc, i + 1,
				      sizeof(*a->workers));
		memset(a->workers + a->nworkers, 0,
		       (i + 1 - a->nworkers) * sizeof(*a->workers));
		a->nworkers = i + 1;
	}
	return &a->workers[i];
}

unsigned activity_run_start(struct activity *a, double time, task_id_t id,
			    worker_id_t w, unsigned name)
{
	struct slots *s = worker_slots(a, w < 0 ? 0 : w);
	struct activity_event *e;
	size_t slot = 0;

	while (slot < s->n && s->run[slot].id)
		slot++;
	if (slot == s->n) {
		s->run = vec_grow(s->run, &s->alloc, s->n + 1, sizeof(*s->run));
		s->n++;
	}
	s->run[slot] = (struct activity_run){ .id = id, .slot = (unsigned)slot,
					      .name = name, .start = time };
	if (id)
		runs_put(a, id, w < 0 ? 0 : w, (unsigned)slot);
	e = push(a);
	e->kind = ACTIVITY_START;
	e->time = time;
	e->id = id;
	e->worker = w;
	e->slot = (unsigned)slot;
	e->name = name;
	e->state = TASK_RUNNING;
	e->start = time;
	return (unsigned)slot;
}

/* The slot of the run of `id` on `w`, or NULL. */
static struct activity_run *find_run(struct activity *a, task_id_t id,
				     worker_id_t w)
{
	struct slots *s;

	if (w < 0 || (size_t)w >= a->nworkers || !id)
		return NULL;
	s = &a->workers[w];
	if (a->runs_size) {
		const struct where *e = at(a, id);
		if (e->id && e->w == w && e->slot < s->n &&
		    s->run[e->slot].id == id)
			return &s->run[e->slot];
	}
	if (!a->shadowed)
		return NULL;
	/* the same task started again before this run stopped */
	for (size_t slot = 0; slot < s->n; slot++)
		if (s->run[slot].id == id)
			return &s->run[slot];
	return NULL;
}

const struct activity_run *activity_run_find(struct activity *a,
					     task_id_t id, worker_id_t w)
{
	return find_run(a, id, w);
}

static double positive(double v)
{
	return v > 0 ? v : 0;
}

int activity_run_report(struct activity *a, task_id_t id, worker_id_t w,
			double spawn, double runtime, double output)
{
	struct activity_run *r = find_run(a, id, w);

	if (!r)
		return -1;
	r->reported = 1;
	r->spawn = positive(spawn);
	r->runtime = positive(runtime);
	r->output = positive(output);
	return 0;
}

int activity_run_stop(struct activity *a, double time, task_id_t id,
		      worker_id_t w, enum task_state state,
		      const double action[ACTION_COUNT])
{
	struct activity_run *r = find_run(a, id, w);
	struct slots *s;
	struct activity_event *e;
	double v[ACTION_COUNT];
	size_t slot;

	if (!r)
		return -1;
	s = &a->workers[w];
	slot = (size_t)(r - s->run);
	for (int i = 0; i < ACTION_COUNT; i++)
		v[i] = action ? positive(action[i]) : 0;
	/* The worker's own times lie within what the scheduler saw from the
	 * assignment on; the rest is the trip there and back. */
	if (r->reported) {
		double assigned = v[ACTION_DISPATCH] + v[ACTION_SPAWN] +
				  v[ACTION_RUN] + v[ACTION_OUTPUT];
		v[ACTION_SPAWN] = r->spawn;
		v[ACTION_RUN] = r->runtime;
		v[ACTION_OUTPUT] = r->output;
		v[ACTION_DISPATCH] = positive(assigned - r->spawn - r->runtime -
					      r->output);
	}
	e = push(a);
	e->kind = ACTIVITY_STOP;
	e->time = time;
	e->id = id;
	e->worker = w;
	e->slot = (unsigned)slot;
	e->name = s->run[slot].name;
	e->state = state;
	e->start = s->run[slot].start;
	for (int i = 0; i < ACTION_COUNT; i++) {
		e->action[i] = v[i];
		a->seconds[i] += v[i];
		a->runs[i]++;
	}
	s->run[slot].id = 0;
	if (a->runs_size) {
		const struct where *wh = at(a, id);
		if (wh->id && wh->w == w && wh->slot == slot)
			runs_del(a, id);
	}
	while (s->n && !s->run[s->n - 1].id)
		s->n--;
	return 0;
}

const struct activity_run *activity_runs(const struct activity *a,
					 worker_id_t w, size_t *n)
{
	if (w < 0 || (size_t)w >= a->nworkers) {
		*n = 0;
		return NULL;
	}
	*n = a->workers[w].n;
	return a->workers[w].run;
}

worker_id_t activity_nworkers(const struct activity *a)
{
	return (worker_id_t)a->nworkers;
}

double activity_action_seconds(const struct activity *a,
			       enum activity_action act)
{
	return (unsigned)act < ACTION_COUNT ? a->seconds[act] : 0;
}

uint64_t activity_action_runs(const struct activity *a,
			      enum activity_action act)
{
	return (unsigned)act < ACTION_COUNT ? a->runs[act] : 0;
}

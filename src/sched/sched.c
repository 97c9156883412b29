/*
 * sched: the task table and placement.
 *
 * Storage.  Every submission is a group: one copy of its spec (a single
 * allocation), its first id and size, and per element one state byte and a
 * 32-bit detail slot.  Detail records (attempts, worker, times, last exit,
 * peak memory, reason: 64 bytes) exist only for elements that have
 * started; the slot holds the record's index.  Records live in fixed
 * chunks that never move; dropped ones are reused.  A 1,000,000-element
 * array therefore costs about 5 MB until it runs, plus 64 bytes per
 * element that runs or ended recently.  A group of one keeps its state
 * byte and detail slot inline.
 *
 * Cancelling.  An element cancelled by request before it ever started
 * gets no record: its group keeps cancel runs (elements lo..hi, when),
 * sorted and disjoint, one per stretch cancelled together, and a run
 * grows when the next element is cancelled within CANCEL_MERGE_SECONDS
 * of it, so a cancelled range costs O(1) memory, by sched_cancel_range or
 * by a loop of sched_cancel (such an end time is then up to a second
 * early).  Ends of consecutive ids are one event in the outbox and one
 * entry in the end queue.  Elements that started keep their records.
 *
 * Ended tasks.  At most detail_limit ended tasks (SCHED_DETAIL_LIMIT
 * unless sched_set_detail_limit says otherwise) keep their record, in a
 * ring in the order they ended.  Past that the oldest one's record is
 * dropped and what a task listing shows of it is packed into its detail
 * slot (compact_pack): runs started (at most 15), exit code or signal,
 * runtime within 0.05%, and the kind of its reason (time limit, memory
 * limit, lost workers, spawn failed, cancelled, exit status lost, or what
 * the exit status says).  Its worker, start and end times, peak memory,
 * failure and loss counts and the rest of a "spawn failed: ..." text are
 * gone.  Its spec, id, index and state stay, and with them its output
 * path.  So ended tasks cost at most detail_limit records beyond the
 * state byte and slot their submission paid for; the groups themselves
 * (spec, state bytes, slots) stay for the scheduler's life.
 *
 * Lookup.  Groups are kept in id order, so an id is found by binary search.
 *
 * Ready queue.  A binary min-heap of id ranges [next, end) of queued
 * elements: an array enters as one range, a requeued element as a range of
 * one, so the heap holds a handful of entries however many tasks wait, and
 * it yields tasks in id order.  All elements of a range share cores and
 * memory, so one look at a range says whether any of it fits; dispatch
 * sets aside at most DISPATCH_MAX_BLOCKED ranges that do not fit now and
 * backfills past them.  Ranges that no live worker could ever take are
 * parked outside the heap until a worker joins.  Only workers with free
 * cores are searched.
 *
 * Prefetch.  A worker may hold up to `prefetch` tasks beyond what it can
 * start now, so it starts the next one the moment one ends instead of
 * waiting a round trip for the scheduler.  Tasks sent to a worker go to the
 * end of its queue (`held`); the worker starts them strictly in that order,
 * each as soon as its free cores and memory allow.  sched runs the same
 * rule on its copy of the queue at every event the worker sees too (a
 * task sent, ended or killed), so both agree on which tasks run without a
 * message for each start: the events reach the two sides in different
 * interleavings, but strict FIFO starts come out the same.  A worker with
 * a non-empty queue takes no task to start at once (it would wait behind
 * the queue), and dispatch fills prefetch slots only for tasks that no
 * worker can start now, so an idle worker is always served first.
 *
 * Depth.  A worker of one slot holding one task idles for a round trip
 * after each task that takes less than one.  So a task whose submission
 * is seen to run short (pace.h) may be held deeper, up to its
 * pace_depth, on a worker where everything it runs and holds is short
 * too: each task is marked `slow` when it is sent unless its submission
 * was known short then, and a worker with a slow task holds `prefetch`,
 * as does any worker for a slow task.  So no task waits on a worker
 * behind more than `prefetch` tasks that may be long, and a long-task
 * workload spreads over the workers as with a fixed prefetch.  Those
 * deep queues are searched apart (`deep`): the one holding the fewest of
 * the first PREFETCH_CHOICES that could take the task, from a cursor
 * that moves round the set, looking at no more than DEEP_SCAN, so that a
 * placement on thousands of busy workers looks at a few, not all.  A
 * submission may run short at first and long later: tasks held deep
 * then wait behind a long one until it ends, and nothing takes them
 * back.  So a worker of deep queues that has started nothing for
 * DEEP_STALL seconds is `stalled`: it gets no more of them until it
 * starts a task, and what it runs counts as a run that long for its
 * submission, which is then long everywhere before any such run ends.
 *
 * Dependencies.  A hash from a task id to the groups that wait for it; a
 * group counts its unfinished dependencies.  Tasks that end are queued and
 * their dependents resolved before the call returns.
 *
 * Hooks.  The table is changed first and the hooks are queued; they run,
 * in the order the changes happened, when the outermost sched call
 * returns.  A hook may call any sched function except sched_destroy; what
 * its own calls queue runs after it returns.
 *
 * Memory.  A request (a submission, sched_cancel, sched_cancel_range)
 * reserves all it needs before it changes the table, and when memory runs
 * out it fails with an error and changes nothing.  The other bookkeeping
 * (placement, reports, lost workers) aborts on failure, as strbuf does;
 * an end needs no memory it cannot do without (when the ring of kept
 * records cannot grow, a record is compacted at once).
 */
#include "sched/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/pace.h"
#include "util/strbuf.h"
#include "util/units.h"
#include "util/clock.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define DISPATCH_MAX_BLOCKED 32
#define PREFETCH_CHOICES 4
#define DEEP_SCAN 64
#define DEEP_STALL 0.1
#define DEFAULT_MAX_WORKER_LOSSES 3
#define DETAIL_CHUNK_BITS 16
#define DETAIL_CHUNK (1u << DETAIL_CHUNK_BITS)

/* State byte: the task_state in the low bits, how it was cancelled, and
 * what the element's detail slot holds: the index of a detail record
 * (ST_DETAIL), a compact result (ST_COMPACT), or nothing. */
#define ST_MASK 0x07
#define ST_BY_DEPENDENCY 0x08
#define ST_DETAIL 0x10
#define ST_COMPACT 0x20
#define ST_SLOT (ST_DETAIL | ST_COMPACT)

/* Adjacent elements cancelled within this many seconds of each other
 * share one cancel run (and its time). */
#define CANCEL_MERGE_SECONDS 1.0

struct detail {
	double start_time, end_time, runtime;
	uint64_t peak_memory;
	char *reason;
	worker_id_t worker;
	int exit_code;
	uint32_t attempts, failures, worker_losses;
	int16_t signal;
	uint8_t killed;			/* cancelled while it ran: its
					   worker's report of the run is
					   still to come */
	uint8_t slow;			/* sent while not known to run short
					   (see Depth) */
};

/* Elements lo..hi of a group, cancelled by request before they started,
 * at `time`. */
struct cancel_run {
	uint64_t lo, hi;
	double time;
};

struct group {
	task_id_t first;
	uint64_t n;
	struct task_spec spec;		/* strings and arrays live in `blob` */
	void *blob;
	double submit_time;
	struct pace pace;		/* how long its runs take */
	uint8_t *state;			/* n bytes */
	uint32_t *detail;		/* n slots, see ST_DETAIL */
	uint64_t count[TASK_NSTATES];
	uint64_t pending;		/* unfinished dependencies */
	task_id_t failed_dep;		/* the dependency that cancelled
					   it, 0 when none did */
	enum task_state failed_dep_state;	/* how that one ended */
	double cancel_time;		/* when dependencies cancelled it */
	struct cancel_run *cancels;	/* sorted by lo, disjoint */
	size_t ncancels, acancels;
	uint8_t state1;			/* storage for a group of one */
	uint32_t detail1;
	char *args;			/* sched_submit_each: the last argument */
	uint64_t *arg_off;		/* of element i: args + arg_off[i] */
	int own_argv;			/* sched_submit_argvs: element i's whole
					   argv, NUL-separated words up to
					   arg_off[i + 1] */
};

/* A worker the journal names as running restored tasks, and those tasks
 * (loosely: some may be claimed, ended or requeued since). */
struct recorded {
	char *name;
	task_id_t *ids;
	size_t nids, aids;
};

struct range {
	task_id_t next, end;
	struct group *g;
};

struct worker {
	char *name;
	unsigned cores, cores_used;
	uint64_t memory, memory_used;
	unsigned gpus, gpus_used;	/* counted here; the worker picks
					   which of its devices */
	uint64_t done;
	int alive, draining;
	int claiming;			/* rejoining: takes no new task yet */
	double deadline;		/* tasks must end by then; 0: none */
	task_id_t *tasks;		/* running here */
	size_t ntasks, atasks;
	task_id_t *held;		/* sent, not started yet, in order */
	size_t nheld, aheld;
	unsigned nslow;			/* tasks running or held with
					   detail.slow */
	double last_start;		/* when it last started a task,
					   monotonic */
	int stalled;			/* started none for DEEP_STALL */
};

enum event_kind { EV_ASSIGN, EV_KILL, EV_ENDED, EV_QUEUED, EV_RELEASED,
		  EV_REQUEUED };

struct event {
	enum event_kind kind;
	worker_id_t worker;
	task_id_t id, last;		/* EV_ENDED, EV_RELEASED: tasks
					   id..last */
};

struct edge {
	struct group *g;
	uint32_t next;			/* index + 1, 0 ends */
	int any;			/* after_any: any end will do */
};

struct slot {
	task_id_t key;			/* 0: empty */
	uint32_t head;			/* first edge, index + 1 */
};

struct ended {
	task_id_t first, last;		/* consecutive ids, one state */
	enum task_state state;
};

/* A set of worker ids with O(1) insert and remove: the members in ids[],
 * and each worker's index there in pos[] (-1 when not a member). */
struct wset {
	worker_id_t *ids;
	int *pos;
	size_t n;
};

static void wset_resize(struct wset *ws, size_t nworkers)
{
	ws->ids = realloc(ws->ids, nworkers * sizeof(*ws->ids));
	ws->pos = realloc(ws->pos, nworkers * sizeof(*ws->pos));
	if (!ws->ids || !ws->pos)
		abort();
	ws->pos[nworkers - 1] = -1;
}

static void wset_set(struct wset *ws, worker_id_t id, int member)
{
	int at = ws->pos[id];

	if (member && at < 0) {
		ws->pos[id] = (int)ws->n;
		ws->ids[ws->n++] = id;
	} else if (!member && at >= 0) {
		worker_id_t last = ws->ids[--ws->n];
		ws->ids[at] = last;
		ws->pos[last] = at;
		ws->pos[id] = -1;
	}
}

static void wset_release(struct wset *ws)
{
	free(ws->ids);
	free(ws->pos);
}

struct sched {
	struct sched_hooks hooks;
	/* The task an assign or ended hook is being told of, and its
	 * sched_task answer once asked: each subscriber of the hook asks
	 * the same, and nothing changes the task meanwhile but a call
	 * into sched, which forgets it (forget_hot). */
	task_id_t hot_id;
	int hot_ok;
	struct task_info hot;
	/* The clocks read once in a call into sched (now_wall, now_mono),
	 * for the starts and ends it makes; 0: not read in this one. */
	double wall, mono;

	struct group **groups;
	size_t ngroups, agroups;
	task_id_t last_id;

	struct detail **chunks;
	size_t nchunks;
	uint32_t ndetails;
	uint32_t free_detail;		/* index + 1, chained through
					   attempts */

	task_id_t *kept;		/* ended tasks with a detail record, a
					   ring, oldest first */
	size_t kept_head, kept_len, kept_alloc;
	size_t detail_limit;

	struct range *heap;
	size_t nheap, aheap;
	struct range *parked;		/* fit no live worker at all */
	size_t nparked, aparked;

	struct worker *workers;
	size_t nworkers, aworkers;
	struct wset freew;		/* workers that can start a task */
	struct wset pfw;		/* workers with a free prefetch slot */
	struct wset deep;		/* workers with no slow task and room
					   for more short ones */
	size_t deep_cursor;		/* where find_deep looks first */
	unsigned prefetch;
	uint64_t nheld;			/* over all workers */
	int queued_pending;		/* an EV_QUEUED is in the outbox */

	struct slot *slots;		/* dependency hash, power of two */
	size_t nslots, nkeys;
	struct edge *edges;
	size_t nedges, aedges;
	uint32_t free_edge;		/* index + 1 */

	struct ended *endq;
	size_t endq_head, endq_len, endq_alloc;

	struct event *outbox;
	size_t out_head, out_len, out_alloc;
	int depth;

	uint64_t count[TASK_NSTATES];
	uint64_t submitted, retried, lost;

	task_id_t *unclaimed;		/* restored RUNNING with no worker;
					   may list some claimed since */
	size_t nunclaimed_ids, aunclaimed;
	uint64_t nunclaimed;		/* those still unclaimed */
	struct recorded *recorded;	/* the workers the journal named for
					   them */
	size_t nrecorded, arecorded, last_recorded;

	struct strbuf reason;		/* computed task_info.reason */
};

/* --- groups and elements ------------------------------------------------ */

static struct group *find_group(struct sched *s, task_id_t id, uint64_t *idx)
{
	size_t lo = 0, hi = s->ngroups;

	if (id == 0 || id > s->last_id)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->groups[mid]->first <= id)
			lo = mid;
		else
			hi = mid;
	}
	struct group *g = s->groups[lo];
	if (idx)
		*idx = id - g->first;
	return g;
}

static size_t find_group_index(struct sched *s, task_id_t id)
{
	size_t lo = 0, hi = s->ngroups;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->groups[mid]->first <= id)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int state_ended(enum task_state st)
{
	return st == TASK_DONE || st == TASK_FAILED || st == TASK_CANCELLED;
}

static enum task_state elem_state(const struct group *g, uint64_t i)
{
	return (enum task_state)(g->state[i] & ST_MASK);
}

static void set_state(struct sched *s, struct group *g, uint64_t i,
		      enum task_state st, uint8_t flags)
{
	enum task_state old = elem_state(g, i);

	g->count[old]--;
	s->count[old]--;
	g->count[st]++;
	s->count[st]++;
	g->state[i] = (uint8_t)((g->state[i] & ST_SLOT) | st | flags);
}

static struct detail *detail_at(struct sched *s, uint32_t d)
{
	return &s->chunks[d >> DETAIL_CHUNK_BITS][d & (DETAIL_CHUNK - 1)];
}

static struct detail *detail_of(struct sched *s, const struct group *g,
				uint64_t i)
{
	if (!(g->state[i] & ST_DETAIL))
		return NULL;
	return detail_at(s, g->detail[i] - 1);
}

static struct detail *detail_get(struct sched *s, struct group *g, uint64_t i)
{
	struct detail *d = detail_of(s, g, i);
	uint32_t idx;

	if (d)
		return d;
	if (s->free_detail) {
		idx = s->free_detail - 1;
		d = detail_at(s, idx);
		s->free_detail = d->attempts;
	} else {
		if (s->ndetails == UINT32_MAX - 1)
			abort();
		idx = s->ndetails++;
		size_t c = idx >> DETAIL_CHUNK_BITS;
		if (c >= s->nchunks) {
			s->chunks = realloc(s->chunks,
					    (c + 1) * sizeof(*s->chunks));
			if (!s->chunks)
				abort();
			s->chunks[c] = malloc(DETAIL_CHUNK *
					      sizeof(struct detail));
			if (!s->chunks[c])
				abort();
			s->nchunks = c + 1;
		}
		d = detail_at(s, idx);
	}
	memset(d, 0, sizeof(*d));
	d->worker = -1;
	g->detail[i] = idx + 1;
	g->state[i] |= ST_DETAIL;
	return d;
}

/* vec_grow that says when memory runs out instead of aborting: what a
 * request needs is reserved this way before the table changes.  NULL
 * leaves p and *alloc as they were. */
static void *try_grow(void *p, size_t *alloc, size_t need, size_t size)
{
	size_t n = *alloc ? *alloc : 8;

	if (!need)
		need = 1;
	if (need <= *alloc)
		return p;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return NULL;
		n *= 2;
	}
	p = reallocarray(p, n, size);
	if (p)
		*alloc = n;
	return p;
}

/* TRY_GROW(vec, alloc, need): try_grow on an array member in place; 0 or
 * -1.  The pointer is read and written with memcpy, whatever its type. */
#define TRY_GROW(vec, alloc, need) \
	try_grow_at(&(vec), &(alloc), (need), sizeof(*(vec)))

static int try_grow_at(void *vecp, size_t *alloc, size_t need, size_t size)
{
	void *p;

	memcpy(&p, vecp, sizeof(p));
	p = try_grow(p, alloc, need, size);
	if (!p)
		return -1;
	memcpy(vecp, &p, sizeof(p));
	return 0;
}

static void set_reason(struct detail *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_reason(struct detail *d, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	free(d->reason);
	d->reason = strbuf_detach(&sb, NULL);
}

static void clear_reason(struct detail *d)
{
	free(d->reason);
	d->reason = NULL;
}

/* --- records of ended tasks ---------------------------------------------- */

/*
 * A compact result, kept in the detail slot of an ended element once its
 * record is dropped:
 *	bits  0-7   exit code, or the signal number
 *	bit   8     killed by a signal
 *	bits  9-11  enum compact_reason
 *	bits 12-15  runs started, at most 15
 *	bits 16-31  runtime in ms: an 11-bit mantissa shifted left by a 5-bit
 *	            exponent (within 0.05%)
 */
enum compact_reason {
	CR_EXIT,		/* none, or the one the exit status says */
	CR_TIME,
	CR_MEMORY,
	CR_LOST,		/* lost max_worker_losses workers */
	CR_SPAWN,
	CR_CANCELLED,
	CR_STATUS_LOST,
	CR_COUNT
};

static const char *const compact_text[CR_COUNT] = {
	[CR_TIME] = "time limit",
	[CR_MEMORY] = "memory limit",
	[CR_SPAWN] = "spawn failed",
	[CR_CANCELLED] = "cancelled",
	[CR_STATUS_LOST] = "exit status lost",
};

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static enum compact_reason compact_kind(const char *reason)
{
	if (!reason)
		return CR_EXIT;
	for (size_t k = 0; k < CR_COUNT; k++)
		if (compact_text[k] && has_prefix(reason, compact_text[k]))
			return (enum compact_reason)k;
	if (has_prefix(reason, "lost "))
		return CR_LOST;
	return CR_EXIT;
}

static uint32_t runtime_pack(double seconds)
{
	double ms = seconds * 1000.0 + 0.5;
	uint64_t m;
	unsigned e = 0;

	if (!(ms >= 1.0))
		return 0;
	if (ms > 4.0e12)
		ms = 4.0e12;
	m = (uint64_t)ms;
	while (m > 2047) {
		m = (m + 1) >> 1;
		e++;
	}
	return (uint32_t)(e << 11 | m);
}

static double runtime_unpack(uint32_t v)
{
	return (double)((uint64_t)(v & 2047) << (v >> 11)) / 1000.0;
}

static uint32_t compact_pack(const struct detail *d)
{
	uint32_t c = 0;

	if (d->signal)
		c = (uint32_t)(d->signal & 0xff) | 0x100;
	else
		c = (uint32_t)d->exit_code & 0xff;
	c |= (uint32_t)compact_kind(d->reason) << 9;
	c |= (d->attempts > 15 ? 15u : d->attempts) << 12;
	c |= runtime_pack(d->runtime) << 16;
	return c;
}

/* Drop the detail record of ended task `id` for a compact result. */
static void compact(struct sched *s, task_id_t id)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);
	struct detail *d = detail_of(s, g, i);
	uint32_t idx = g->detail[i] - 1;

	g->detail[i] = compact_pack(d);
	g->state[i] = (uint8_t)((g->state[i] & ~ST_DETAIL) | ST_COMPACT);
	free(d->reason);
	memset(d, 0, sizeof(*d));
	d->attempts = s->free_detail;
	s->free_detail = idx + 1;
}

static task_id_t kept_pop(struct sched *s)
{
	task_id_t id = s->kept[s->kept_head];

	s->kept_head = (s->kept_head + 1) % s->kept_alloc;
	s->kept_len--;
	return id;
}

/* Room for one more: the ring grows in place, its wrapped part moved
 * after the old end.  Nothing happens when memory runs out. */
static void kept_grow(struct sched *s)
{
	size_t old = s->kept_alloc;
	task_id_t *p = try_grow(s->kept, &s->kept_alloc, old + 1,
				sizeof(*s->kept));

	if (!p)
		return;
	s->kept = p;
	if (s->kept_head + s->kept_len > old)
		memcpy(s->kept + old, s->kept,
		       (s->kept_head + s->kept_len - old) * sizeof(*s->kept));
}

/* Ended task `id` has a detail record: it joins the ring of kept records,
 * and the oldest beyond detail_limit are compacted.  When the ring cannot
 * grow, the oldest is compacted now (or this one, when none is kept), so
 * an end never fails. */
static void keep_ended(struct sched *s, task_id_t id)
{
	if (s->kept_len == s->kept_alloc && s->kept_len < s->detail_limit)
		kept_grow(s);
	if (s->kept_len == s->kept_alloc || s->kept_len >= s->detail_limit) {
		if (!s->kept_len) {
			compact(s, id);
			return;
		}
		compact(s, kept_pop(s));
	}
	s->kept[(s->kept_head + s->kept_len) % s->kept_alloc] = id;
	s->kept_len++;
}

/* --- cancel runs ---------------------------------------------------------- */

static int close_in_time(double a, double b)
{
	return a - b < CANCEL_MERGE_SECONDS && b - a < CANCEL_MERGE_SECONDS;
}

/* Index of the first run that ends at or after element i. */
static size_t cancel_run_find(const struct group *g, uint64_t i)
{
	size_t lo = 0, hi = g->ncancels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->cancels[mid].hi < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct cancel_run *cancel_run_of(const struct group *g,
					      uint64_t i)
{
	size_t at = cancel_run_find(g, i);

	if (at < g->ncancels && g->cancels[at].lo <= i)
		return &g->cancels[at];
	return NULL;
}

/* Elements lo..hi were cancelled at t, none of them in a run yet; room
 * for one more run has been reserved.  Joins a neighbouring run cancelled
 * about the same time (CANCEL_MERGE_SECONDS), so a cancel of one element
 * after another, as a loop over ids does, costs a run per second. */
static void cancel_run_add(struct group *g, uint64_t lo, uint64_t hi,
			   double t)
{
	size_t at = cancel_run_find(g, lo);
	struct cancel_run *prev = at ? &g->cancels[at - 1] : NULL;
	struct cancel_run *next = at < g->ncancels ? &g->cancels[at] : NULL;
	int join_prev = prev && prev->hi + 1 == lo &&
		close_in_time(prev->time, t);
	int join_next = next && next->lo == hi + 1 &&
		close_in_time(next->time, t);

	if (join_prev && join_next && close_in_time(prev->time, next->time)) {
		prev->hi = next->hi;
		memmove(next, next + 1,
			(g->ncancels - at - 1) * sizeof(*next));
		g->ncancels--;
	} else if (join_prev) {
		prev->hi = hi;
	} else if (join_next) {
		next->lo = lo;
	} else {
		memmove(&g->cancels[at + 1], &g->cancels[at],
			(g->ncancels - at) * sizeof(*g->cancels));
		g->cancels[at] = (struct cancel_run){ lo, hi, t };
		g->ncancels++;
	}
}

/* --- hooks, run after the table has changed ------------------------------ */

/* Ends of consecutive ids in a row are one event (a range), so a bulk
 * cancel queues O(1) events; an event already being run is not joined. */
static void emit(struct sched *s, enum event_kind kind, worker_id_t w,
		 task_id_t id)
{
	if (kind == EV_ENDED && s->out_len > s->out_head) {
		struct event *last = &s->outbox[s->out_len - 1];
		if (last->kind == EV_ENDED && last->last + 1 == id) {
			last->last = id;
			return;
		}
	}
	s->outbox = vec_grow(s->outbox, &s->out_alloc, s->out_len + 1,
			 sizeof(*s->outbox));
	s->outbox[s->out_len++] = (struct event){ kind, w, id, id };
}

/* Hooks about task `id` follow: its sched_task answer may be kept. */
static void hot_begin(struct sched *s, task_id_t id)
{
	s->hot_id = id;
	s->hot_ok = 0;
}

static void forget_hot(struct sched *s)
{
	s->hot_ok = 0;
	s->wall = s->mono = 0;
}

/* The time of this call into sched: a call ends a task and starts the
 * next within microseconds, and reading the clock for each showed in
 * the scheduler's profile. */
static double now_wall(struct sched *s)
{
	if (!s->wall)
		s->wall = clock_wall();
	return s->wall;
}

static double now_mono(struct sched *s)
{
	if (!s->mono)
		s->mono = clock_monotonic();
	return s->mono;
}

static void flush(struct sched *s)
{
	while (s->out_head < s->out_len) {
		struct event ev = s->outbox[s->out_head++];
		const struct sched_hooks *h = &s->hooks;

		switch (ev.kind) {
		case EV_ASSIGN:
			hot_begin(s, ev.id);
			if (h->assign)
				h->assign(h->arg, ev.worker, ev.id);
			hot_begin(s, 0);
			break;
		case EV_KILL:
			if (h->kill)
				h->kill(h->arg, ev.worker, ev.id);
			break;
		case EV_ENDED:
			for (task_id_t id = ev.id; h->ended; id++) {
				hot_begin(s, id);
				h->ended(h->arg, id);
				if (id == ev.last)
					break;
			}
			hot_begin(s, 0);
			break;
		case EV_RELEASED:
			if (h->released)
				h->released(h->arg, ev.id, ev.last);
			break;
		case EV_REQUEUED:
			if (h->requeued)
				h->requeued(h->arg, ev.id, ev.worker);
			break;
		case EV_QUEUED:
			s->queued_pending = 0;
			if (h->queued)
				h->queued(h->arg);
			break;
		}
	}
	s->out_head = s->out_len = 0;
}

/* Tasks became QUEUED: one hook call per outermost sched call. */
static void note_queued(struct sched *s)
{
	if (s->queued_pending)
		return;
	s->queued_pending = 1;
	emit(s, EV_QUEUED, -1, 0);
}

static void resolve(struct sched *s);
static void group_free(struct group *g);

static void enter(struct sched *s)
{
	forget_hot(s);
	s->depth++;
}

static void leave(struct sched *s)
{
	resolve(s);
	if (s->depth == 1)
		flush(s);
	s->depth--;
}

/* --- ready queue ---------------------------------------------------------- */

static void heap_sift_down(struct sched *s, size_t i)
{
	struct range *h = s->heap;
	struct range r = h[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && h[c + 1].next < h[c].next)
			c++;
		if (h[c].next >= r.next)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = r;
}

static void heap_push(struct sched *s, struct group *g, task_id_t next,
		      task_id_t end)
{
	s->heap = vec_grow(s->heap, &s->aheap, s->nheap + 1, sizeof(*s->heap));
	size_t i = s->nheap++;
	struct range r = { next, end, g };

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (s->heap[p].next <= r.next)
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = r;
}

static struct range heap_pop(struct sched *s)
{
	struct range top = s->heap[0];

	s->heap[0] = s->heap[--s->nheap];
	if (s->nheap)
		heap_sift_down(s, 0);
	return top;
}

static void requeue(struct sched *s, struct group *g, uint64_t i)
{
	struct detail *d = detail_of(s, g, i);

	if (d)
		d->end_time = 0;
	emit(s, EV_REQUEUED, d ? d->worker : -1, g->first + i);
	set_state(s, g, i, TASK_QUEUED, 0);
	heap_push(s, g, g->first + i, g->first + i + 1);
	note_queued(s);
}

/* --- workers --------------------------------------------------------------- */

static struct worker *get_worker(struct sched *s, worker_id_t w)
{
	if (w < 0 || (size_t)w >= s->nworkers)
		return NULL;
	return &s->workers[w];
}

/* How many short tasks a worker may hold at most; 0: no deeper than
 * prefetch, ever. */
static unsigned deep_limit(const struct sched *s)
{
	return s->prefetch && s->prefetch < PACE_MAX_DEPTH ?
		PACE_MAX_DEPTH : 0;
}

/* Keep w in the free list exactly when it can take a task. */
static void update_free(struct sched *s, worker_id_t id)
{
	struct worker *w = &s->workers[id];
	int open = w->alive && !w->draining && !w->claiming;
	int want = open && w->cores_used < w->cores && !w->nheld;

	wset_set(&s->freew, id, want);
	wset_set(&s->pfw, id, open && w->nheld < s->prefetch);
	wset_set(&s->deep, id, open && !w->nslow && !w->stalled &&
		 w->nheld < deep_limit(s));
}

static int lives_for(const struct worker *w, uint64_t time_limit);

/* GPUs are a count, like cores: a task of N GPUs fits where N are free,
 * and a worker that has fewer than N never takes it. */
static int fits(const struct worker *w, const struct task_spec *sp)
{
	if (w->cores - w->cores_used < sp->cores)
		return 0;
	if (w->gpus - w->gpus_used < sp->gpus)
		return 0;
	if (sp->memory && w->memory && w->memory - w->memory_used < sp->memory)
		return 0;
	return 1;
}

/* Whether w could run it once idle. */
static int fits_ever(const struct worker *w, const struct task_spec *sp)
{
	return w->cores >= sp->cores && w->gpus >= sp->gpus &&
		(!sp->memory || !w->memory || w->memory >= sp->memory);
}

/* Whether some live worker could run it once idle. */
static int fits_anywhere(struct sched *s, const struct task_spec *sp)
{
	for (size_t k = 0; k < s->nworkers; k++) {
		const struct worker *w = &s->workers[k];
		if (w->alive && !w->draining && fits_ever(w, sp) &&
		    lives_for(w, sp->time_limit))
			return 1;
	}
	return 0;
}

/* A worker with a free prefetch slot that could ever run the task, the
 * one holding the fewest. */
static worker_id_t find_prefetch(struct sched *s, const struct task_spec *sp)
{
	worker_id_t best = -1;
	size_t least = SIZE_MAX;

	for (size_t k = 0; k < s->pfw.n; k++) {
		const struct worker *w = &s->workers[s->pfw.ids[k]];
		if (w->nheld < least && fits_ever(w, sp) &&
		    lives_for(w, sp->time_limit)) {
			best = s->pfw.ids[k];
			least = w->nheld;
			if (!least)
				break;
		}
	}
	return best;
}

/* For a task of a submission that runs short, `depth` deep: a worker of
 * `deep` holding fewer that could ever run it, the one holding the
 * fewest of the first PREFETCH_CHOICES such, looking at DEEP_SCAN at
 * most from the cursor on (see Depth). */
static void stall(struct sched *s, worker_id_t id, double now);

static worker_id_t find_deep(struct sched *s, const struct task_spec *sp,
			     unsigned depth)
{
	worker_id_t best = -1, stalled[DEEP_SCAN];
	size_t least = depth, n = s->deep.n, seen = 0, nstalled = 0, k;
	double now = clock_monotonic();

	for (k = 0; k < n && k < DEEP_SCAN; k++) {
		worker_id_t id = s->deep.ids[(s->deep_cursor + k) % n];
		const struct worker *w = &s->workers[id];
		if ((w->ntasks || w->nheld) &&
		    now - w->last_start > DEEP_STALL) {
			stalled[nstalled++] = id;
			continue;
		}
		if (w->nheld >= depth || !fits_ever(w, sp) ||
		    !lives_for(w, sp->time_limit))
			continue;
		if (w->nheld < least) {
			best = id;
			least = w->nheld;
		}
		if (++seen == PREFETCH_CHOICES)
			break;
	}
	if (n)
		s->deep_cursor = (s->deep_cursor + k + 1) % n;
	for (size_t j = 0; j < nstalled; j++)
		stall(s, stalled[j], now);
	return best;
}

static worker_id_t find_fit(struct sched *s, const struct task_spec *sp)
{
	for (size_t k = 0; k < s->freew.n; k++)
		if (fits(&s->workers[s->freew.ids[k]], sp) &&
		    lives_for(&s->workers[s->freew.ids[k]], sp->time_limit))
			return s->freew.ids[k];
	return -1;
}

static void worker_take(struct sched *s, worker_id_t id, task_id_t task,
			const struct task_spec *spec, int slow)
{
	struct worker *w = &s->workers[id];

	w->nslow += slow != 0;
	w->cores_used += spec->cores;
	w->gpus_used += spec->gpus;
	w->memory_used += spec->memory;
	w->tasks = vec_grow(w->tasks, &w->atasks, w->ntasks + 1,
			sizeof(*w->tasks));
	w->tasks[w->ntasks++] = task;
	update_free(s, id);
}

static void worker_release(struct sched *s, worker_id_t id, task_id_t task,
			   const struct task_spec *spec, int slow)
{
	struct worker *w = &s->workers[id];

	for (size_t k = 0; k < w->ntasks; k++) {
		if (w->tasks[k] == task) {
			w->tasks[k] = w->tasks[--w->ntasks];
			w->nslow -= slow != 0;
			w->cores_used -= spec->cores;
			w->gpus_used -= spec->gpus;
			w->memory_used -= spec->memory;
			update_free(s, id);
			return;
		}
	}
}

/* Drop `task` from w's queue; 0 when it was not there. */
static int unhold(struct sched *s, worker_id_t id, task_id_t task, int slow)
{
	struct worker *w = &s->workers[id];

	for (size_t k = 0; k < w->nheld; k++) {
		if (w->held[k] == task) {
			memmove(&w->held[k], &w->held[k + 1],
				(w->nheld - k - 1) * sizeof(*w->held));
			w->nheld--;
			w->nslow -= slow != 0;
			s->nheld--;
			update_free(s, id);
			return 1;
		}
	}
	return 0;
}

/* What the worker does after every event: start queued tasks in order,
 * each once its cores and memory are free. */
static void pump(struct sched *s, worker_id_t id)
{
	struct worker *w = &s->workers[id];

	while (w->nheld) {
		task_id_t task = w->held[0];
		uint64_t i;
		struct group *g = find_group(s, task, &i);
		struct detail *d = detail_of(s, g, i);

		if (!fits(w, &g->spec) ||
		    !lives_for(w, g->spec.time_limit))
			break;
		unhold(s, id, task, d->slow);
		d->start_time = now_wall(s);
		w->last_start = now_mono(s);
		w->stalled = 0;
		worker_take(s, id, task, &g->spec, d->slow);
	}
}

/* Worker `id` holds short tasks but has started none for DEEP_STALL: one
 * it runs is not short.  The submissions of what it runs count a run as
 * long as the time since its last start (each has run that long at
 * least), and the worker gets no deeper until it starts one (see
 * Depth). */
static void stall(struct sched *s, worker_id_t id, double now)
{
	struct worker *w = &s->workers[id];

	for (size_t k = 0; k < w->ntasks; k++) {
		uint64_t i;
		struct group *g = find_group(s, w->tasks[k], &i);

		pace_note(&g->pace, now - w->last_start, 0);
	}
	w->stalled = 1;
	update_free(s, id);
}

/* --- ends and dependencies ------------------------------------------------ */

static void task_end(struct sched *s, struct group *g, uint64_t i,
		     enum task_state st, uint8_t flags)
{
	task_id_t id = g->first + i;

	set_state(s, g, i, st, flags);
	if (g->state[i] & ST_DETAIL)
		keep_ended(s, id);
	emit(s, EV_ENDED, -1, id);
	if (s->nkeys) {
		if (s->endq_len > s->endq_head) {
			struct ended *e = &s->endq[s->endq_len - 1];
			if (e->state == st && e->last + 1 == id) {
				e->last = id;
				return;
			}
		}
		s->endq = vec_grow(s->endq, &s->endq_alloc, s->endq_len + 1,
			       sizeof(*s->endq));
		s->endq[s->endq_len++] = (struct ended){ id, id, st };
	}
}

static size_t slot_of(const struct sched *s, task_id_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 17) & (s->nslots - 1);
}

static struct slot *hash_find(struct sched *s, task_id_t key)
{
	if (!s->nslots)
		return NULL;
	for (size_t i = slot_of(s, key);; i = (i + 1) & (s->nslots - 1)) {
		if (s->slots[i].key == key)
			return &s->slots[i];
		if (!s->slots[i].key)
			return NULL;
	}
}

static struct slot *hash_insert(struct sched *s, task_id_t key);

/* Room for `extra` more keys without a rehash; -1 when memory runs out,
 * the table as it was. */
static int hash_reserve(struct sched *s, size_t extra)
{
	size_t want = s->nslots ? s->nslots : 64;
	struct slot *old = s->slots;
	size_t nold = s->nslots;

	if (!extra)
		return 0;
	while ((s->nkeys + extra) * 2 > want) {
		if (want > SIZE_MAX / 2 / sizeof(*s->slots))
			return -1;
		want *= 2;
	}
	if (want == s->nslots)
		return 0;
	s->slots = calloc(want, sizeof(*s->slots));
	if (!s->slots) {
		s->slots = old;
		return -1;
	}
	s->nslots = want;
	s->nkeys = 0;
	for (size_t i = 0; i < nold; i++)
		if (old[i].key)
			hash_insert(s, old[i].key)->head = old[i].head;
	free(old);
	return 0;
}

static struct slot *hash_insert(struct sched *s, task_id_t key)
{
	struct slot *sl = hash_find(s, key);

	if (sl)
		return sl;
	if (hash_reserve(s, 1) < 0)
		abort();
	size_t i = slot_of(s, key);
	while (s->slots[i].key)
		i = (i + 1) & (s->nslots - 1);
	s->slots[i].key = key;
	s->slots[i].head = 0;
	s->nkeys++;
	return &s->slots[i];
}

/* Linear probing: shift later entries of the run back over the hole. */
static void hash_remove(struct sched *s, struct slot *sl)
{
	size_t mask = s->nslots - 1;
	size_t i = (size_t)(sl - s->slots), j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (!s->slots[j].key)
			break;
		size_t home = slot_of(s, s->slots[j].key);
		/* move j to i when home is not cyclically in (i, j] */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			s->slots[i] = s->slots[j];
			i = j;
		}
	}
	s->slots[i].key = 0;
	s->slots[i].head = 0;
	s->nkeys--;
}

static void add_edge(struct sched *s, task_id_t dep, struct group *g, int any)
{
	uint32_t e;

	if (s->free_edge) {
		e = s->free_edge - 1;
		s->free_edge = s->edges[e].next;
	} else {
		s->edges = vec_grow(s->edges, &s->aedges, s->nedges + 1,
				sizeof(*s->edges));
		e = (uint32_t)s->nedges++;
	}
	struct slot *sl = hash_insert(s, dep);
	s->edges[e].g = g;
	s->edges[e].any = any;
	s->edges[e].next = sl->head;
	sl->head = e + 1;
}

/* The waiting elements of `g` are QUEUED; `tell`: they waited for
 * dependencies (a new group with none is not told released). */
static void release_group(struct sched *s, struct group *g, int tell)
{
	int any = 0;

	for (uint64_t i = 0; i < g->n; i++) {
		if (elem_state(g, i) == TASK_WAITING) {
			set_state(s, g, i, TASK_QUEUED, 0);
			any = 1;
		}
	}
	if (any && tell) {
		s->outbox = vec_grow(s->outbox, &s->out_alloc, s->out_len + 1,
				 sizeof(*s->outbox));
		s->outbox[s->out_len++] = (struct event){
			EV_RELEASED, -1, g->first, g->first + g->n - 1 };
	}
	if (any) {
		heap_push(s, g, g->first, g->first + g->n);
		note_queued(s);
	}
}

static void cancel_group_for(struct sched *s, struct group *g, task_id_t dep,
			     enum task_state dep_state)
{
	g->failed_dep = dep;
	g->failed_dep_state = dep_state;
	g->cancel_time = clock_wall();
	for (uint64_t i = 0; i < g->n; i++)
		if (elem_state(g, i) == TASK_WAITING)
			task_end(s, g, i, TASK_CANCELLED, ST_BY_DEPENDENCY);
}

/* Task `id`, which groups wait for (its slot `sl`), ended in `st`. */
static void resolve_one(struct sched *s, struct slot *sl, task_id_t id,
			enum task_state st)
{
	uint32_t head = sl->head;

	hash_remove(s, sl);
	while (head) {
		struct edge *ed = &s->edges[head - 1];
		struct group *g = ed->g;
		uint32_t next = ed->next;
		int any = ed->any;

		ed->next = s->free_edge;
		s->free_edge = head;
		head = next;
		if (g->failed_dep)
			continue;
		if (st == TASK_DONE || any) {
			if (--g->pending == 0)
				release_group(s, g, 1);
		} else {
			cancel_group_for(s, g, id, st);
		}
	}
}

/* Dependents of the tasks that ended, ended ranges in order; stops when
 * nothing waits any more. */
static void resolve(struct sched *s)
{
	while (s->endq_head < s->endq_len && s->nkeys) {
		struct ended e = s->endq[s->endq_head++];

		for (task_id_t id = e.first; s->nkeys; id++) {
			struct slot *sl = hash_find(s, id);
			if (sl)
				resolve_one(s, sl, id, e.state);
			if (id == e.last)
				break;
		}
	}
	s->endq_head = s->endq_len = 0;
}

/* --- create, destroy -------------------------------------------------------- */

struct sched *sched_create(const struct sched_hooks *hooks)
{
	struct sched *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (hooks)
		s->hooks = *hooks;
	s->detail_limit = SCHED_DETAIL_LIMIT;
	strbuf_init(&s->reason, 0);
	return s;
}

void sched_destroy(struct sched *s)
{
	if (!s)
		return;
	for (size_t k = 0; k < s->ngroups; k++)
		group_free(s->groups[k]);
	free(s->groups);
	for (uint32_t i = 0; i < s->ndetails; i++)
		free(detail_at(s, i)->reason);
	for (size_t c = 0; c < s->nchunks; c++)
		free(s->chunks[c]);
	free(s->chunks);
	free(s->kept);
	for (size_t w = 0; w < s->nworkers; w++) {
		free(s->workers[w].name);
		free(s->workers[w].tasks);
		free(s->workers[w].held);
	}
	free(s->workers);
	wset_release(&s->freew);
	wset_release(&s->pfw);
	wset_release(&s->deep);
	free(s->heap);
	free(s->parked);
	free(s->slots);
	free(s->edges);
	free(s->endq);
	free(s->outbox);
	free(s->unclaimed);
	for (size_t k = 0; k < s->nrecorded; k++) {
		free(s->recorded[k].name);
		free(s->recorded[k].ids);
	}
	free(s->recorded);
	strbuf_release(&s->reason);
	free(s);
}

/* --- submit ------------------------------------------------------------------ */

static int cmp_id(const void *a, const void *b)
{
	task_id_t x = *(const task_id_t *)a, y = *(const task_id_t *)b;

	return x < y ? -1 : x > y;
}

static size_t count_strv(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static size_t strv_bytes(char *const *v, size_t n)
{
	size_t b = 0;

	for (size_t i = 0; i < n; i++)
		b += strlen(v[i]) + 1;
	return b;
}

static char *put_str(char **cursor, const char *str)
{
	size_t len = strlen(str) + 1;
	char *p = *cursor;

	memcpy(p, str, len);
	*cursor += len;
	return p;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return path;
	return slash + 1;
}

/*
 * One allocation: the sorted unique dependency ids, the argv and env
 * pointer arrays, then every string.
 */
static int copy_spec(struct group *g, const struct task_spec *in,
		     const task_id_t *deps, unsigned ndeps,
		     const task_id_t *any, unsigned nany)
{
	size_t argc = count_strv(in->argv), envc = count_strv(in->env);
	const char *name = in->name ? in->name : basename_of(in->argv[0]);
	size_t size = (ndeps + nany) * sizeof(task_id_t) +
		(argc + 1) * sizeof(char *) +
		(in->env ? (envc + 1) * sizeof(char *) : 0) +
		strv_bytes(in->argv, argc) + strv_bytes(in->env, envc) +
		strlen(name) + 1 +
		(in->cwd ? strlen(in->cwd) + 1 : 0) +
		(in->stdout_path ? strlen(in->stdout_path) + 1 : 0) +
		(in->stderr_path ? strlen(in->stderr_path) + 1 : 0);
	char *blob = malloc(size);

	if (!blob)
		return -1;
	struct task_spec *out = &g->spec;
	*out = *in;
	char *p = blob;
	task_id_t *after = (task_id_t *)(void *)p;
	if (ndeps)
		memcpy(after, deps, ndeps * sizeof(task_id_t));
	p += ndeps * sizeof(task_id_t);
	out->after = ndeps ? after : NULL;
	out->nafter = ndeps;
	task_id_t *after_any = (task_id_t *)(void *)p;
	if (nany)
		memcpy(after_any, any, nany * sizeof(task_id_t));
	p += nany * sizeof(task_id_t);
	out->after_any = nany ? after_any : NULL;
	out->nafter_any = nany;
	char **argv = (char **)(void *)p;
	p += (argc + 1) * sizeof(char *);
	char **env = NULL;
	if (in->env) {
		env = (char **)(void *)p;
		p += (envc + 1) * sizeof(char *);
	}
	for (size_t i = 0; i < argc; i++)
		argv[i] = put_str(&p, in->argv[i]);
	argv[argc] = NULL;
	out->argv = argv;
	if (env) {
		for (size_t i = 0; i < envc; i++)
			env[i] = put_str(&p, in->env[i]);
		env[envc] = NULL;
	}
	out->env = env;
	out->name = put_str(&p, name);
	out->cwd = in->cwd ? put_str(&p, in->cwd) : NULL;
	out->stdout_path = in->stdout_path ? put_str(&p, in->stdout_path) : NULL;
	out->stderr_path = in->stderr_path ? put_str(&p, in->stderr_path) : NULL;
	if (!out->max_worker_losses)
		out->max_worker_losses = DEFAULT_MAX_WORKER_LOSSES;
	if (!out->is_array)
		out->array_first = out->array_last = 0;
	g->blob = blob;
	return 0;
}

static int validate(const struct task_spec *spec, task_id_t limit,
		    uint64_t *n, struct err *err)
{
	if (!spec->argv || !spec->argv[0] || !spec->argv[0][0])
		return errprintf(err, "empty command");
	if (spec->cores == 0)
		return errprintf(err, "a task needs at least 1 core");
	if (spec->env)
		for (size_t i = 0; spec->env[i]; i++)
			if (!strchr(spec->env[i], '=') || spec->env[i][0] == '=')
				return errprintf(err, "environment entry '%s' "
						 "is not NAME=value",
						 spec->env[i]);
	*n = 1;
	if (spec->is_array) {
		if (spec->array_first > spec->array_last)
			return errprintf(err, "empty array range %" PRId64
					 "-%" PRId64, spec->array_first,
					 spec->array_last);
		*n = (uint64_t)spec->array_last - (uint64_t)spec->array_first
			+ 1;
		if (*n == 0 || *n > UINT32_MAX)
			return errprintf(err, "array range %" PRId64 "-%" PRId64
					 " is too large (at most %" PRIu32
					 " tasks)", spec->array_first,
					 spec->array_last, UINT32_MAX);
	}
	if ((spec->nafter && !spec->after) ||
	    (spec->nafter_any && !spec->after_any))
		return errprintf(err, "dependency list is missing");
	for (unsigned k = 0; k < spec->nafter; k++)
		if (spec->after[k] == 0 || spec->after[k] > limit)
			return errprintf(err, "dependency %" PRIu64
					 " is not an earlier task",
					 spec->after[k]);
	for (unsigned k = 0; k < spec->nafter_any; k++)
		if (spec->after_any[k] == 0 || spec->after_any[k] > limit)
			return errprintf(err, "dependency %" PRIu64
					 " is not an earlier task",
					 spec->after_any[k]);
	return 0;
}

static void group_free(struct group *g)
{
	if (!g)
		return;
	if (g->n > 1) {
		free(g->state);
		free(g->detail);
	}
	free(g->blob);
	free(g->cancels);
	free(g->args);
	free(g->arg_off);
	free(g);
}

/* Copy the per-task last arguments into one block with offsets. */
static int copy_args(struct group *g, const char *const *args, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += strlen(args[i]) + 1;
	g->args = malloc(total ? total : 1);
	g->arg_off = malloc((n + 1) * sizeof(*g->arg_off));
	if (!g->args || !g->arg_off)
		return -1;
	uint64_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(args[i]) + 1;
		memcpy(g->args + off, args[i], len);
		g->arg_off[i] = off;
		off += len;
	}
	g->arg_off[n] = off;
	return 0;
}

/* Copy every task's argv into one block: words NUL-separated, offsets. */
static int copy_argvs(struct group *g, char *const *const *argvs, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += strv_bytes(argvs[i], count_strv(argvs[i]));
	g->args = malloc(total ? total : 1);
	g->arg_off = malloc((n + 1) * sizeof(*g->arg_off));
	if (!g->args || !g->arg_off)
		return -1;
	char *p = g->args;
	for (size_t i = 0; i < n; i++) {
		g->arg_off[i] = (uint64_t)(p - g->args);
		for (size_t k = 0; argvs[i][k]; k++)
			put_str(&p, argvs[i][k]);
	}
	g->arg_off[n] = (uint64_t)(p - g->args);
	g->own_argv = 1;
	return 0;
}

/* Validate and copy a spec whose dependencies may go up to `limit`; no
 * change to the table.  With `args`, the group is nargs tasks, each with
 * one more argument; with `argvs`, nargs tasks, each with its own argv. */
static struct group *prepare(const struct task_spec *spec, task_id_t limit,
			     const char *const *args,
			     char *const *const *argvs, size_t nargs,
			     struct err *err)
{
	struct group *g = NULL;
	task_id_t *deps = NULL, *any = NULL;
	struct task_spec plain;
	unsigned ndeps = 0, nany = 0;
	uint64_t n = 0;

	if (args || argvs) {
		plain = *spec;
		plain.is_array = 0;
		if (argvs && nargs)
			plain.argv = argvs[0];
		spec = &plain;
	}
	for (size_t k = 0; argvs && k < nargs; k++)
		if (!argvs[k] || !argvs[k][0] || !argvs[k][0][0]) {
			errprintf(err, "task %zu of %zu: empty command", k + 1,
				  nargs);
			return NULL;
		}
	if (validate(spec, limit, &n, err) < 0)
		return NULL;
	if (args || argvs) {
		if (nargs == 0 || nargs > UINT32_MAX) {
			errprintf(err, "%zu tasks in one submission (1 to %"
				  PRIu32 ")", nargs, UINT32_MAX);
			return NULL;
		}
		n = nargs;
	}
	if (spec->nafter) {
		deps = malloc(spec->nafter * sizeof(*deps));
		if (!deps)
			goto nomem;
		memcpy(deps, spec->after, spec->nafter * sizeof(*deps));
		qsort(deps, spec->nafter, sizeof(*deps), cmp_id);
		for (unsigned k = 0; k < spec->nafter; k++)
			if (!ndeps || deps[ndeps - 1] != deps[k])
				deps[ndeps++] = deps[k];
	}
	/* An id in both lists must end DONE: it stays in `after` only. */
	if (spec->nafter_any) {
		any = malloc(spec->nafter_any * sizeof(*any));
		if (!any)
			goto nomem;
		memcpy(any, spec->after_any, spec->nafter_any * sizeof(*any));
		qsort(any, spec->nafter_any, sizeof(*any), cmp_id);
		for (unsigned k = 0; k < spec->nafter_any; k++)
			if ((!nany || any[nany - 1] != any[k]) &&
			    !(ndeps && bsearch(&any[k], deps, ndeps,
					       sizeof(*deps), cmp_id)))
				any[nany++] = any[k];
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		goto nomem;
	g->n = n;
	if (n == 1) {
		g->state = &g->state1;
		g->detail = &g->detail1;
	} else {
		g->state = malloc(n);
		g->detail = calloc(n, sizeof(*g->detail));
		if (!g->state || !g->detail)
			goto nomem;
	}
	if (copy_spec(g, spec, deps, ndeps, any, nany) < 0)
		goto nomem;
	if (args && copy_args(g, args, nargs) < 0)
		goto nomem;
	if (argvs && copy_argvs(g, argvs, nargs) < 0)
		goto nomem;
	free(deps);
	free(any);
	return g;

nomem:
	free(deps);
	free(any);
	group_free(g);
	errprintf(err, "cannot allocate %" PRIu64 " task%s", n,
		  n == 1 ? "" : "s");
	return NULL;
}

/* Room for committing `n` prepared groups: commit then allocates
 * nothing.  -1 when memory runs out, the table as it was. */
static int reserve_commit(struct sched *s, struct group *const *gs, size_t n)
{
	size_t ndeps = 0;

	for (size_t k = 0; k < n; k++)
		ndeps += gs[k]->spec.nafter + gs[k]->spec.nafter_any;
	if (TRY_GROW(s->groups, s->agroups, s->ngroups + n) < 0 ||
	    TRY_GROW(s->heap, s->aheap, s->nheap + n) < 0 ||
	    TRY_GROW(s->edges, s->aedges, s->nedges + ndeps) < 0 ||
	    hash_reserve(s, ndeps) < 0 ||
	    /* per group an end (of all its elements) or nothing; one
	       EV_QUEUED */
	    TRY_GROW(s->outbox, s->out_alloc, s->out_len + n + 1) < 0 ||
	    TRY_GROW(s->endq, s->endq_alloc, s->endq_len + n) < 0)
		return -1;
	return 0;
}

/* Give a prepared group its ids and its first state; reserve_commit has
 * made room. */
static void commit(struct sched *s, struct group *g)
{
	uint64_t n = g->n;

	g->first = s->last_id + 1;
	g->submit_time = clock_wall();
	s->last_id += n;
	s->groups[s->ngroups++] = g;
	s->submitted += n;
	memset(g->state, TASK_WAITING, n);
	g->count[TASK_WAITING] = n;
	s->count[TASK_WAITING] += n;

	task_id_t failed_dep = 0;
	enum task_state failed_state = TASK_FAILED;
	for (unsigned k = 0; k < g->spec.nafter; k++) {
		uint64_t di;
		struct group *dg = find_group(s, g->spec.after[k], &di);
		enum task_state ds = elem_state(dg, di);

		if (ds == TASK_DONE)
			continue;
		if (ds == TASK_FAILED || ds == TASK_CANCELLED) {
			failed_dep = g->spec.after[k];
			failed_state = ds;
			break;
		}
		g->pending++;
	}
	for (unsigned k = 0; !failed_dep && k < g->spec.nafter_any; k++) {
		uint64_t di;
		struct group *dg = find_group(s, g->spec.after_any[k], &di);

		if (!state_ended(elem_state(dg, di)))
			g->pending++;
	}
	if (failed_dep) {
		g->pending = 0;
		cancel_group_for(s, g, failed_dep, failed_state);
	} else if (g->pending) {
		for (unsigned k = 0; k < g->spec.nafter; k++) {
			uint64_t di;
			struct group *dg = find_group(s, g->spec.after[k], &di);
			if (elem_state(dg, di) != TASK_DONE)
				add_edge(s, g->spec.after[k], g, 0);
		}
		for (unsigned k = 0; k < g->spec.nafter_any; k++) {
			uint64_t di;
			struct group *dg = find_group(s, g->spec.after_any[k], &di);
			if (!state_ended(elem_state(dg, di)))
				add_edge(s, g->spec.after_any[k], g, 1);
		}
	} else {
		release_group(s, g, 0);
	}
}

int sched_submit(struct sched *s, const struct task_spec *spec,
		 task_id_t *first, uint64_t *count, struct err *err)
{
	forget_hot(s);

	return sched_submit_many(s, spec, 1, first, count, err);
}

/* sched_submit_each (args) and sched_submit_argvs (argvs). */
static int submit_group(struct sched *s, const struct task_spec *spec,
			const char *const *args, char *const *const *argvs,
			size_t n, task_id_t *first, uint64_t *count,
			struct err *err)
{
	struct group *g;

	if (!n) {
		if (first)
			*first = 0;
		if (count)
			*count = 0;
		return 0;
	}
	g = prepare(spec, s->last_id, args, argvs, n, err);
	if (!g)
		return -1;
	if (reserve_commit(s, &g, 1) < 0) {
		group_free(g);
		return errprintf(err, "cannot allocate %zu task%s", n,
				 n == 1 ? "" : "s");
	}
	enter(s);
	commit(s, g);
	if (first)
		*first = g->first;
	if (count)
		*count = g->n;
	leave(s);
	return 0;
}

int sched_submit_each(struct sched *s, const struct task_spec *spec,
		      const char *const *args, size_t n, task_id_t *first,
		      uint64_t *count, struct err *err)
{
	forget_hot(s);

	if (!args && n)
		return errprintf(err, "argument list is missing");
	return submit_group(s, spec, args, NULL, n, first, count, err);
}

int sched_submit_argvs(struct sched *s, const struct task_spec *spec,
		       char *const *const *argvs, size_t n, task_id_t *first,
		       uint64_t *count, struct err *err)
{
	forget_hot(s);

	if (!argvs && n)
		return errprintf(err, "argument list is missing");
	return submit_group(s, spec, NULL, argvs, n, first, count, err);
}

int sched_submit_many(struct sched *s, const struct task_spec *specs,
		      size_t nspecs, task_id_t *first, uint64_t *count,
		      struct err *err)
{
	struct group **gs;
	task_id_t limit = s->last_id;
	uint64_t total = 0;

	if (!nspecs) {
		if (first)
			*first = 0;
		if (count)
			*count = 0;
		return 0;
	}
	gs = calloc(nspecs, sizeof(*gs));
	if (!gs)
		return errprintf(err, "cannot allocate %zu tasks", nspecs);
	for (size_t k = 0; k < nspecs; k++) {
		gs[k] = prepare(&specs[k], limit, NULL, NULL, 0, err);
		if (!gs[k] || UINT64_MAX - limit < gs[k]->n) {
			if (gs[k])
				errprintf(err, "too many tasks");
			if (nspecs > 1)
				errprefix(err, "task %zu of %zu", k + 1,
					  nspecs);
			for (size_t j = 0; j <= k; j++)
				group_free(gs[j]);
			free(gs);
			return -1;
		}
		limit += gs[k]->n;
		total += gs[k]->n;
	}
	if (reserve_commit(s, gs, nspecs) < 0) {
		for (size_t k = 0; k < nspecs; k++)
			group_free(gs[k]);
		free(gs);
		return errprintf(err, "cannot allocate %" PRIu64 " task%s",
				 total, total == 1 ? "" : "s");
	}

	enter(s);
	for (size_t k = 0; k < nspecs; k++)
		commit(s, gs[k]);
	if (first)
		*first = gs[0]->first;
	if (count)
		*count = total;
	free(gs);
	leave(s);
	return 0;
}

/* --- cancel, finish, dispatch --------------------------------------------- */

/* Waiting or queued, and never started: a cancel records it in a cancel
 * run, not in a detail record. */
static int never_started(const struct group *g, uint64_t i)
{
	enum task_state st = elem_state(g, i);

	return (st == TASK_WAITING || st == TASK_QUEUED) &&
		!(g->state[i] & ST_SLOT);
}

static int cancellable(enum task_state st)
{
	return st == TASK_WAITING || st == TASK_QUEUED || st == TASK_RUNNING;
}

/* Elements lo..hi of group k that ids first..last cover. */
static int group_span(struct sched *s, size_t k, task_id_t first,
		      task_id_t last, uint64_t *lo, uint64_t *hi)
{
	struct group *g;

	if (k >= s->ngroups || s->groups[k]->first > last)
		return 0;
	g = s->groups[k];
	*lo = first > g->first ? first - g->first : 0;
	*hi = last - g->first < g->n - 1 ? last - g->first : g->n - 1;
	return 1;
}

/* Make room for cancelling first..last, changing nothing: cancel runs,
 * the outbox, the end queue, the task lists of the workers whose queued
 * tasks may start when a cancelled one leaves. */
static int reserve_cancel(struct sched *s, task_id_t first, task_id_t last)
{
	size_t events = 1;
	uint64_t lo, hi;

	for (size_t k = find_group_index(s, first);
	     group_span(s, k, first, last, &lo, &hi); k++) {
		struct group *g = s->groups[k];
		size_t runs = 0;
		int in_run = 0;

		for (uint64_t i = lo; i <= hi; i++) {
			enum task_state st = elem_state(g, i);

			if (never_started(g, i)) {
				runs += !in_run;
				in_run = 1;
				continue;
			}
			in_run = 0;
			if (st == TASK_RUNNING &&
			    detail_of(s, g, i)->worker >= 0) {
				struct worker *w =
					&s->workers[detail_of(s, g, i)->worker];
				if (TRY_GROW(w->tasks, w->atasks,
					     w->ntasks + w->nheld) < 0)
					return -1;
				events += 2;
			} else if (cancellable(st)) {
				events++;
			}
		}
		if (runs && TRY_GROW(g->cancels, g->acancels,
				     g->ncancels + runs) < 0)
			return -1;
		events += runs;
	}
	if (TRY_GROW(s->outbox, s->out_alloc, s->out_len + events) < 0 ||
	    (s->nkeys && TRY_GROW(s->endq, s->endq_alloc,
				  s->endq_len + events) < 0))
		return -1;
	return 0;
}

/* Cancel an element that has a detail record (it ran, or runs now). */
static void cancel_started(struct sched *s, struct group *g, uint64_t i,
			   double now)
{
	struct detail *d = detail_of(s, g, i);
	task_id_t id = g->first + i;

	if (elem_state(g, i) == TASK_RUNNING && d->worker < 0) {
		s->nunclaimed--;	/* restored, not claimed: no worker */
	} else if (elem_state(g, i) == TASK_RUNNING) {
		/* Until its worker reports the run, it shows what the kill
		 * makes of it: SIGTERM after the time it has run, if it had
		 * started; a held one never ran. */
		int held = unhold(s, d->worker, id, d->slow);
		if (!held)
			worker_release(s, d->worker, id, &g->spec, d->slow);
		d->exit_code = 0;
		d->signal = held ? 0 : SIGTERM;
		d->runtime = !held && now > d->start_time ?
			now - d->start_time : 0;
		d->peak_memory = 0;
		d->killed = !held;
		emit(s, EV_KILL, d->worker, id);
		pump(s, d->worker);
	}
	clear_reason(d);
	d->end_time = now;
	task_end(s, g, i, TASK_CANCELLED, 0);
}

/* sched_cancel and sched_cancel_range: the number of tasks cancelled. */
static int64_t cancel_ids(struct sched *s, task_id_t first, task_id_t last,
			  struct err *err)
{
	double now = clock_wall();
	int64_t n = 0;
	uint64_t lo, hi;

	if (first == 0 || first > s->last_id)
		return errprintf(err, "unknown task %" PRIu64, first);
	if (last < first)
		return errprintf(err, "empty task range %" PRIu64 "-%" PRIu64,
				 first, last);
	if (last > s->last_id)
		return errprintf(err, "unknown task %" PRIu64, s->last_id + 1);
	if (reserve_cancel(s, first, last) < 0) {
		if (first == last)
			return errprintf(err, "cannot cancel task %" PRIu64
					 ": out of memory", first);
		return errprintf(err, "cannot cancel tasks %" PRIu64 "-%"
				 PRIu64 ": out of memory", first, last);
	}
	enter(s);
	for (size_t k = find_group_index(s, first);
	     group_span(s, k, first, last, &lo, &hi); k++) {
		struct group *g = s->groups[k];
		uint64_t run_lo = 0;
		int in_run = 0;

		for (uint64_t i = lo; i <= hi; i++) {
			if (never_started(g, i)) {
				if (!in_run)
					run_lo = i;
				in_run = 1;
				task_end(s, g, i, TASK_CANCELLED, 0);
				n++;
				continue;
			}
			if (in_run)
				cancel_run_add(g, run_lo, i - 1, now);
			in_run = 0;
			if (cancellable(elem_state(g, i))) {
				cancel_started(s, g, i, now);
				n++;
			}
		}
		if (in_run)
			cancel_run_add(g, run_lo, hi, now);
	}
	leave(s);
	return n;
}

int sched_cancel(struct sched *s, task_id_t id, struct err *err)
{
	forget_hot(s);

	return cancel_ids(s, id, id, err) < 0 ? -1 : 0;
}

int64_t sched_cancel_range(struct sched *s, task_id_t first, task_id_t last,
			   struct err *err)
{
	forget_hot(s);

	return cancel_ids(s, first, last, err);
}

void sched_set_detail_limit(struct sched *s, size_t n)
{
	forget_hot(s);

	s->detail_limit = n;
	while (s->kept_len > n)
		compact(s, kept_pop(s));
}

void sched_task_finished(struct sched *s, task_id_t id, worker_id_t w,
			 const struct task_result *res)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);

	if (!g)
		return;
	struct detail *d = detail_of(s, g, i);
	if (elem_state(g, i) == TASK_CANCELLED && d && d->killed &&
	    d->worker == w) {
		/* The run of a task cancelled while it ran: how it really
		 * ended.  Nothing else changes; its worker let it go. */
		d->killed = 0;
		d->exit_code = res->exit_code;
		d->signal = (int16_t)res->signal;
		d->runtime = res->runtime;
		d->peak_memory = res->peak_memory;
		return;
	}
	if (elem_state(g, i) != TASK_RUNNING || !d || d->worker != w)
		return;
	enter(s);
	struct worker *wk = &s->workers[w];
	pace_note(&g->pace, res->runtime, !res->reason);
	d->end_time = now_wall(s);
	if (unhold(s, w, id, d->slow))	/* started where we did not expect */
		d->start_time = d->end_time - res->runtime;
	else
		worker_release(s, w, id, &g->spec, d->slow);
	pump(s, w);
	wk->done++;
	d->exit_code = res->exit_code;
	d->signal = (int16_t)res->signal;
	d->runtime = res->runtime;
	d->peak_memory = res->peak_memory;
	if (res->signal == 0 && res->exit_code == 0 && !res->reason) {
		clear_reason(d);
		task_end(s, g, i, TASK_DONE, 0);
	} else {
		d->failures++;
		if (res->reason)
			set_reason(d, "%s", res->reason);
		else if (res->signal)
			set_reason(d, "killed by signal %d", res->signal);
		else
			set_reason(d, "exit code %d", res->exit_code);
		if (d->failures <= g->spec.retries) {
			s->retried++;
			requeue(s, g, i);
		} else {
			task_end(s, g, i, TASK_FAILED, 0);
		}
	}
	leave(s);
}

static void place(struct sched *s, struct group *g, uint64_t i, worker_id_t w)
{
	struct detail *d = detail_get(s, g, i);
	task_id_t id = g->first + i;

	struct worker *wk = &s->workers[w];

	d->attempts++;
	d->worker = w;
	d->start_time = 0;
	d->end_time = 0;
	set_state(s, g, i, TASK_RUNNING, 0);
	wk->held = vec_grow(wk->held, &wk->aheld, wk->nheld + 1,
			sizeof(*wk->held));
	wk->held[wk->nheld++] = id;
	s->nheld++;
	d->slow = pace_depth(&g->pace, s->prefetch) <= s->prefetch;
	wk->nslow += d->slow;
	update_free(s, w);
	emit(s, EV_ASSIGN, w, id);
	pump(s, w);
}

void sched_dispatch(struct sched *s)
{
	struct range blocked[DISPATCH_MAX_BLOCKED];
	size_t nblocked = 0;

	if ((!s->freew.n && !s->pfw.n && !s->deep.n) || !s->nheap)
		return;
	enter(s);
	while (s->nheap && (s->freew.n || s->pfw.n || s->deep.n)) {
		struct range *r = &s->heap[0];
		struct group *g = r->g;

		while (r->next < r->end &&
		       elem_state(g, r->next - g->first) != TASK_QUEUED)
			r->next++;
		if (r->next == r->end) {
			heap_pop(s);
			continue;
		}
		const struct task_spec *sp = &g->spec;
		worker_id_t w = find_fit(s, sp);
		if (w < 0)
			w = find_prefetch(s, sp);
		unsigned depth = pace_depth(&g->pace, s->prefetch);
		if (w < 0 && depth > s->prefetch)
			w = find_deep(s, sp, depth);
		/* (with only deep queues open, a range that none takes is
		   set aside, not looked for on every worker) */
		if (w < 0 && (s->freew.n || s->pfw.n) &&
		    !fits_anywhere(s, sp)) {
			/* until the pool grows: costs nothing meanwhile */
			s->parked = vec_grow(s->parked, &s->aparked,
					 s->nparked + 1, sizeof(*s->parked));
			s->parked[s->nparked++] = heap_pop(s);
			continue;
		}
		if (w < 0) {
			/* every element of the range asks the same: set it
			   aside and backfill with later ranges */
			blocked[nblocked++] = heap_pop(s);
			if (nblocked == DISPATCH_MAX_BLOCKED)
				break;
			continue;
		}
		place(s, g, r->next - g->first, w);
		r->next++;
		if (r->next == r->end)
			heap_pop(s);
		else
			heap_sift_down(s, 0);
	}
	for (size_t k = 0; k < nblocked; k++)
		heap_push(s, blocked[k].g, blocked[k].next, blocked[k].end);
	leave(s);
}

/* --- queries ------------------------------------------------------------------ */

/* Why a queued task is not placed, when no live worker is big enough. */
static const char *unplaceable(struct sched *s, const struct task_spec *spec)
{
	unsigned max_cores = 0;
	int gpus_ok = spec->gpus == 0;
	int mem_ok = spec->memory == 0;

	for (size_t k = 0; k < s->nworkers; k++) {
		const struct worker *w = &s->workers[k];
		if (!w->alive || w->draining)
			continue;
		if (w->cores > max_cores)
			max_cores = w->cores;
		if (w->cores >= spec->cores && w->gpus >= spec->gpus) {
			gpus_ok = 1;
			if (!w->memory || w->memory >= spec->memory)
				mem_ok = 1;
		}
	}
	strbuf_reset(&s->reason);
	if (max_cores < spec->cores) {
		strbuf_addf(&s->reason, "waiting for a worker with %u core%s",
			    spec->cores, spec->cores == 1 ? "" : "s");
		return s->reason.buf;
	}
	if (!gpus_ok) {
		strbuf_addf(&s->reason, "waiting for a worker with %u core%s "
			    "and %u GPU%s", spec->cores,
			    spec->cores == 1 ? "" : "s", spec->gpus,
			    spec->gpus == 1 ? "" : "s");
		return s->reason.buf;
	}
	if (!mem_ok) {
		strbuf_addf(&s->reason, "waiting for a worker with %u core%s "
			    "and ", spec->cores, spec->cores == 1 ? "" : "s");
		size_format(&s->reason, spec->memory);
		strbuf_addstr(&s->reason, " of memory");
		return s->reason.buf;
	}
	return NULL;
}

/* What a waiting task waits for: the dependencies that have not ended
 * (or, for `after`, not ended DONE yet), the first few by id. */
#define WAITING_SHOWN 3
static const char *waiting_for(struct sched *s, const struct group *g)
{
	const struct task_spec *sp = &g->spec;
	unsigned shown = 0, more = 0;

	strbuf_reset(&s->reason);
	for (int any = 0; any < 2; any++) {
		const task_id_t *ids = any ? sp->after_any : sp->after;
		unsigned n = any ? sp->nafter_any : sp->nafter;
		for (unsigned k = 0; k < n; k++) {
			uint64_t di;
			struct group *dg = find_group(s, ids[k], &di);
			if (!dg || state_ended(elem_state(dg, di)))
				continue;
			if (shown++ == WAITING_SHOWN) {
				shown--;
				more++;
				continue;
			}
			strbuf_addf(&s->reason, "%s%" PRIu64,
				    shown > 1 ? ", " : "", ids[k]);
		}
	}
	if (!shown)
		return NULL;
	if (more)
		strbuf_addf(&s->reason, " and %u more", more);
	/* "waiting for task 8", "waiting for tasks 8, 9" */
	char *list = strbuf_detach(&s->reason, NULL);
	strbuf_addf(&s->reason, "waiting for task%s %s",
		    shown + more > 1 ? "s" : "", list);
	free(list);
	return s->reason.buf;
}

/* What a compact result `c` (see compact_pack) still says. */
static void compact_info(struct sched *s, const struct group *g, uint32_t c,
			 struct task_info *out)
{
	enum compact_reason kind = (enum compact_reason)(c >> 9 & 7);

	out->attempts = c >> 12 & 15;
	out->runtime = runtime_unpack(c >> 16);
	if (c & 0x100)
		out->signal = (int)(c & 0xff);
	else
		out->exit_code = (int)(c & 0xff);
	if (out->state == TASK_DONE)
		return;
	if (kind == CR_LOST) {
		strbuf_reset(&s->reason);
		strbuf_addf(&s->reason, "lost %u worker%s",
			    g->spec.max_worker_losses,
			    g->spec.max_worker_losses == 1 ? "" : "s");
		out->reason = s->reason.buf;
	} else if (kind != CR_EXIT) {
		out->reason = compact_text[kind];
	} else if (out->state == TASK_CANCELLED) {
		out->reason = "cancelled";
	} else {
		strbuf_reset(&s->reason);
		if (out->signal)
			strbuf_addf(&s->reason, "killed by signal %d",
				    out->signal);
		else
			strbuf_addf(&s->reason, "exit code %d",
				    out->exit_code);
		out->reason = s->reason.buf;
	}
}

int sched_task(struct sched *s, task_id_t id, struct task_info *out)
{
	uint64_t i;

	if (s->hot_ok && id == s->hot_id) {
		*out = s->hot;
		return 0;
	}
	struct group *g = find_group(s, id, &i);

	if (!g)
		return -1;
	const struct detail *d = detail_of(s, g, i);
	enum task_state st = elem_state(g, i);

	memset(out, 0, sizeof(*out));
	out->id = id;
	out->state = st;
	out->spec = &g->spec;
	out->has_index = g->spec.is_array;
	out->array_index = g->spec.is_array ?
		(int64_t)((uint64_t)g->spec.array_first + i) : 0;
	out->worker = -1;
	out->submit_time = g->submit_time;
	if (d) {
		out->attempts = d->attempts;
		out->failures = d->failures;
		out->worker_losses = d->worker_losses;
		out->worker = d->worker;
		out->start_time = d->start_time;
		out->end_time = d->end_time;
		out->exit_code = d->exit_code;
		out->signal = d->signal;
		out->runtime = d->runtime;
		out->peak_memory = d->peak_memory;
	}
	if (g->state[i] & ST_COMPACT) {
		compact_info(s, g, g->detail[i], out);
		return 0;
	}
	switch (st) {
	case TASK_CANCELLED:
		if (g->state[i] & ST_BY_DEPENDENCY) {
			strbuf_reset(&s->reason);
			strbuf_addf(&s->reason, "dependency %" PRIu64 " %s",
				    g->failed_dep,
				    task_state_name(g->failed_dep_state));
			out->reason = s->reason.buf;
			if (!out->end_time)
				out->end_time = g->cancel_time;
		} else {
			const struct cancel_run *r = d ? NULL :
				cancel_run_of(g, i);
			out->reason = d && d->reason ? d->reason : "cancelled";
			if (r)
				out->end_time = r->time;
		}
		break;
	case TASK_FAILED:
		out->reason = d ? d->reason : NULL;
		break;
	case TASK_WAITING:
		out->reason = waiting_for(s, g);
		break;
	case TASK_QUEUED:
		out->reason = unplaceable(s, &g->spec);
		if (!out->reason && d)
			out->reason = d->reason;
		break;
	default:
		break;
	}
	/* kept only where the reason outlives the next sched_task */
	if (id == s->hot_id &&
	    (!out->reason || (d && out->reason == d->reason))) {
		s->hot = *out;
		s->hot_ok = 1;
	}
	return 0;
}

/* Element i's words from a sched_submit_argvs group. */
static char **own_argv(const struct group *g, uint64_t i)
{
	const char *p = g->args + g->arg_off[i];
	const char *end = g->args + g->arg_off[i + 1];
	size_t argc = 0;

	for (const char *q = p; q < end; q += strlen(q) + 1)
		argc++;
	char **argv = calloc(argc + 1, sizeof(*argv));
	if (!argv)
		return NULL;
	for (size_t k = 0; k < argc; k++, p += strlen(p) + 1) {
		argv[k] = strdup(p);
		if (!argv[k]) {
			while (k)
				free(argv[--k]);
			free(argv);
			return NULL;
		}
	}
	return argv;
}

char **sched_task_argv(struct sched *s, task_id_t id)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);

	if (!g)
		return NULL;
	if (g->own_argv)
		return own_argv(g, i);
	size_t argc = count_strv(g->spec.argv);
	char **argv = calloc(argc + 2, sizeof(*argv));
	char index[24];

	if (!argv)
		return NULL;
	snprintf(index, sizeof(index), "%" PRId64,
		 (int64_t)((uint64_t)g->spec.array_first + i));
	for (size_t k = 0; k < argc; k++) {
		if (g->spec.is_array && strstr(g->spec.argv[k], "{}")) {
			struct strbuf sb = STRBUF_INIT;
			task_substitute_index(&sb, g->spec.argv[k], index);
			argv[k] = strbuf_detach(&sb, NULL);
		} else {
			argv[k] = strdup(g->spec.argv[k]);
		}
		if (!argv[k])
			goto fail;
	}
	if (g->arg_off) {
		argv[argc] = strdup(g->args + g->arg_off[i]);
		if (!argv[argc])
			goto fail;
	}
	return argv;

fail:
	for (size_t k = 0; argv[k]; k++)
		free(argv[k]);
	free(argv);
	return NULL;
}

/* Room for n words and the NULL after them. */
static void view_grow(struct sched_argv *v, size_t n)
{
	if (n + 1 <= v->alloc)
		return;
	v->alloc = n + 1 > 2 * v->alloc ? n + 1 : 2 * v->alloc;
	v->argv = xreallocarray(v->argv, v->alloc, sizeof(*v->argv));
	v->off = xreallocarray(v->off, v->alloc, sizeof(*v->off));
}

int sched_task_argv_view(struct sched *s, task_id_t id, struct sched_argv *v)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);
	size_t argc = 0, k;
	char index[24] = "";

	if (!g)
		return -1;
	if (!v->buf.buf)		/* zeroed: a first use */
		strbuf_init(&v->buf, 0);
	strbuf_reset(&v->buf);
	if (g->own_argv) {
		const char *p = g->args + g->arg_off[i];
		const char *end = g->args + g->arg_off[i + 1];
		for (const char *q = p; q < end; q += strlen(q) + 1)
			argc++;
		view_grow(v, argc);
		for (k = 0; k < argc; k++, p += strlen(p) + 1)
			v->argv[k] = p;
		v->argv[argc] = NULL;
		return 0;
	}
	argc = count_strv(g->spec.argv);
	view_grow(v, argc + 1);
	for (k = 0; k < argc; k++) {
		const char *w = g->spec.argv[k];
		if (g->spec.is_array && strstr(w, "{}")) {
			if (!index[0])
				*decimal_i64(index, (int64_t)((uint64_t)
					g->spec.array_first + i)) = '\0';
			v->off[k] = v->buf.len;
			task_substitute_index(&v->buf, w, index);
			strbuf_addch(&v->buf, '\0');
			v->argv[k] = NULL;	/* in buf, once it stops moving */
		} else {
			v->argv[k] = w;
		}
	}
	if (g->arg_off)
		v->argv[argc++] = g->args + g->arg_off[i];
	v->argv[argc] = NULL;
	for (k = 0; k < argc; k++)
		if (!v->argv[k])
			v->argv[k] = v->buf.buf + v->off[k];
	return 0;
}

void sched_argv_release(struct sched_argv *v)
{
	free(v->argv);
	free(v->off);
	if (v->buf.buf)
		strbuf_release(&v->buf);
	memset(v, 0, sizeof(*v));
}

task_id_t sched_next(struct sched *s, task_id_t after, unsigned states)
{
	uint64_t total = 0;
	uint8_t want[8] = { 0 };

	for (int st = 0; st < TASK_NSTATES; st++) {
		if (states & (1u << st)) {
			total += s->count[st];
			want[st] = 1;
		}
	}
	if (!total || after >= s->last_id)
		return 0;
	task_id_t id = after + 1;
	for (size_t k = find_group_index(s, id); k < s->ngroups; k++) {
		struct group *g = s->groups[k];
		uint64_t here = 0;

		for (int st = 0; st < TASK_NSTATES; st++)
			if (want[st])
				here += g->count[st];
		if (!here)
			continue;
		uint64_t i = id > g->first ? id - g->first : 0;
		for (; i < g->n; i++)
			if (want[g->state[i] & ST_MASK])
				return g->first + i;
	}
	return 0;
}

void sched_counts(struct sched *s, struct sched_counts *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->state, s->count, sizeof(out->state));
	out->submitted = s->submitted;
	out->retried = s->retried;
	out->lost = s->lost;
	out->prefetched = s->nheld;
}

void sched_set_prefetch(struct sched *s, unsigned n)
{
	forget_hot(s);

	s->prefetch = n;
	for (size_t k = 0; k < s->nworkers; k++)
		update_free(s, (worker_id_t)k);
}

task_id_t sched_last_id(struct sched *s)
{
	return s->last_id;
}

int sched_idle(struct sched *s)
{
	return !s->count[TASK_WAITING] && !s->count[TASK_QUEUED] &&
		!s->count[TASK_RUNNING];
}

/* --- workers ----------------------------------------------------------------- */

worker_id_t sched_worker_add(struct sched *s, const char *name,
			     unsigned cores, uint64_t memory)
{
	forget_hot(s);

	if (s->nworkers >= INT32_MAX)
		return -1;
	char *copy = strdup(name ? name : "");
	if (!copy)
		return -1;
	s->workers = vec_grow(s->workers, &s->aworkers, s->nworkers + 1,
			  sizeof(*s->workers));
	wset_resize(&s->freew, s->nworkers + 1);
	wset_resize(&s->pfw, s->nworkers + 1);
	wset_resize(&s->deep, s->nworkers + 1);
	worker_id_t id = (worker_id_t)s->nworkers++;
	struct worker *w = &s->workers[id];
	memset(w, 0, sizeof(*w));
	w->name = copy;
	w->cores = cores;
	w->memory = memory;
	w->alive = 1;
	w->last_start = clock_monotonic();
	update_free(s, id);
	/* parked ranges may fit now; dispatch parks them again if not */
	for (size_t k = 0; k < s->nparked; k++)
		heap_push(s, s->parked[k].g, s->parked[k].next,
			  s->parked[k].end);
	s->nparked = 0;
	return id;
}

void sched_worker_lost(struct sched *s, worker_id_t id)
{
	struct worker *w = get_worker(s, id);

	if (!w || !w->alive)
		return;
	enter(s);
	w->alive = 0;
	update_free(s, id);
	double t = clock_wall();
	while (w->ntasks) {
		task_id_t task = w->tasks[--w->ntasks];
		uint64_t i;
		struct group *g = find_group(s, task, &i);
		struct detail *d = detail_of(s, g, i);

		s->lost++;
		d->worker_losses++;
		d->end_time = t;
		if (d->worker_losses >= g->spec.max_worker_losses) {
			set_reason(d, "lost %" PRIu32 " worker%s",
				   d->worker_losses,
				   d->worker_losses == 1 ? "" : "s");
			task_end(s, g, i, TASK_FAILED, 0);
		} else {
			s->retried++;
			requeue(s, g, i);
		}
	}
	/* Never started: not a loss of theirs, and not a run. */
	for (size_t k = 0; k < w->nheld; k++) {
		uint64_t i;
		struct group *g = find_group(s, w->held[k], &i);
		struct detail *d = detail_of(s, g, i);

		d->attempts--;
		requeue(s, g, i);
	}
	s->nheld -= w->nheld;
	w->nheld = 0;
	w->nslow = 0;
	w->cores_used = 0;
	w->gpus_used = 0;
	w->memory_used = 0;
	leave(s);
}

void sched_worker_set_gpus(struct sched *s, worker_id_t id, unsigned gpus)
{
	struct worker *w = get_worker(s, id);

	forget_hot(s);

	if (!w || w->gpus == gpus)
		return;
	w->gpus = gpus;
	/* parked ranges may fit now, as when a worker joins */
	for (size_t k = 0; k < s->nparked; k++)
		heap_push(s, s->parked[k].g, s->parked[k].next,
			  s->parked[k].end);
	s->nparked = 0;
}

void sched_worker_drain(struct sched *s, worker_id_t id)
{
	struct worker *w = get_worker(s, id);

	forget_hot(s);

	if (!w)
		return;
	w->draining = 1;
	update_free(s, id);
}

int sched_worker(struct sched *s, worker_id_t id, struct worker_info *out)
{
	const struct worker *w = get_worker(s, id);

	if (!w)
		return -1;
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->name = w->name;
	out->cores = w->cores;
	out->cores_used = w->cores_used;
	out->memory = w->memory;
	out->memory_used = w->memory_used;
	out->gpus = w->gpus;
	out->gpus_used = w->gpus_used;
	out->running = (unsigned)w->ntasks;
	out->prefetched = (unsigned)w->nheld;
	out->done = w->done;
	out->alive = w->alive;
	out->draining = w->draining;
	return 0;
}

const char *sched_worker_name(const struct sched *s, worker_id_t id)
{
	return id >= 0 && (size_t)id < s->nworkers ? s->workers[id].name : NULL;
}

worker_id_t sched_worker_next(struct sched *s, worker_id_t after)
{
	size_t next = after < 0 ? 0 : (size_t)after + 1;

	return next < s->nworkers ? (worker_id_t)next : -1;
}

/* --- demand --------------------------------------------------------------- */

/* One pass over the groups: each keeps its tasks per state, and all of a
 * group's tasks share cores, memory and time limit. */
void sched_demand(struct sched *s, unsigned max_cores, uint64_t max_memory,
		  uint64_t max_time, unsigned max_gpus,
		  struct sched_demand *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < s->ngroups; k++) {
		const struct group *g = s->groups[k];
		const struct task_spec *sp = &g->spec;
		uint64_t queued = g->count[TASK_QUEUED];
		uint64_t n = queued + g->count[TASK_RUNNING];
		struct sched_demand_over *o;

		if (!n)
			continue;
		if ((!max_cores || sp->cores <= max_cores) &&
		    (!max_memory || sp->memory <= max_memory) &&
		    (!max_time || sp->time_limit <= max_time) &&
		    sp->gpus <= max_gpus) {
			out->tasks += n;
			out->cores += n * sp->cores;
			out->memory += n * sp->memory;
			out->gpus += n * sp->gpus;
			continue;
		}
		out->over += queued;
		if (!queued || out->nsample == SCHED_DEMAND_SAMPLES)
			continue;
		o = &out->sample[out->nsample++];
		o->cores = sp->cores;
		o->gpus = sp->gpus;
		o->memory = sp->memory;
		o->time_limit = sp->time_limit;
		for (uint64_t i = 0; i < g->n; i++)
			if (elem_state(g, i) == TASK_QUEUED) {
				o->id = g->first + i;
				break;
			}
	}
}

/* --- worker deadlines ------------------------------------------------------ */

/* Whether a task of `time_limit` seconds started now ends before w's
 * deadline; a task with no time limit, or a worker with no deadline,
 * always does (nothing is known to say otherwise). */
static int lives_for(const struct worker *w, uint64_t time_limit)
{
	if (w->deadline <= 0 || !time_limit)
		return 1;
	return clock_wall() + (double)time_limit <= w->deadline;
}

void sched_worker_set_deadline(struct sched *s, worker_id_t id, double end)
{
	struct worker *w = get_worker(s, id);

	forget_hot(s);

	if (!w)
		return;
	w->deadline = end > 0 ? end - SCHED_DEADLINE_MARGIN : 0;
	if (end > 0 && w->deadline <= 0)
		w->deadline = 1;	/* already past: nothing with a limit */
}

/* --- runs kept across a scheduler restart ----------------------------------
 *
 * A restarted scheduler learns from its journal which tasks were running
 * when the old one died, and their workers may still run them: each such
 * task is RUNNING with no worker ("unclaimed") until the worker that runs
 * that very attempt rejoins and claims it, or until the server stops
 * waiting and requeues what is left.  Its cores count against no worker
 * meanwhile.  Any other claim (an unknown or ended task, one requeued or
 * running elsewhere, another attempt) is refused, and the worker is told
 * to stop that run: a refused claim never changes the table.  Unclaimed
 * tasks are counted exactly (s->nunclaimed) and listed loosely (the list
 * keeps ids claimed or cancelled since, which are skipped).
 */

/* The journal's entry for worker `name`, made if `make`; NULL: none.
 * Replay names the same few workers over and over, often in a row. */
static struct recorded *recorded_of(struct sched *s, const char *name,
				    int make)
{
	struct recorded *r;

	if (s->last_recorded < s->nrecorded &&
	    !strcmp(s->recorded[s->last_recorded].name, name))
		return &s->recorded[s->last_recorded];
	for (size_t k = 0; k < s->nrecorded; k++)
		if (!strcmp(s->recorded[k].name, name)) {
			s->last_recorded = k;
			return &s->recorded[k];
		}
	if (!make)
		return NULL;
	s->recorded = vec_grow(s->recorded, &s->arecorded, s->nrecorded + 1,
			       sizeof(*s->recorded));
	r = &s->recorded[s->nrecorded];
	*r = (struct recorded){ .name = xstrdup(name) };
	s->last_recorded = s->nrecorded++;
	return r;
}

int sched_restore_running(struct sched *s, task_id_t id, unsigned attempt)
{
	forget_hot(s);

	return sched_restore_running_on(s, id, attempt, NULL);
}

int sched_restore_running_on(struct sched *s, task_id_t id, unsigned attempt,
			     const char *worker)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);

	forget_hot(s);

	if (!g) {
		errno = ENOENT;
		return -1;
	}
	if (attempt == 0 || elem_state(g, i) != TASK_QUEUED) {
		errno = EINVAL;
		return -1;
	}
	s->unclaimed = vec_grow(s->unclaimed, &s->aunclaimed,
				s->nunclaimed_ids + 1, sizeof(*s->unclaimed));
	s->unclaimed[s->nunclaimed_ids++] = id;
	s->nunclaimed++;
	if (worker && *worker) {
		struct recorded *r = recorded_of(s, worker, 1);
		r->ids = vec_grow(r->ids, &r->aids, r->nids + 1,
				  sizeof(*r->ids));
		r->ids[r->nids++] = id;
	}
	struct detail *d = detail_get(s, g, i);
	d->attempts = attempt;
	d->worker = -1;
	d->start_time = 0;
	d->end_time = 0;
	set_state(s, g, i, TASK_RUNNING, 0);
	return 0;
}

/* Nothing is unclaimed any more: the lists can go. */
static void forget_unclaimed(struct sched *s)
{
	s->nunclaimed_ids = 0;
	for (size_t k = 0; k < s->nrecorded; k++)
		s->recorded[k].nids = 0;
}

uint64_t sched_unclaimed(struct sched *s)
{
	return s->nunclaimed;
}

void sched_worker_claiming(struct sched *s, worker_id_t id, int on)
{
	struct worker *w = get_worker(s, id);

	forget_hot(s);

	if (!w || w->claiming == !!on)
		return;
	w->claiming = !!on;
	update_free(s, id);
	if (on)
		return;
	/* open now: what was parked for want of it may fit */
	for (size_t k = 0; k < s->nparked; k++)
		heap_push(s, s->parked[k].g, s->parked[k].next,
			  s->parked[k].end);
	s->nparked = 0;
}

int sched_worker_claim(struct sched *s, worker_id_t id, task_id_t task,
		       unsigned attempt, double running)
{
	struct worker *w = get_worker(s, id);
	uint64_t i;
	struct group *g = find_group(s, task, &i);
	struct detail *d;

	forget_hot(s);

	if (!w || !w->alive || !g || elem_state(g, i) != TASK_RUNNING)
		return 0;
	d = detail_of(s, g, i);
	if (!d || d->attempts != attempt)
		return 0;
	if (d->worker == id)
		return 1;		/* claimed twice: still its */
	if (d->worker >= 0 || !fits(w, &g->spec))
		return 0;
	d->worker = id;
	d->start_time = clock_wall() - (running > 0 ? running : 0);
	d->slow = 1;			/* how long it has left: unknown */
	worker_take(s, id, task, &g->spec, 1);
	if (--s->nunclaimed == 0)
		forget_unclaimed(s);
	return 1;
}

/* Task `id`, if it is still a restored run no worker claimed, goes back
 * to QUEUED: a retry, not a worker loss, its attempt kept for the next
 * run to follow.  Its reason names `worker` when that one rejoined
 * without it (NULL: the grace ran out).  1 if it did. */
static int requeue_restored(struct sched *s, task_id_t id,
			    const char *worker)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);
	struct detail *d = g ? detail_of(s, g, i) : NULL;

	if (!d || elem_state(g, i) != TASK_RUNNING || d->worker >= 0)
		return 0;
	if (worker)
		set_reason(d, "its worker '%s' rejoined after a scheduler "
			   "restart without it", worker);
	else
		set_reason(d, "no worker claimed its run after a scheduler "
			   "restart");
	s->retried++;
	s->nunclaimed--;
	requeue(s, g, i);
	return 1;
}

uint64_t sched_requeue_unclaimed(struct sched *s)
{
	uint64_t n = 0;

	if (!s->nunclaimed) {
		forget_unclaimed(s);
		return 0;
	}
	enter(s);
	for (size_t k = 0; k < s->nunclaimed_ids && s->nunclaimed; k++)
		n += requeue_restored(s, s->unclaimed[k], NULL);
	forget_unclaimed(s);
	s->nunclaimed = 0;
	leave(s);
	return n;
}

uint64_t sched_requeue_unclaimed_of(struct sched *s, const char *worker)
{
	struct recorded *r;
	uint64_t n = 0;

	if (!s->nunclaimed || !worker || !*worker ||
	    !(r = recorded_of(s, worker, 0)) || !r->nids)
		return 0;
	enter(s);
	for (size_t k = 0; k < r->nids && s->nunclaimed; k++)
		n += requeue_restored(s, r->ids[k], worker);
	r->nids = 0;
	if (!s->nunclaimed)
		forget_unclaimed(s);
	leave(s);
	return n;
}

/* --- restoring from a journal ---------------------------------------------- */

/* A journal (journal/) is replayed into a fresh table by submitting what
 * was submitted, in the same order (so the ids come out the same), then
 * putting back what the tasks had done.  Restoring goes through the same
 * end and requeue paths as a live report, so dependents are released or
 * cancelled as they were, and the ended-record limit holds. */

int sched_submission(struct sched *s, task_id_t id,
		     struct sched_submission *out)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);

	if (!g)
		return -1;
	memset(out, 0, sizeof(*out));
	out->first = g->first;
	out->n = g->n;
	out->spec = &g->spec;
	out->submit_time = g->submit_time;
	out->kind = g->own_argv ? SCHED_SUBMIT_ARGVS :
		g->arg_off ? SCHED_SUBMIT_EACH : SCHED_SUBMIT_SPEC;
	return 0;
}

const char *sched_submission_arg(struct sched *s, task_id_t id)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);

	if (!g || !g->arg_off || g->own_argv)
		return NULL;
	return g->args + g->arg_off[i];
}

int sched_restore_end(struct sched *s, task_id_t id,
		      const struct sched_end *e)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);
	enum task_state st;

	if (!g || (e->state != TASK_DONE && e->state != TASK_FAILED &&
		   e->state != TASK_CANCELLED))
		return -1;
	st = elem_state(g, i);
	if (st == TASK_DONE || st == TASK_FAILED || st == TASK_CANCELLED)
		return 0;		/* ended already: a dependency's doing */
	if (st == TASK_RUNNING)
		return -1;
	if (e->state == TASK_CANCELLED && !e->attempts &&
	    !(g->state[i] & ST_SLOT))
		return cancel_ids(s, id, id, NULL) < 0 ? -1 : 0;
	enter(s);
	struct detail *d = detail_get(s, g, i);
	d->attempts = e->attempts;
	d->failures = e->failures;
	d->worker_losses = e->worker_losses;
	d->exit_code = e->exit_code;
	d->signal = (int16_t)e->signal;
	d->runtime = e->runtime;
	d->peak_memory = e->peak_memory;
	d->end_time = e->end_time > 0 ? e->end_time : clock_wall();
	d->start_time = e->attempts ? d->end_time - e->runtime : 0;
	d->worker = -1;
	if (e->reason && *e->reason && e->state != TASK_DONE)
		set_reason(d, "%s", e->reason);
	else
		clear_reason(d);
	task_end(s, g, i, e->state, 0);
	leave(s);
	return 0;
}

int sched_restore_runs(struct sched *s, task_id_t id, unsigned attempts,
		       unsigned failures, unsigned worker_losses)
{
	uint64_t i;
	struct group *g = find_group(s, id, &i);
	enum task_state st;

	forget_hot(s);

	if (!g)
		return -1;
	st = elem_state(g, i);
	if (st != TASK_WAITING && st != TASK_QUEUED)
		return -1;
	if (!attempts && !(g->state[i] & ST_SLOT))
		return 0;
	struct detail *d = detail_get(s, g, i);
	d->attempts = attempts;
	d->failures = failures;
	d->worker_losses = worker_losses;
	return 0;
}

void sched_restore_submit_time(struct sched *s, task_id_t id, double t)
{
	struct group *g = find_group(s, id, NULL);

	forget_hot(s);

	if (g && t > 0)
		g->submit_time = t;
}

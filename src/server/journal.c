/*
 * journal: the scheduler's journal on its loop; see journal.h.  The loop
 * makes the records and writes them (journal/writer.c: one write() a
 * hand-over, into the page cache); the journal's thread does the syncs
 * and rewrites, so the loop never waits on the disk.  Four moments
 * drive the hand-overs: the workers' send (server_journal_put_down),
 * so the runs a dispatch made are in the file before their RUN frames
 * leave and a killed scheduler (kill -9, an out-of-memory kill) loses
 * no run a worker may claim; `turn`, made active when an answer is
 * held, runs after the callbacks already due in this loop turn and
 * hands over with a sync for all of them; `written`, made active by the
 * task events, hands over what they buffered at the end of the loop
 * turn without a sync: the kernel has them; `timer` asks a sync every
 * flush period, so a crash of the machine loses at most that period.  `notify` hears the thread finish a sync, a compaction or a
 * failure, and sends the held answers whose records are on disk.
 * Submissions are not an event of the fan-out: they are found in the
 * table (ids past those recorded) before any other record is added, so
 * a run never precedes its submission in the file.
 * Runs of consecutive ids on one worker, and ends of consecutive ids
 * alike, gather into range records (journal_range: one for runs, one
 * for ends, as each end frees room for the next run); any other
 * record, and the end of the loop turn (`written`), puts them out
 * first, so a range waits for nothing past its turn; the end of a task
 * whose run is in the pending range puts that out first.
 * Past 600 lines because it is one thing: the journal on the loop, its
 * records, hand-overs, held answers and compactions, which share its
 * state.
 */
#include "server/journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "api/api.h"
#include "api/http.h"
#include "pool/manager.h"
#include "server/events.h"
#include "state/state.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/vec.h"
#include "util/xalloc.h"

struct held {
	uint64_t ticket;		/* the hand-over with its record; 0:
					   not handed over yet */
	struct http *h;
	struct evhttp_request *req;	/* NULL: its peer left */
	int code;
	json_t *reply;
};

struct server_journal {
	struct sched *s;
	struct journal *j;
	struct events *ev;
	char *path;
	char *old_path;			/* where a finished journal goes */
	struct event *turn, *timer;
	struct event *written;		/* task records buffered: write them */
	int write_due;
	task_id_t next_id;		/* first id not yet recorded */
	task_id_t cfirst, clast;	/* a range of unstarted cancels */
	struct journal_range runs, ends;	/* of this loop turn */
	struct held **held;
	size_t nheld, aheld;
	uint64_t max_size;
	uint64_t compacted_size;	/* what the last compaction left */
	uint64_t compact_floor;		/* the same, 0 before the first */
	unsigned idle_ticks;		/* flush periods found idle in a row */
	struct journal_found pool;	/* the pool's last target, bounds */
	int failed;			/* a write failed: said once */
	struct err error;		/* why, while failed */
	double failing_since;		/* Unix s, while failed */
	uint64_t failures;		/* times it began to fail */
	struct event *notify;		/* the journal's thread finished one */
	uint64_t done;			/* the last the thread finished */
	uint64_t compacting;		/* a compaction's ticket, 0: none */
	uint64_t compact_from;		/* the size it started from */
	/* a compaction reading the table a piece a turn: its records so
	 * far, and those about tasks it has read since they changed */
	struct journal_compactor *comp;
	struct strbuf *content;
	struct strbuf early;		/* tee'd while it writes submissions */
	struct event *compact_ev;
};

/* --- records ------------------------------------------------------------------ */

/* Whether a record about task `id` goes into the compaction under way
 * too: the compaction has read that task already, or it is newer. */
static int tee(const struct server_journal *sj, task_id_t id)
{
	return sj->comp && (id < journal_compactor_next(sj->comp) ||
			    id > journal_compactor_last(sj->comp));
}

/* Where a record for the compaction under way goes: after the
 * submissions it has yet to write, which must come first. */
static struct strbuf *tee_buf(struct server_journal *sj)
{
	return journal_compactor_on_tasks(sj->comp) ? sj->content : &sj->early;
}

/* Every record but a task's run and end goes into a compaction under
 * way as well: they are few, and replaying one twice changes nothing. */
static void append(struct server_journal *sj, json_t *rec)
{
	if (!rec)
		return;
	journal_append(sj->j, rec);
	if (sj->comp) {
		journal_encode(tee_buf(sj), rec);
		strbuf_addch(tee_buf(sj), '\n');
	}
	json_decref(rec);
}

static void put_cancels(struct server_journal *sj)
{
	task_id_t a = sj->cfirst, b = sj->clast;

	if (!a)
		return;
	json_t *rec = journal_record_cancelled(a, b);
	journal_append(sj->j, rec);
	json_decref(rec);
	if (sj->comp) {
		/* the parts the compaction has read, and the new ones */
		task_id_t next = journal_compactor_next(sj->comp);
		task_id_t last = journal_compactor_last(sj->comp);
		task_id_t lo[2] = { a, a > last ? a : last + 1 };
		task_id_t hi[2] = { b < next ? b : next - 1, b };
		for (int k = 0; k < 2; k++) {
			if (lo[k] > hi[k] || (k == 1 && b <= last))
				continue;
			rec = journal_record_cancelled(lo[k], hi[k]);
			journal_encode(tee_buf(sj), rec);
			strbuf_addch(tee_buf(sj), '\n');
			json_decref(rec);
		}
	}
	sj->cfirst = sj->clast = 0;
}

/* A range gathered in this turn, to the buffer, and its tasks the
 * compaction under way has read or are new to it, to that (one record
 * a task: compactions are rare). */
static void put_range(struct server_journal *sj, struct journal_range *r)
{
	if (r->kind == JOURNAL_RANGE_NONE)
		return;
	journal_range_line(journal_buffer(sj->j), r, 0);
	for (task_id_t id = r->first; sj->comp && id <= r->last; id += r->step)
		if (tee(sj, id))
			journal_range_line(tee_buf(sj), r, id);
	journal_range_reset(r);
}

/* All that waits to be buffered: before any other record. */
static void put_pending(struct server_journal *sj)
{
	put_range(sj, &sj->runs);
	put_range(sj, &sj->ends);
	put_cancels(sj);
}


/* Submissions the table has that the journal has not. */
static void catch_up(struct server_journal *sj)
{
	task_id_t last = sched_last_id(sj->s);

	while (sj->next_id <= last) {
		struct sched_submission sub;
		if (sched_submission(sj->s, sj->next_id, &sub) < 0)
			break;
		put_pending(sj);
		append(sj, journal_record_submit(sj->s, sj->next_id));
		sj->next_id = sub.first + sub.n;
	}
}

/* Task records were buffered: write them when this loop turn ends. */
static void write_soon(struct server_journal *sj)
{
	if (sj->write_due || !sj->written)
		return;
	sj->write_due = 1;
	event_active(sj->written, EV_TIMEOUT, 0);
}

static void on_queued(void *arg)
{
	catch_up(arg);
	write_soon(arg);
}

static void on_assigned(void *arg, task_id_t id, worker_id_t w)
{
	struct server_journal *sj = arg;
	struct task_info ti;

	catch_up(sj);
	put_cancels(sj);
	if (sched_task(sj->s, id, &ti) < 0)
		return;
	const char *name = sched_worker_name(sj->s, w);
	if (journal_range_has(&sj->ends, id))
		put_range(sj, &sj->ends);
	if (!journal_range_run(&sj->runs, id, &ti, name)) {
		put_range(sj, &sj->runs);
		journal_range_run(&sj->runs, id, &ti, name);
	}
	write_soon(sj);
}

/* A bulk cancel ends its tasks one by one: consecutive ones that never
 * started become one record; so do consecutive ends alike (the range). */
static void on_ended(void *arg, task_id_t id)
{
	struct server_journal *sj = arg;
	struct task_info ti;

	catch_up(sj);
	if (sched_task(sj->s, id, &ti) < 0)
		return;
	if (ti.state == TASK_CANCELLED && !ti.attempts) {
		put_range(sj, &sj->runs);
		put_range(sj, &sj->ends);
		if (sj->cfirst && id == sj->clast + 1) {
			sj->clast = id;
		} else {
			put_cancels(sj);
			sj->cfirst = sj->clast = id;
		}
		write_soon(sj);
		return;
	}
	put_cancels(sj);
	if (journal_range_has(&sj->runs, id))
		put_range(sj, &sj->runs);	/* its run first */
	int fits = journal_range_end(&sj->ends, id, &ti);
	if (fits <= 0)
		put_range(sj, &sj->ends);
	if (fits == 0) {
		journal_range_end(&sj->ends, id, &ti);
	} else if (fits < 0) {
		journal_line_end(journal_buffer(sj->j), id, &ti);
		if (tee(sj, id))
			journal_line_end(tee_buf(sj), id, &ti);
	}
	write_soon(sj);
}

/* A batch job of the pool changed: its record, and the live jobs kept
 * for a compaction. */
static void on_pool_job(void *arg, const struct pool_job *j,
			enum pool_job_change what, const char *name)
{
	struct server_journal *sj = arg;
	struct err err = { "" };
	struct journal_job jj = {
		.seq = j->seq, .id = j->id, .index = j->index,
		.state = job_state_name(j->state), .reason = j->reason,
	};
	json_t *rec;

	switch (what) {
	case POOL_JOB_SUBMITTED:
		jj.ev = "job-submit";
		jj.name = name;
		jj.state = jj.reason = NULL;
		break;
	case POOL_JOB_ADOPTED:
		jj.ev = "job-adopt";
		jj.name = name;
		break;
	case POOL_JOB_STATE:
		jj.ev = "job-state";
		jj.raw = j->raw;
		break;
	case POOL_JOB_ENDED:
		jj.ev = "job-end";
		jj.state = job_end_name(j->end);
		jj.raw = j->raw;
		break;
	}
	rec = journal_record_job(&jj);
	if (journal_jobs_apply(&sj->pool.jobs, rec, 0, &err) < 0) {
		log_msg(LOG_WARNING, "journal: job %s not recorded: %s",
			j->id, err.text);
		json_decref(rec);
		return;
	}
	catch_up(sj);
	put_pending(sj);
	append(sj, rec);
	write_soon(sj);
}

static const struct events_ops journal_ops = {
	.tasks_queued = on_queued,
	.task_assigned = on_assigned,
	.task_ended = on_ended,
	.pool_job = on_pool_job,
};

/* --- writing ------------------------------------------------------------------ */

/* What journal_done said, to the log: a failure once, and the first
 * success after it. */
static void note(struct server_journal *sj, int rc, const struct err *err)
{
	if (rc < 0) {
		if (!sj->failed) {
			log_msg(LOG_ERR, "%s; answers that wait on it are "
				"sent without it", err->text);
			sj->failing_since = clock_wall();
			sj->failures++;
		}
		sj->error = *err;
		sj->failed = 1;
	} else if (rc == 0 && sj->failed) {
		log_msg(LOG_INFO, "the journal is written again");
		sj->failed = 0;
	}
}

static void compact_later(struct server_journal *sj)
{
	static const struct timeval now = { 0, 0 };

	/* a timer, not event_active: the loop polls its sockets between */
	event_add(sj->compact_ev, &now);
}

static void give_up_compaction(struct server_journal *sj)
{
	if (!sj->comp)
		return;
	journal_compactor_finish(sj->comp, NULL, NULL);
	sj->comp = NULL;
	strbuf_release(sj->content);
	free(sj->content);
	sj->content = NULL;
	strbuf_reset(&sj->early);
	if (sj->compact_ev)
		event_del(sj->compact_ev);
}

/* A piece of the table into the compaction; the whole of it to the
 * journal's thread once read. */
static void compact_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_journal *sj = arg;

	(void)fd;
	(void)what;
	if (!sj->comp)
		return;
	catch_up(sj);
	put_pending(sj);
	int all = journal_compactor_step(sj->comp, sj->content,
					 SERVER_JOURNAL_COMPACT_STEP);
	if (sj->early.len && journal_compactor_on_tasks(sj->comp)) {
		strbuf_add(sj->content, sj->early.buf, sj->early.len);
		strbuf_reset(&sj->early);
	}
	if (!all) {
		compact_later(sj);
		return;
	}
	journal_compactor_finish(sj->comp, sj->content, &sj->pool);
	sj->comp = NULL;
	sj->compacted_size = sj->compact_floor = sj->content->len;
	/* what was handed over so far goes to the old file, the rest to
	 * this one */
	sj->compacting = journal_replace(sj->j, sj->content);
	sj->content = NULL;
}

static void maybe_compact(struct server_journal *sj)
{
	uint64_t size = journal_size(sj->j);
	/* past the bound, and grown since the last time: a table that
	 * compacts to more than the bound is not rewritten every turn */
	int big = sj->max_size && size > sj->max_size &&
		size > 2 * sj->compact_floor;
	/* idle for a whole flush period, not between two submissions: the
	 * next one's answer would wait for the rewrite */
	int finished = size > SERVER_JOURNAL_IDLE_COMPACT &&
		size > 2 * sj->compacted_size && sj->idle_ticks >= 2 &&
		sched_idle(sj->s);

	if (sj->comp || sj->compacting || (!big && !finished))
		return;
	/* the table is read on the loop a piece a turn; the rewrite and its
	 * syncs are the journal thread's */
	catch_up(sj);
	put_pending(sj);
	sj->content = xmalloc(sizeof(*sj->content));
	/* room for all at once (pages untouched cost nothing): growing
	 * would copy tens of megabytes in one turn */
	strbuf_init(sj->content, size < ((uint64_t)1 << 30) ? (size_t)size :
		    (size_t)1 << 30);
	sj->comp = journal_compactor_start(sj->content, sj->s);
	sj->compact_from = size;
	compact_later(sj);
}

/* Write what is buffered, asking the journal's thread for a sync when
 * `sync`; its ticket. */
static uint64_t hand_over(struct server_journal *sj, int sync)
{
	catch_up(sj);
	put_pending(sj);
	return journal_submit(sj->j, sync);
}

void server_journal_put_down(void *arg)
{
	struct server_journal *sj = arg;

	catch_up(sj);
	put_pending(sj);
	if (journal_pending(sj->j))
		journal_submit(sj->j, 0);
}

static void held_closed(void *arg)
{
	struct held *hd = arg;

	hd->req = NULL;
}

/* Send the held answers whose records are on disk (or failed to get
 * there): those of tickets up to `done`; all, handed over or not, when
 * `done` is ALL_HELD. */
#define ALL_HELD UINT64_MAX

/* While the journal fails, an answer sent without its record says so
 * in a header (the client's cluster_client_warning), on one line. */
static void warn_unwritten(struct server_journal *sj,
			   struct evhttp_request *req)
{
	char text[sizeof(sj->error.text) + 96];

	if (!sj->failed)
		return;
	snprintf(text, sizeof(text), "not in the journal yet, lost if the "
		 "scheduler is killed before it is: %s", sj->error.text);
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "X-Cluster-Warning", text);
}

static void send_held(struct server_journal *sj, uint64_t done)
{
	size_t i = 0, k = 0;

	for (; i < sj->nheld; i++) {
		struct held *hd = sj->held[i];
		if (done != ALL_HELD && (!hd->ticket || hd->ticket > done))
			break;
		if (hd->req) {
			warn_unwritten(sj, hd->req);
			http_on_close(hd->h, hd->req, NULL, NULL);
			http_reply_json(hd->req, hd->code, hd->reply);
		} else {
			json_decref(hd->reply);
		}
		free(hd);
	}
	for (; i < sj->nheld; i++)
		sj->held[k++] = sj->held[i];
	sj->nheld = k;
}

static void turn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_journal *sj = arg;
	uint64_t t;

	(void)fd;
	(void)what;
	t = hand_over(sj, 1);
	for (size_t i = 0; i < sj->nheld; i++)
		if (!sj->held[i]->ticket)
			sj->held[i]->ticket = t;
}

/* The journal's thread finished a sync or a compaction, or a write or
 * sync failed. */
static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_journal *sj = arg;
	struct err err = { "" };
	int rc;

	(void)fd;
	(void)what;
	rc = journal_done(sj->j, &sj->done, &err);
	if (sj->compacting && sj->done >= sj->compacting) {
		sj->compacting = 0;
		if (rc < 0) {
			/* the old file stands and takes the records */
			log_msg(LOG_ERR, "%s", err.text);
			rc = 1;
		} else if (rc == 0) {
			log_msg(LOG_INFO, "journal compacted from %llu to %llu "
				"bytes", (unsigned long long)sj->compact_from,
				(unsigned long long)sj->compacted_size);
		}
	}
	note(sj, rc, &err);
	send_held(sj, sj->done);
	maybe_compact(sj);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_journal *sj = arg;

	(void)fd;
	(void)what;
	/* the thread makes it a no-op when all is written and synced */
	hand_over(sj, 1);
	sj->idle_ticks = sched_idle(sj->s) ? sj->idle_ticks + 1 : 0;
}

static void written_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_journal *sj = arg;

	(void)fd;
	(void)what;
	sj->write_due = 0;
	server_journal_put_down(sj);
}

void server_journal_hold(struct server_journal *sj, struct http *h,
			 struct evhttp_request *req, int code, json_t *reply,
			 json_t *record)
{
	struct held *hd = xcalloc(1, sizeof(*hd));

	if (record) {
		const char *ev = json_string_value(json_object_get(record, "ev"));
		/* the pool's last word, for a compaction */
		if (ev && !strcmp(ev, "pool-scale")) {
			sj->pool.has_target = 1;
			sj->pool.target = (unsigned)json_integer_value(
				json_object_get(record, "target"));
		} else if (ev && !strcmp(ev, "pool-adapt")) {
			json_t *idle = json_object_get(record, "idle");
			sj->pool.has_adapt = json_is_true(json_object_get(record,
				"off")) ? -1 : 1;
			sj->pool.adapt_min = (unsigned)json_integer_value(
				json_object_get(record, "min"));
			sj->pool.adapt_max = (unsigned)json_integer_value(
				json_object_get(record, "max"));
			sj->pool.adapt_idle = json_is_number(idle) ?
				json_number_value(idle) : 0;
		}
		catch_up(sj);
		put_pending(sj);
		append(sj, record);
	}
	hd->h = h;
	hd->req = req;
	hd->code = code;
	hd->reply = reply;
	http_on_close(h, req, held_closed, hd);
	sj->held = vec_grow(sj->held, &sj->aheld, sj->nheld + 1,
			    sizeof(*sj->held));
	sj->held[sj->nheld++] = hd;
	event_active(sj->turn, EV_TIMEOUT, 0);
}

/* --- life cycle ---------------------------------------------------------------- */

struct server_journal *server_journal_open(struct event_base *base,
					   struct sched *s,
					   const struct server_journal_config *c,
					   struct journal_found *found,
					   struct err *err)
{
	struct server_journal *sj = xcalloc(1, sizeof(*sj));
	double period = c->flush_period > 0 ? c->flush_period : 1.0;
	struct timeval tv = { (time_t)period,
			      (suseconds_t)((period - (double)(time_t)period) * 1e6) };

	strbuf_init(&sj->early, 0);
	journal_range_init(&sj->runs);
	journal_range_init(&sj->ends);
	sj->s = s;
	sj->path = xstrdup(c->path);
	sj->old_path = c->old_path ? xstrdup(c->old_path) : NULL;
	sj->max_size = c->max_size;
	if (journal_replay(c->path, s, found, err) < 0)
		goto fail;
	if (found->major && found->major < JOURNAL_MAJOR) {
		/* ranges follow: a reader of the old version would take each
		 * for its first task alone */
		if (journal_compact(c->path, s, found, NULL, err) < 0)
			goto fail;
		log_msg(LOG_INFO, "journal: rewritten from version %d.%d as "
			"%d.%d", found->major, found->minor, JOURNAL_MAJOR,
			JOURNAL_MINOR);
	}
	sj->pool = *found;
	found->jobs = NULL;		/* ours now */
	sj->next_id = sched_last_id(s) + 1;
	sj->j = journal_open(c->path, err);
	if (!sj->j)
		goto fail;
	sj->compacted_size = journal_size(sj->j);
	sj->turn = event_new(base, -1, 0, turn_cb, sj);
	sj->timer = event_new(base, -1, EV_PERSIST, timer_cb, sj);
	sj->written = event_new(base, -1, 0, written_cb, sj);
	sj->compact_ev = event_new(base, -1, 0, compact_cb, sj);
	sj->notify = event_new(base, journal_notify_fd(sj->j),
			       EV_READ | EV_PERSIST, notify_cb, sj);
	if (!sj->turn || !sj->timer || !sj->written || !sj->notify ||
	    !sj->compact_ev ||
	    event_add(sj->notify, NULL) < 0) {
		errprintf(err, "cannot set up the journal's events");
		goto fail;
	}
	event_add(sj->timer, &tv);
	json_t *r = journal_record("scheduler-start");
	json_object_set_new(r, "pid", json_integer((json_int_t)getpid()));
	append(sj, r);
	if (journal_write(sj->j, 1, err) < 0)
		goto fail;
	return sj;
fail:
	journal_found_release(found);
	server_journal_close(sj);
	return NULL;
}

void server_journal_subscribe(struct server_journal *sj, struct events *ev)
{
	sj->ev = ev;
	events_subscribe(ev, &journal_ops, sj);
}

void server_journal_close(struct server_journal *sj)
{
	int opened;

	if (!sj)
		return;
	opened = sj->j != NULL;
	if (sj->ev)
		events_unsubscribe(sj->ev, &journal_ops, sj);
	give_up_compaction(sj);
	if (sj->j) {
		catch_up(sj);
		put_pending(sj);
		append(sj, journal_record("scheduler-stop"));
		struct err err = { "" };
		if (journal_write(sj->j, 1, &err) < 0)
			log_msg(LOG_ERR, "%s: the journal ends without its last "
				"%zu bytes of records; the next start does not "
				"know what they held", err.text,
				journal_pending(sj->j));
	}
	send_held(sj, ALL_HELD);
	free(sj->held);
	strbuf_release(&sj->early);
	journal_range_release(&sj->runs);
	journal_range_release(&sj->ends);
	if (sj->notify)
		event_free(sj->notify);
	journal_close(sj->j);
	/* stopped in order with nothing left to do: the next start is a
	 * fresh one (ids from 1), and this run's journal stays readable */
	if (opened && sj->old_path && sched_idle(sj->s) &&
	    rename(sj->path, sj->old_path) < 0)
		log_msg(LOG_WARNING, "cannot move the journal '%s' aside: %s",
			sj->path, strerror(errno));
	free(sj->old_path);
	if (sj->turn)
		event_free(sj->turn);
	if (sj->written)
		event_free(sj->written);
	if (sj->timer)
		event_free(sj->timer);
	journal_found_release(&sj->pool);
	if (sj->compact_ev)
		event_free(sj->compact_ev);
	free(sj->path);
	free(sj);
}

/* The live jobs the journal showed against those the pool took back
 * from its own record (`jobs`), which is what it adopts: by now the
 * adopted ones are in the journal again (job-adopt), and a job only the
 * journal shows live is one the pool does not know: it ends there. */
static void check_jobs(struct server_journal *sj, struct pool_manager *m)
{
	struct pool *p = pool_manager_pool(m);
	const char *key;
	json_t *e, *tmp;
	unsigned kept = 0;

	json_object_foreach_safe(sj->pool.jobs, tmp, key, e) {
		json_t *first = json_object_get(e, "first");
		const char *id = json_string_value(json_object_get(first, "id"));
		json_t *index = json_object_get(first, "index");
		uint64_t seq = strtoull(key, NULL, 10);
		const struct pool_job *j = pool_find_seq(p, seq);
		struct journal_job jj = {
			.ev = "job-end", .seq = seq, .id = id,
			.index = json_is_integer(index) ?
				(int64_t)json_integer_value(index) : -1,
			.state = job_end_name(JOB_END_LOST),
			.reason = "gone from the pool's record of its jobs",
		};

		if (j && id && !strcmp(j->id, id) && j->state != JOB_STATE_ENDED) {
			kept++;
			continue;
		}
		log_msg(LOG_WARNING, "journal: job %s (the pool's number %s) "
			"is live in the journal but not in the pool's record "
			"'%s': left out, as that record says", id ? id : "?",
			key, STATE_POOL_JOBS);
		append(sj, journal_record_job(&jj));
		json_object_del(sj->pool.jobs, key);
	}
	if (kept)
		log_msg(LOG_INFO, "journal: %u batch job%s of the pool live, as "
			"its record says", kept, kept == 1 ? "" : "s");
	write_soon(sj);
}

void server_journal_restore_pool(struct server_journal *sj,
				 struct pool_manager *m)
{
	if (!sj || !m)
		return;
	check_jobs(sj, m);
	if (sj->pool.has_adapt <= 0)
		return;
	log_msg(LOG_INFO, "journal: adapt between %u and %u workers again",
		sj->pool.adapt_min, sj->pool.adapt_max);
	pool_manager_adapt(m, sj->pool.adapt_min, sj->pool.adapt_max,
			   sj->pool.adapt_idle);
}

int server_journal_compact(struct server_journal *sj, uint64_t *size,
			   struct err *err)
{
	struct strbuf *content = xmalloc(sizeof(*content));
	uint64_t n;

	/* what is buffered is in the table too: out to the old file, which
	 * stands until the rename; this one reads the whole table at once */
	give_up_compaction(sj);
	strbuf_init(content, 0);
	catch_up(sj);
	put_pending(sj);
	journal_compact_encode(content, sj->s, &sj->pool);
	n = content->len;
	if (journal_wait(sj->j, journal_replace(sj->j, content), err) < 0)
		return -1;
	sj->compacted_size = sj->compact_floor = n;
	if (size)
		*size = n;
	return 0;
}

void server_journal_health(const struct server_journal *sj,
			   struct api_journal_health *h)
{
	h->path = sj->path;
	h->bytes = journal_size(sj->j);
	h->error = sj->failed ? sj->error.text : NULL;
	h->failing_since = sj->failed ? sj->failing_since : 0;
	h->failures = sj->failures;
}

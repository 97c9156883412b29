/*
 * journal: the journal's route.  POST /api/v1/journal/compact rewrites
 * the running scheduler's journal from its table at once, rather than
 * when it passes journal.max-size; `cluster journal compact` calls it.
 * Its health, for the status and /metrics.
 */
#include <jansson.h>

#include "api/routes.h"
#include "util/strbuf.h"

json_t *journal_health_json(const struct api *a)
{
	struct api_journal_health h = { NULL, 0, NULL, 0, 0 };

	if (!a->journal.health)
		return json_null();
	a->journal.health(a->journal.arg, &h);
	return json_pack("{s:s,s:I,s:s?,s:o,s:I}",
			 "path", h.path ? h.path : "",
			 "bytes", (json_int_t)h.bytes,
			 "error", h.error,
			 "failing_since", h.error ? json_real(h.failing_since)
						  : json_null(),
			 "failures", (json_int_t)h.failures);
}

void journal_metrics(struct strbuf *sb, const struct api *a)
{
	struct api_journal_health h = { NULL, 0, NULL, 0, 0 };

	if (a->journal.health)
		a->journal.health(a->journal.arg, &h);
	strbuf_addstr(sb,
		"# HELP cluster_journal_bytes The journal's size, with what "
		"waits to be written.\n# TYPE cluster_journal_bytes gauge\n");
	strbuf_addf(sb, "cluster_journal_bytes %llu\n",
		    (unsigned long long)h.bytes);
	strbuf_addstr(sb,
		"# HELP cluster_journal_failing 1 while the journal cannot be "
		"written.\n# TYPE cluster_journal_failing gauge\n");
	strbuf_addf(sb, "cluster_journal_failing %d\n", h.error ? 1 : 0);
	strbuf_addstr(sb,
		"# HELP cluster_journal_failures_total Times writing the "
		"journal began to fail.\n"
		"# TYPE cluster_journal_failures_total counter\n");
	strbuf_addf(sb, "cluster_journal_failures_total %llu\n",
		    (unsigned long long)h.failures);
}

void journal_compact_route(struct http_call *c)
{
	const struct api_journal *j = &c->a->journal;
	struct err err = { "" };
	uint64_t size = 0;

	if (!j->compact) {
		http_reply_error(c->req, 409, "this scheduler keeps no journal "
				 "(journal.enabled is false)");
		return;
	}
	if (j->compact(j->arg, &size, &err) < 0) {
		http_reply_error(c->req, 500, "%s", err.text);
		return;
	}
	http_reply_json(c->req, 200, json_pack("{s:I}", "size", (json_int_t)size));
}

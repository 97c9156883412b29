/*
 * journal: the journal's route.  POST /api/v1/journal/compact rewrites
 * the running scheduler's journal from its table at once, rather than
 * when it passes journal.max-size; `cluster journal compact` calls it.
 * Its health, for the status and /metrics.
 */
#include <jansson.h>

#include "api/routes.h"

void journal_health(const struct api *a, struct api_journal_health *h)
{
	*h = (struct api_journal_health){ 0 };
	if (a->journal.health)
		a->journal.health(a->journal.arg, h);
}

json_t *journal_health_json(const struct api *a)
{
	struct api_journal_health h;

	if (!a->journal.health)
		return json_null();
	journal_health(a, &h);
	return json_pack("{s:s,s:I,s:s?,s:o,s:I}",
			 "path", h.path ? h.path : "",
			 "bytes", (json_int_t)h.bytes,
			 "error", h.error,
			 "failing_since", h.error ? json_real(h.failing_since)
						  : json_null(),
			 "failures", (json_int_t)h.failures);
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

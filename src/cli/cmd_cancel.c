/*
 * cluster cancel: cancel tasks by id or range, and say which waiting
 * tasks went with them because they depended on one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "util/idset.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static const struct opt_arg cancel_args[] = {
	{ "ID|A-B...", "the tasks, as 3 5-9 or 3,5-9" },
	{ NULL, NULL },
};

static int cmd_cancel(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_cancel_entry = {
	.name = "cancel",
	.exec = cmd_cancel,
	.usage = "ID|A-B...",
	.summary = "cancel tasks (queued, waiting or running)",
	.args = cancel_args,
};

/* Ranges larger than this are refused rather than expanded. */
#define MAX_IDS 10000000

static int cmd_cancel(int argc, char **argv, void *opts, struct cli_globals *g)
{
	struct idset set = IDSET_INIT;
	struct idset_iter it = IDSET_ITER_INIT;
	struct strbuf text = STRBUF_INIT;
	struct err err = { "" };
	struct cluster_cancel_result r;
	uint64_t *ids = NULL, id;
	size_t n = 0;
	cluster_client_t *c = NULL;
	int ret = 2;

	(void)opts;
	if (argc == 0)
		return cli_usage_error(&cmd_cancel_entry, "no task ids");
	/* One list, so the ids are sorted and merged once. */
	for (int i = 0; i < argc; i++)
		strbuf_addf(&text, "%s%s", i > 0 ? "," : "", argv[i]);
	/* Ids travel as JSON integers: at most INT64_MAX. */
	if (idset_parse(&set, text.buf, 1, INT64_MAX, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	if (idset_count(&set) > MAX_IDS) {
		fprintf(stderr, "cluster: %" PRIu64 " tasks at once is too many "
			"(at most %d)\n", idset_count(&set), MAX_IDS);
		goto out;
	}
	ids = xcalloc((size_t)idset_count(&set), sizeof(*ids));
	while (idset_iter_next(&set, &it, &id))
		ids[n++] = id;
	ret = 1;
	c = cli_open_client(g);
	if (!c)
		goto out;
	if (cluster_cancel_report(c, ids, n, &r) < 0) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		goto out;
	}
	cli_print_warning(c);
	printf("cancelled %" PRIu64 " task%s\n", r.cancelled,
	       r.cancelled == 1 ? "" : "s");
	if (r.dependents)
		printf("cancelled with %s %" PRIu64 " waiting task%s that "
		       "depended on %s: %s\n", r.cancelled == 1 ? "it" : "them",
		       r.dependents, r.dependents == 1 ? "" : "s",
		       r.cancelled == 1 ? "it" : "them", r.dependent_ids);
	ret = 0;
out:
	cluster_client_close(c);
	free(ids);
	idset_release(&set);
	strbuf_release(&text);
	return ret;
}

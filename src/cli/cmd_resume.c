/*
 * cluster resume: a pool paused by failures (a site's refusal, jobs whose
 * workers never joined) submits again: its failure counters are cleared.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "cluster/client.h"

static int cmd_resume(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_resume_entry = {
	.name = "resume",
	.exec = cmd_resume,
	.summary = "let a paused pool submit jobs again",
};

static int cmd_resume(int argc, char **argv, void *opts, struct cli_globals *g)
{
	cluster_client_t *c;
	int rc;

	(void)opts;
	if (argc > 0)
		return cli_usage_error(&cmd_resume_entry, "unexpected argument '%s'",
				       argv[0]);
	c = cli_open_client(g);
	if (!c)
		return 1;
	rc = cluster_resume(c);
	if (rc < 0)
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
	else
		printf("pool resumed\n");
	cluster_client_close(c);
	return rc < 0 ? 1 : 0;
}

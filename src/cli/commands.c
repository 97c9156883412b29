/* The table of subcommands: `cluster help` and usage errors read it. */
#include <stddef.h>

#include "cli/cli.h"

extern const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_submit_entry;
extern const struct cmd_entry cmd_wait_entry;
extern const struct cmd_entry cmd_tasks_entry;
extern const struct cmd_entry cmd_logs_entry;
extern const struct cmd_entry cmd_cancel_entry;
extern const struct cmd_entry cmd_workers_entry;
extern const struct cmd_entry cmd_config_entry;
extern const struct cmd_entry cmd_job_script_entry;
extern const struct cmd_entry cmd_worker_entry;
extern const struct cmd_entry cmd_start_entry;
extern const struct cmd_entry cmd_stop_entry;
extern const struct cmd_entry cmd_scale_entry;
extern const struct cmd_entry cmd_adapt_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_resume_entry;
extern const struct cmd_entry cmd_top_entry;
extern const struct cmd_entry cmd_journal_entry;

const struct cmd_entry *const cli_commands[] = {
	&cmd_config_entry,
	&cmd_job_script_entry,
	&cmd_worker_entry,
	&cmd_start_entry,
	&cmd_scale_entry,
	&cmd_adapt_entry,
	&cmd_status_entry,
	&cmd_resume_entry,
	&cmd_stop_entry,
	&cmd_submit_entry,
	&cmd_wait_entry,
	&cmd_tasks_entry,
	&cmd_logs_entry,
	&cmd_cancel_entry,
	&cmd_workers_entry,
	&cmd_top_entry,
	&cmd_journal_entry,
	&cmd_help_entry,
	NULL,
};

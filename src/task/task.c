/*
 * task: the names of task states, shared by the API, the CLI and the
 * scheduler's logs.
 */
#include "task/task.h"

#include <string.h>

static const char *const state_names[TASK_NSTATES] = {
	"waiting", "queued", "running", "done", "failed", "cancelled",
};

const char *task_state_name(enum task_state st)
{
	if ((unsigned)st >= TASK_NSTATES)
		return "unknown";
	return state_names[st];
}

int task_state_parse(const char *s, enum task_state *st)
{
	for (int i = 0; i < TASK_NSTATES; i++) {
		if (!strcmp(s, state_names[i])) {
			*st = (enum task_state)i;
			return 0;
		}
	}
	return -1;
}

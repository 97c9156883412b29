/*
 * What the state directory's files share; nothing outside src/state/
 * includes this header.
 */
#ifndef CLUSTER_STATE_INTERNAL_H
#define CLUSTER_STATE_INTERNAL_H

#include <jansson.h>

#include "util/err.h"

/* dir/name as JSON, or NULL with err naming the file and errno ENOENT
 * (no such file) or EINVAL (not JSON). */
json_t *state_json_read(const char *dir, const char *name, struct err *err);

#endif

/*
 * The scheduler's own files in the state directory (state.h): the head
 * job's id, so `cluster stop` can cancel it from any host, and the stop
 * request that tells the scheduler how long its pool may drain, and a
 * batch job's verdict.  Apart
 * from state.c so that file keeps to the directory, token, address and
 * pool files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "state/state.h"
#include "state/internal.h"

static int write_doc(const char *dir, const char *name, json_t *doc,
		     struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc;

	json_decref(doc);
	if (!text)
		return errprintf(err, "%s/%s: cannot encode", dir, name);
	strbuf_addf(&path, "%s/%s", dir, name);
	rc = state_write_atomic(path.buf, text, strlen(text), 0600, err);
	free(text);
	strbuf_release(&path);
	return rc;
}

int state_head_job_write(const char *dir, const char *backend, const char *id,
			 struct err *err)
{
	return write_doc(dir, STATE_HEAD_JOB,
			 json_pack("{s:s,s:s}", "backend", backend, "id", id),
			 err);
}

int state_head_job_read(const char *dir, char backend[32], char id[64],
			struct err *err)
{
	json_t *doc = state_json_read(dir, STATE_HEAD_JOB, err);
	const char *b, *i;

	if (!doc)
		return -1;
	b = json_string_value(json_object_get(doc, "backend"));
	i = json_string_value(json_object_get(doc, "id"));
	if (!b || !i || !*i) {
		json_decref(doc);
		errno = EINVAL;
		return errprintf(err, "%s/%s: 'backend' or 'id' is missing",
				 dir, STATE_HEAD_JOB);
	}
	snprintf(backend, 32, "%s", b);
	snprintf(id, 64, "%s", i);
	json_decref(doc);
	return 0;
}

int state_stop_write(const char *dir, double timeout, struct err *err)
{
	return write_doc(dir, STATE_STOP, json_pack("{s:f}", "timeout", timeout),
			 err);
}

int state_stop_take(const char *dir, double *timeout)
{
	json_t *doc = state_json_read(dir, STATE_STOP, NULL);
	json_t *v;

	if (!doc)
		return -1;
	v = json_object_get(doc, "timeout");
	state_file_remove(dir, STATE_STOP);
	if (!json_is_number(v) || json_number_value(v) < 0) {
		json_decref(doc);
		errno = EINVAL;
		return -1;
	}
	*timeout = json_number_value(v);
	json_decref(doc);
	return 0;
}

int state_verdict_write(const char *dir, const char *job, int status,
			struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	char text[32];
	int rc;

	if (!*job || strchr(job, '/') || !strcmp(job, ".") || !strcmp(job, "..")) {
		errno = EINVAL;
		return errprintf(err, "cannot name a verdict file after job '%s'",
				 job);
	}
	strbuf_addf(&path, "%s/%s%s", dir, STATE_VERDICT_PREFIX, job);
	snprintf(text, sizeof(text), "%d\n", status);
	rc = state_write_atomic(path.buf, text, strlen(text), 0600, err);
	strbuf_release(&path);
	return rc;
}

int state_file_remove(const char *dir, const char *name)
{
	struct strbuf path = STRBUF_INIT;
	int rc = 0;

	strbuf_addf(&path, "%s/%s", dir, name);
	if (unlink(path.buf) < 0 && errno != ENOENT)
		rc = -1;
	strbuf_release(&path);
	return rc;
}

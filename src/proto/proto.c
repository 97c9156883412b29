/*
 * proto: the codec of every frame type (proto.h has the format).
 *
 * One file, over the usual size, because it is one codec: the encoder,
 * the checks made before sending and the decoder each take the same frame
 * types field by field, and keeping them side by side is what keeps a
 * field's size, its bounds and its order in step across the three.  The
 * handshake's MAC and nonces follow, as the frames carry them.
 */
#include "proto/proto.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const char *const type_names[PROTO_TYPE_MAX + 1] = {
	[PROTO_HELLO] = "HELLO",
	[PROTO_AUTH] = "AUTH",
	[PROTO_WELCOME] = "WELCOME",
	[PROTO_RUN] = "RUN",
	[PROTO_KILL] = "KILL",
	[PROTO_DONE] = "DONE",
	[PROTO_HEARTBEAT] = "HEARTBEAT",
	[PROTO_SHUTDOWN] = "SHUTDOWN",
	[PROTO_REJOIN] = "REJOIN",
};

const char *proto_type_name(int type)
{
	if (type < PROTO_HELLO || type > PROTO_TYPE_MAX)
		return "unknown";
	return type_names[type];
}

/* --- encoding ------------------------------------------------------------
 * The payload size is computed first so the frame is written with a single
 * buffer growth and no intermediate copies. */

#define PROTO_CLAIM_SIZE (8 + 4 + 8)	/* task_id, attempt, running_us */

/* A NULL claim list is sent as empty, like a NULL string. */
static uint32_t claim_count(const struct proto_rejoin *j)
{
	return j->claims ? j->count : 0;
}

static size_t str_size(const char *s)
{
	return 4 + (s ? strlen(s) : 0);
}

static size_t list_size(char *const *v)
{
	size_t n = 4;

	for (; v && *v; v++)
		n += str_size(*v);
	return n;
}

static size_t payload_size(const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO:
		return PROTO_NONCE_SIZE;
	case PROTO_AUTH:
		return PROTO_NONCE_SIZE + PROTO_MAC_SIZE +
		       str_size(m->u.auth.name) + str_size(m->u.auth.host) +
		       4 + 4 + 8 + str_size(m->u.auth.job_id) + 8 + 8 + 4 + 4;
	case PROTO_WELCOME:
		return 4 + 4 + PROTO_MAC_SIZE;
	case PROTO_RUN:
		return 8 + 4 + 1 + 8 + 4 + 8 + 8 + list_size(m->u.run.argv) +
		       list_size(m->u.run.env) + str_size(m->u.run.cwd) +
		       str_size(m->u.run.stdout_path) +
		       str_size(m->u.run.stderr_path) + 4 +
		       str_size(m->u.run.log_dir);
	case PROTO_KILL:
		return 8;
	case PROTO_DONE:
		return 8 + 4 + 4 + 4 + 8 + 8 + str_size(m->u.done.reason) +
		       8 + 8;
	case PROTO_HEARTBEAT:
		return 8 + 4 + 4;
	case PROTO_SHUTDOWN:
		return str_size(m->u.shutdown.reason);
	case PROTO_REJOIN:
		return 4 + (size_t)claim_count(&m->u.rejoin) * PROTO_CLAIM_SIZE;
	}
	return 0;
}

static inline uint8_t *put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static inline uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	p = put_u32(p, (uint32_t)(v >> 32));
	return put_u32(p, (uint32_t)v);
}

static inline uint8_t *put_bytes(uint8_t *p, const void *data, size_t n)
{
	if (n)
		memcpy(p, data, n);
	return p + n;
}

static uint8_t *put_str(uint8_t *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	p = put_u32(p, (uint32_t)n);
	return put_bytes(p, s, n);
}

static uint8_t *put_list(uint8_t *p, char *const *v)
{
	uint32_t n = 0;

	while (v && v[n])
		n++;
	p = put_u32(p, n);
	for (uint32_t i = 0; i < n; i++)
		p = put_str(p, v[i]);
	return p;
}

void proto_encode(struct strbuf *out, const struct proto_msg *m)
{
	size_t size = payload_size(m);
	uint8_t *start, *p;

	strbuf_grow(out, PROTO_HEADER_SIZE + size);
	start = p = (uint8_t *)out->buf + out->len;
	p = put_u32(p, PROTO_MAGIC);
	p = put_u8(p, PROTO_VERSION);
	p = put_u8(p, (uint8_t)m->type);
	p = put_u16(p, 0);
	p = put_u32(p, (uint32_t)size);

	switch (m->type) {
	case PROTO_HELLO:
		p = put_bytes(p, m->u.hello.nonce, PROTO_NONCE_SIZE);
		break;
	case PROTO_AUTH:
		p = put_bytes(p, m->u.auth.nonce, PROTO_NONCE_SIZE);
		p = put_bytes(p, m->u.auth.mac, PROTO_MAC_SIZE);
		p = put_str(p, m->u.auth.name);
		p = put_str(p, m->u.auth.host);
		p = put_u32(p, m->u.auth.pid);
		p = put_u32(p, m->u.auth.cores);
		p = put_u64(p, m->u.auth.memory);
		p = put_str(p, m->u.auth.job_id);
		p = put_u64(p, (uint64_t)m->u.auth.job_index);
		p = put_u64(p, m->u.auth.job_end);
		p = put_u32(p, m->u.auth.gpus);
		p = put_u32(p, m->u.auth.tasks);
		break;
	case PROTO_WELCOME:
		p = put_u32(p, m->u.welcome.worker_id);
		p = put_u32(p, m->u.welcome.heartbeat_ms);
		p = put_bytes(p, m->u.welcome.mac, PROTO_MAC_SIZE);
		break;
	case PROTO_RUN:
		p = put_u64(p, m->u.run.task_id);
		p = put_u32(p, m->u.run.attempt);
		p = put_u8(p, m->u.run.has_index);
		p = put_u64(p, (uint64_t)m->u.run.array_index);
		p = put_u32(p, m->u.run.cores);
		p = put_u64(p, m->u.run.memory_limit);
		p = put_u64(p, m->u.run.time_limit);
		p = put_list(p, m->u.run.argv);
		p = put_list(p, m->u.run.env);
		p = put_str(p, m->u.run.cwd);
		p = put_str(p, m->u.run.stdout_path);
		p = put_str(p, m->u.run.stderr_path);
		p = put_u32(p, m->u.run.gpus);
		p = put_str(p, m->u.run.log_dir);
		break;
	case PROTO_KILL:
		p = put_u64(p, m->u.kill.task_id);
		break;
	case PROTO_DONE:
		p = put_u64(p, m->u.done.task_id);
		p = put_u32(p, m->u.done.attempt);
		p = put_u32(p, (uint32_t)m->u.done.exit_code);
		p = put_u32(p, (uint32_t)m->u.done.signal);
		p = put_u64(p, m->u.done.runtime_us);
		p = put_u64(p, m->u.done.peak_memory);
		p = put_str(p, m->u.done.reason);
		p = put_u64(p, m->u.done.spawn_us);
		p = put_u64(p, m->u.done.output_us);
		break;
	case PROTO_HEARTBEAT:
		p = put_u64(p, m->u.heartbeat.time_ms);
		p = put_u32(p, m->u.heartbeat.running);
		p = put_u32(p, m->u.heartbeat.interval_ms);
		break;
	case PROTO_SHUTDOWN:
		p = put_str(p, m->u.shutdown.reason);
		break;
	case PROTO_REJOIN:
		p = put_u32(p, claim_count(&m->u.rejoin));
		for (uint32_t i = 0; i < claim_count(&m->u.rejoin); i++) {
			const struct proto_claim *c = &m->u.rejoin.claims[i];
			p = put_u64(p, c->task_id);
			p = put_u32(p, c->attempt);
			p = put_u64(p, c->running_us);
		}
		break;
	}
	out->len += (size_t)(p - start);
	out->buf[out->len] = '\0';
}

/* --- validation before sending ------------------------------------------ */

static int check_str(const char *frame, const char *field, long idx,
		     const char *s, struct err *err)
{
	size_t n = s ? strlen(s) : 0;

	if (n <= PROTO_MAX_STRING)
		return 0;
	if (idx >= 0)
		return errprintf(err, "frame %s: field '%s[%ld]' length %zu exceeds %u",
				 frame, field, idx, n, PROTO_MAX_STRING);
	return errprintf(err, "frame %s: field '%s' length %zu exceeds %u",
			 frame, field, n, PROTO_MAX_STRING);
}

static int check_list(const char *frame, const char *field, char *const *v,
		      struct err *err)
{
	size_t n = 0;

	for (; v && v[n]; n++)
		if (check_str(frame, field, (long)n, v[n], err) < 0)
			return -1;
	if (n > PROTO_MAX_LIST)
		return errprintf(err, "frame %s: field '%s' count %zu exceeds %d",
				 frame, field, n, PROTO_MAX_LIST);
	return 0;
}

int proto_validate(const struct proto_msg *m, uint32_t max_payload,
		   struct err *err)
{
	const char *f = proto_type_name(m->type);
	size_t size;
	int rc = 0;

	switch (m->type) {
	case PROTO_AUTH:
		rc = check_str(f, "name", -1, m->u.auth.name, err);
		if (!rc)
			rc = check_str(f, "host", -1, m->u.auth.host, err);
		if (!rc)
			rc = check_str(f, "job_id", -1, m->u.auth.job_id, err);
		break;
	case PROTO_RUN:
		if (m->u.run.has_index > 1)
			return errprintf(err, "frame RUN: field 'has_index' value %u is not 0 or 1",
					 m->u.run.has_index);
		rc = check_list(f, "argv", m->u.run.argv, err);
		if (!rc)
			rc = check_list(f, "env", m->u.run.env, err);
		if (!rc)
			rc = check_str(f, "cwd", -1, m->u.run.cwd, err);
		if (!rc)
			rc = check_str(f, "stdout_path", -1,
				       m->u.run.stdout_path, err);
		if (!rc)
			rc = check_str(f, "stderr_path", -1,
				       m->u.run.stderr_path, err);
		if (!rc)
			rc = check_str(f, "log_dir", -1, m->u.run.log_dir, err);
		break;
	case PROTO_DONE:
		rc = check_str(f, "reason", -1, m->u.done.reason, err);
		break;
	case PROTO_SHUTDOWN:
		rc = check_str(f, "reason", -1, m->u.shutdown.reason, err);
		break;
	case PROTO_REJOIN:
		if (claim_count(&m->u.rejoin) > PROTO_MAX_LIST)
			return errprintf(err, "frame REJOIN: field 'claims' count %u exceeds %d",
					 m->u.rejoin.count, PROTO_MAX_LIST);
		break;
	case PROTO_HELLO:
	case PROTO_WELCOME:
	case PROTO_KILL:
	case PROTO_HEARTBEAT:
		break;
	default:
		return errprintf(err, "unknown frame type %d", m->type);
	}
	if (rc < 0)
		return -1;
	size = payload_size(m);
	if (size > max_payload)
		return errprintf(err, "frame %s: payload length %zu exceeds the maximum %u",
				 f, size, max_payload);
	return 0;
}

/* --- decoding ------------------------------------------------------------ */

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

long proto_frame_size(const uint8_t *buf, size_t avail, uint32_t max_payload,
		      struct err *err)
{
	uint32_t len;
	unsigned flags;

	/* Check each header field as soon as its bytes are in, so garbage is
	 * refused without waiting for a full header that may never come;
	 * the magic byte by byte. */
	if (avail < 4) {
		static const uint8_t magic[4] = { 0x43, 0x4c, 0x53, 0x54 };
		if (!avail || !memcmp(buf, magic, avail))
			return 0;
		char seen[16] = "";
		for (size_t i = 0; i < avail; i++)
			snprintf(seen + 2 * i, sizeof(seen) - 2 * i, "%02x",
				 buf[i]);
		return errprintf(err, "bad frame magic 0x%s... (expected 0x%08x \"CLST\")",
				 seen, PROTO_MAGIC);
	}
	if (get_be32(buf) != PROTO_MAGIC)
		return errprintf(err, "bad frame magic 0x%08x (expected 0x%08x \"CLST\")",
				 get_be32(buf), PROTO_MAGIC);
	if (avail < 5)
		return 0;
	if (buf[4] != PROTO_VERSION)
		return errprintf(err, "unsupported protocol version %u (this side speaks %d: "
				 "run the same release of cluster on both sides)",
				 buf[4], PROTO_VERSION);
	if (avail < 6)
		return 0;
	if (buf[5] < PROTO_HELLO || buf[5] > PROTO_TYPE_MAX)
		return errprintf(err, "unknown frame type %u", buf[5]);
	if (avail < 8)
		return 0;
	flags = (unsigned)buf[6] << 8 | buf[7];
	if (flags)
		return errprintf(err, "frame %s: flags 0x%04x must be 0",
				 type_names[buf[5]], flags);
	if (avail < PROTO_HEADER_SIZE)
		return 0;
	len = get_be32(buf + 8);
	if (len > max_payload)
		return errprintf(err, "frame %s: payload length %u exceeds the maximum %u",
				 type_names[buf[5]], len, max_payload);
	if (avail - PROTO_HEADER_SIZE < len)
		return 0;
	return (long)PROTO_HEADER_SIZE + (long)len;
}

struct reader {
	const uint8_t *p;
	size_t left;
	const char *frame;
	struct err *err;
};

/* Field names for messages; idx >= 0 names a list element. */
static const char *field_name(char *buf, size_t size, const char *field,
			      long idx)
{
	if (idx < 0)
		return field;
	snprintf(buf, size, "%s[%ld]", field, idx);
	return buf;
}

static int truncated(struct reader *r, const char *field, long idx, size_t n)
{
	char name[64];

	return errprintf(r->err, "frame %s: field '%s' truncated (needs %zu bytes, %zu left)",
			 r->frame, field_name(name, sizeof(name), field, idx),
			 n, r->left);
}

static int get_bytes(struct reader *r, const char *field, void *out, size_t n)
{
	if (r->left < n)
		return truncated(r, field, -1, n);
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

static int get_u8(struct reader *r, const char *field, uint8_t *v)
{
	if (r->left < 1)
		return truncated(r, field, -1, 1);
	*v = r->p[0];
	r->p++;
	r->left--;
	return 0;
}

static int get_u32_at(struct reader *r, const char *field, long idx,
		      uint32_t *v)
{
	if (r->left < 4)
		return truncated(r, field, idx, 4);
	*v = get_be32(r->p);
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int get_u32(struct reader *r, const char *field, uint32_t *v)
{
	return get_u32_at(r, field, -1, v);
}

static int get_i32(struct reader *r, const char *field, int32_t *v)
{
	uint32_t u;

	if (get_u32(r, field, &u) < 0)
		return -1;
	*v = (int32_t)u;	/* two's complement on the wire */
	return 0;
}

static int get_u64(struct reader *r, const char *field, uint64_t *v)
{
	if (r->left < 8)
		return truncated(r, field, -1, 8);
	*v = get_be64(r->p);
	r->p += 8;
	r->left -= 8;
	return 0;
}

static int get_i64(struct reader *r, const char *field, int64_t *v)
{
	uint64_t u;

	if (get_u64(r, field, &u) < 0)
		return -1;
	*v = (int64_t)u;
	return 0;
}

static int get_str_at(struct reader *r, const char *field, long idx,
		      char **out)
{
	char name[64];
	uint32_t n;
	char *s;

	if (get_u32_at(r, field, idx, &n) < 0)
		return -1;
	if (n > PROTO_MAX_STRING)
		return errprintf(r->err, "frame %s: field '%s' length %u exceeds %u",
				 r->frame, field_name(name, sizeof(name), field, idx),
				 n, PROTO_MAX_STRING);
	if (n > r->left)
		return errprintf(r->err, "frame %s: field '%s' length %u runs past the end of the frame (%zu bytes left)",
				 r->frame, field_name(name, sizeof(name), field, idx),
				 n, r->left);
	if (memchr(r->p, '\0', n))
		return errprintf(r->err, "frame %s: field '%s' contains a NUL byte",
				 r->frame, field_name(name, sizeof(name), field, idx));
	s = malloc((size_t)n + 1);
	if (!s)
		return errprintf(r->err, "frame %s: field '%s': out of memory",
				 r->frame, field_name(name, sizeof(name), field, idx));
	if (n)
		memcpy(s, r->p, n);
	s[n] = '\0';
	r->p += n;
	r->left -= n;
	*out = s;
	return 0;
}

static int get_str(struct reader *r, const char *field, char **out)
{
	return get_str_at(r, field, -1, out);
}

/* The list is stored in *out before its strings are read, always
 * NULL-terminated, so a failure part-way leaves it releasable. */
static int get_list(struct reader *r, const char *field, char ***out)
{
	uint32_t n;
	char **v;

	if (get_u32(r, field, &n) < 0)
		return -1;
	if (n > PROTO_MAX_LIST)
		return errprintf(r->err, "frame %s: field '%s' count %u exceeds %d",
				 r->frame, field, n, PROTO_MAX_LIST);
	if ((size_t)n * 4 > r->left)
		return errprintf(r->err, "frame %s: field '%s' count %u runs past the end of the frame (%zu bytes left)",
				 r->frame, field, n, r->left);
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return errprintf(r->err, "frame %s: field '%s': out of memory",
				 r->frame, field);
	*out = v;
	for (uint32_t i = 0; i < n; i++)
		if (get_str_at(r, field, (long)i, &v[i]) < 0)
			return -1;
	return 0;
}

static int decode_auth(struct reader *r, struct proto_auth *a)
{
	if (get_bytes(r, "nonce", a->nonce, PROTO_NONCE_SIZE) < 0 ||
	    get_bytes(r, "mac", a->mac, PROTO_MAC_SIZE) < 0 ||
	    get_str(r, "name", &a->name) < 0 ||
	    get_str(r, "host", &a->host) < 0 ||
	    get_u32(r, "pid", &a->pid) < 0 ||
	    get_u32(r, "cores", &a->cores) < 0 ||
	    get_u64(r, "memory", &a->memory) < 0 ||
	    get_str(r, "job_id", &a->job_id) < 0 ||
	    get_i64(r, "job_index", &a->job_index) < 0 ||
	    get_u64(r, "job_end", &a->job_end) < 0 ||
	    get_u32(r, "gpus", &a->gpus) < 0 ||
	    get_u32(r, "tasks", &a->tasks) < 0)
		return -1;
	return 0;
}

static int decode_run(struct reader *r, struct proto_run *run)
{
	if (get_u64(r, "task_id", &run->task_id) < 0 ||
	    get_u32(r, "attempt", &run->attempt) < 0 ||
	    get_u8(r, "has_index", &run->has_index) < 0)
		return -1;
	if (run->has_index > 1)
		return errprintf(r->err, "frame RUN: field 'has_index' value %u is not 0 or 1",
				 run->has_index);
	if (get_i64(r, "array_index", &run->array_index) < 0 ||
	    get_u32(r, "cores", &run->cores) < 0 ||
	    get_u64(r, "memory_limit", &run->memory_limit) < 0 ||
	    get_u64(r, "time_limit", &run->time_limit) < 0 ||
	    get_list(r, "argv", &run->argv) < 0 ||
	    get_list(r, "env", &run->env) < 0 ||
	    get_str(r, "cwd", &run->cwd) < 0 ||
	    get_str(r, "stdout_path", &run->stdout_path) < 0 ||
	    get_str(r, "stderr_path", &run->stderr_path) < 0 ||
	    get_u32(r, "gpus", &run->gpus) < 0 ||
	    get_str(r, "log_dir", &run->log_dir) < 0)
		return -1;
	return 0;
}

static int decode_done(struct reader *r, struct proto_done *d)
{
	if (get_u64(r, "task_id", &d->task_id) < 0 ||
	    get_u32(r, "attempt", &d->attempt) < 0 ||
	    get_i32(r, "exit_code", &d->exit_code) < 0 ||
	    get_i32(r, "signal", &d->signal) < 0 ||
	    get_u64(r, "runtime_us", &d->runtime_us) < 0 ||
	    get_u64(r, "peak_memory", &d->peak_memory) < 0 ||
	    get_str(r, "reason", &d->reason) < 0 ||
	    get_u64(r, "spawn_us", &d->spawn_us) < 0 ||
	    get_u64(r, "output_us", &d->output_us) < 0)
		return -1;
	return 0;
}

/* The count is checked against the bytes left before anything is
 * allocated, so a frame cannot ask for more memory than it carries. */
static int decode_rejoin(struct reader *r, struct proto_rejoin *j)
{
	uint32_t n;

	if (get_u32(r, "claims", &n) < 0)
		return -1;
	if (n > PROTO_MAX_LIST)
		return errprintf(r->err, "frame REJOIN: field 'claims' count %u exceeds %d",
				 n, PROTO_MAX_LIST);
	if ((size_t)n * PROTO_CLAIM_SIZE > r->left)
		return errprintf(r->err, "frame REJOIN: field 'claims' count %u runs past the end of the frame (%zu bytes left)",
				 n, r->left);
	j->claims = calloc(n ? n : 1, sizeof(*j->claims));
	if (!j->claims)
		return errprintf(r->err, "frame REJOIN: field 'claims': out of memory");
	j->count = n;
	for (uint32_t i = 0; i < n; i++) {
		struct proto_claim *c = &j->claims[i];
		c->task_id = get_be64(r->p);
		c->attempt = get_be32(r->p + 8);
		c->running_us = get_be64(r->p + 12);
		r->p += PROTO_CLAIM_SIZE;
		r->left -= PROTO_CLAIM_SIZE;
	}
	return 0;
}

static int decode_payload(struct reader *r, struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO:
		return get_bytes(r, "nonce", m->u.hello.nonce, PROTO_NONCE_SIZE);
	case PROTO_AUTH:
		return decode_auth(r, &m->u.auth);
	case PROTO_WELCOME:
		if (get_u32(r, "worker_id", &m->u.welcome.worker_id) < 0 ||
		    get_u32(r, "heartbeat_ms", &m->u.welcome.heartbeat_ms) < 0)
			return -1;
		return get_bytes(r, "mac", m->u.welcome.mac, PROTO_MAC_SIZE);
	case PROTO_RUN:
		return decode_run(r, &m->u.run);
	case PROTO_KILL:
		return get_u64(r, "task_id", &m->u.kill.task_id);
	case PROTO_DONE:
		return decode_done(r, &m->u.done);
	case PROTO_HEARTBEAT:
		if (get_u64(r, "time_ms", &m->u.heartbeat.time_ms) < 0)
			return -1;
		if (get_u32(r, "running", &m->u.heartbeat.running) < 0)
			return -1;
		return get_u32(r, "interval_ms", &m->u.heartbeat.interval_ms);
	case PROTO_SHUTDOWN:
		return get_str(r, "reason", &m->u.shutdown.reason);
	case PROTO_REJOIN:
		return decode_rejoin(r, &m->u.rejoin);
	}
	return errprintf(r->err, "unknown frame type %d", m->type);
}

int proto_decode(const uint8_t *frame, size_t len, struct proto_msg *msg,
		 struct err *err)
{
	struct reader r;
	uint32_t plen;
	long size;

	memset(msg, 0, sizeof(*msg));
	if (len < PROTO_HEADER_SIZE)
		return errprintf(err, "frame truncated: %zu bytes, the header alone needs %d",
				 len, PROTO_HEADER_SIZE);
	size = proto_frame_size(frame, len, UINT32_MAX, err);
	if (size < 0)
		return -1;
	plen = get_be32(frame + 8);
	if (size == 0 || (size_t)size != len)
		return errprintf(err, "frame %s: payload length %u does not match the %zu bytes given",
				 type_names[frame[5]], plen,
				 len - PROTO_HEADER_SIZE);

	msg->type = frame[5];
	r.p = frame + PROTO_HEADER_SIZE;
	r.left = plen;
	r.frame = type_names[msg->type];
	r.err = err;
	if (decode_payload(&r, msg) < 0)
		goto fail;
	if (r.left) {
		errprintf(err, "frame %s: %zu trailing bytes after the last field",
			  r.frame, r.left);
		goto fail;
	}
	return 0;
fail:
	proto_msg_release(msg);
	return -1;
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void proto_msg_release(struct proto_msg *msg)
{
	if (!msg)
		return;
	switch (msg->type) {
	case PROTO_AUTH:
		free(msg->u.auth.name);
		free(msg->u.auth.host);
		free(msg->u.auth.job_id);
		break;
	case PROTO_RUN:
		free_list(msg->u.run.argv);
		free_list(msg->u.run.env);
		free(msg->u.run.cwd);
		free(msg->u.run.stdout_path);
		free(msg->u.run.stderr_path);
		free(msg->u.run.log_dir);
		break;
	case PROTO_DONE:
		free(msg->u.done.reason);
		break;
	case PROTO_SHUTDOWN:
		free(msg->u.shutdown.reason);
		break;
	case PROTO_REJOIN:
		free(msg->u.rejoin.claims);
		break;
	}
	memset(msg, 0, sizeof(*msg));
}

/* --- handshake ----------------------------------------------------------- */

void proto_mac(const char *token, const char *role,
	       const uint8_t a[PROTO_NONCE_SIZE],
	       const uint8_t b[PROTO_NONCE_SIZE], uint8_t out[PROTO_MAC_SIZE])
{
	static const char label[] = "cluster-auth-1 ";
	uint8_t data[sizeof(label) - 1 + 16 + 2 * PROTO_NONCE_SIZE];
	size_t rlen = role ? strlen(role) : 0, n = 0;
	unsigned int outlen = 0;

	if (!token)
		token = "";
	if (rlen > 16)
		rlen = 16;	/* roles are "worker" and "server" */
	memcpy(data, label, sizeof(label) - 1);
	n += sizeof(label) - 1;
	if (rlen)
		memcpy(data + n, role, rlen);
	n += rlen;
	memcpy(data + n, a, PROTO_NONCE_SIZE);
	n += PROTO_NONCE_SIZE;
	memcpy(data + n, b, PROTO_NONCE_SIZE);
	n += PROTO_NONCE_SIZE;

	if (!HMAC(EVP_sha256(), token, (int)strlen(token), data, n, out,
		  &outlen) || outlen != PROTO_MAC_SIZE) {
		/* Never leave a predictable proof that two failing sides
		 * could both produce and accept. */
		if (RAND_bytes(out, PROTO_MAC_SIZE) != 1)
			memset(out, 0, PROTO_MAC_SIZE);
	}
	OPENSSL_cleanse(data, sizeof(data));
}

int proto_mac_equal(const uint8_t a[PROTO_MAC_SIZE],
		    const uint8_t b[PROTO_MAC_SIZE])
{
	return CRYPTO_memcmp(a, b, PROTO_MAC_SIZE) == 0;
}

int proto_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, n) != 1) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int proto_read(struct evbuffer *in, uint32_t max_payload,
	       struct proto_msg *msg, struct err *err)
{
	size_t avail = evbuffer_get_length(in);

	if (!avail)
		return 0;
	/* A short prefix is checked as far as it goes, so garbage shorter
	 * than a header is refused at once instead of waited on. */
	size_t seen = avail < PROTO_HEADER_SIZE ? avail : PROTO_HEADER_SIZE;
	const uint8_t *hdr = evbuffer_pullup(in, (ev_ssize_t)seen);
	long size = proto_frame_size(hdr, seen, max_payload, err);
	if (size < 0)
		return -1;
	if (seen < PROTO_HEADER_SIZE)
		return 0;
	/* With only the header given, proto_frame_size says "need more";
	 * the frame's size is in the header's length field. */
	size_t need = PROTO_HEADER_SIZE +
		((size_t)hdr[8] << 24 | (size_t)hdr[9] << 16 |
		 (size_t)hdr[10] << 8 | (size_t)hdr[11]);
	if (avail < need)
		return 0;
	const uint8_t *frame = evbuffer_pullup(in, (ev_ssize_t)need);
	if (proto_decode(frame, need, msg, err) < 0)
		return -1;
	evbuffer_drain(in, need);
	return 1;
}

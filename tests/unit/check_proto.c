#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto/proto.h"

/* --- helpers ------------------------------------------------------------- */

/* Message fields are `char *`; the encoder only reads them. */
#define LIT(s) ((char *)(s))

static char *argv_small[] = { LIT("/bin/echo"), LIT(""), LIT("hello world"), NULL };
static char *env_small[] = { LIT("A=1"), LIT("EMPTY="), NULL };
static char *list_empty[] = { NULL };
static struct proto_claim claims_small[] = {
	{ 1, 1, 0 },
	{ UINT64_MAX, UINT32_MAX, UINT64_MAX },
	{ 42, 3, 61500000 },
};

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* One message of each type with edge values; `variant` picks a second
 * set (zero values, empty strings and lists). */
static void make_msg(int type, int variant, struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case PROTO_HELLO:
		fill(m->u.hello.nonce, PROTO_NONCE_SIZE, variant ? 0 : 200);
		break;
	case PROTO_AUTH:
		fill(m->u.auth.nonce, PROTO_NONCE_SIZE, 1);
		fill(m->u.auth.mac, PROTO_MAC_SIZE, 99);
		m->u.auth.name = variant ? LIT("") : LIT("node12:4242");
		m->u.auth.host = variant ? LIT("") : LIT("node12.example.org");
		m->u.auth.pid = variant ? 0 : UINT32_MAX;
		m->u.auth.cores = variant ? 0 : 128;
		m->u.auth.memory = variant ? 0 : UINT64_MAX;
		m->u.auth.job_id = variant ? LIT("") : LIT("123456");
		m->u.auth.job_index = variant ? -1 : 1000;
		m->u.auth.job_end = variant ? 0 : 1700000000;
		m->u.auth.gpus = variant ? 0 : 4;
		m->u.auth.tasks = variant ? 0 : 4096;
		break;
	case PROTO_WELCOME:
		m->u.welcome.worker_id = variant ? 0 : UINT32_MAX;
		m->u.welcome.heartbeat_ms = 5000;
		fill(m->u.welcome.mac, PROTO_MAC_SIZE, 3);
		break;
	case PROTO_RUN:
		m->u.run.task_id = variant ? 0 : UINT64_MAX;
		m->u.run.attempt = variant ? 0 : UINT32_MAX;
		m->u.run.has_index = variant ? 0 : 1;
		m->u.run.array_index = variant ? INT64_MIN : -1;
		m->u.run.cores = 3;
		m->u.run.memory_limit = (uint64_t)1 << 40;
		m->u.run.gpus = variant ? 0 : 2;
		m->u.run.time_limit = variant ? 0 : 86400;
		m->u.run.argv = variant ? list_empty : argv_small;
		m->u.run.env = variant ? list_empty : env_small;
		m->u.run.cwd = variant ? LIT("") : LIT("/scratch/u/run");
		m->u.run.stdout_path = variant ? LIT("") : LIT("/scratch/u/out.%a");
		m->u.run.stderr_path = LIT("");
		m->u.run.log_dir = variant ? LIT("") : LIT("/home/u/.cluster/c/logs");
		m->u.run.attempt = variant ? 0 : 3;
		break;
	case PROTO_KILL:
		m->u.kill.task_id = variant ? 0 : UINT64_MAX - 1;
		break;
	case PROTO_DONE:
		m->u.done.task_id = 77;
		m->u.done.attempt = variant ? 1 : UINT32_MAX;
		m->u.done.exit_code = variant ? INT32_MIN : -1;
		m->u.done.signal = variant ? INT32_MAX : 9;
		m->u.done.runtime_us = UINT64_MAX;
		m->u.done.peak_memory = variant ? 0 : 123456789012ull;
		m->u.done.reason = variant ? LIT("") : LIT("time limit");
		m->u.done.spawn_us = variant ? 0 : 1234;
		m->u.done.output_us = variant ? UINT64_MAX : 56;
		break;
	case PROTO_HEARTBEAT:
		m->u.heartbeat.time_ms = variant ? 0 : UINT64_MAX;
		m->u.heartbeat.running = variant ? 0 : UINT32_MAX;
		m->u.heartbeat.interval_ms = variant ? 0 : 80000;
		break;
	case PROTO_SHUTDOWN:
		m->u.shutdown.reason = variant ? LIT("") : LIT("scale down");
		break;
	case PROTO_REJOIN:
		m->u.rejoin.count = variant ? 0 : 3;
		m->u.rejoin.claims = claims_small;
		break;
	}
}

static void list_eq(char **a, char **b)
{
	size_t i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; a[i]; i++) {
		ck_assert_ptr_nonnull(b[i]);
		ck_assert_str_eq(a[i], b[i]);
	}
	ck_assert_ptr_null(b[i]);
}

static void msg_eq(const struct proto_msg *a, const struct proto_msg *b)
{
	ck_assert_int_eq(a->type, b->type);
	switch (a->type) {
	case PROTO_HELLO:
		ck_assert_mem_eq(a->u.hello.nonce, b->u.hello.nonce,
				 PROTO_NONCE_SIZE);
		break;
	case PROTO_AUTH:
		ck_assert_mem_eq(a->u.auth.nonce, b->u.auth.nonce,
				 PROTO_NONCE_SIZE);
		ck_assert_mem_eq(a->u.auth.mac, b->u.auth.mac, PROTO_MAC_SIZE);
		ck_assert_str_eq(a->u.auth.name, b->u.auth.name);
		ck_assert_str_eq(a->u.auth.host, b->u.auth.host);
		ck_assert_uint_eq(a->u.auth.pid, b->u.auth.pid);
		ck_assert_uint_eq(a->u.auth.cores, b->u.auth.cores);
		ck_assert_uint_eq(a->u.auth.memory, b->u.auth.memory);
		ck_assert_str_eq(a->u.auth.job_id, b->u.auth.job_id);
		ck_assert_int_eq(a->u.auth.job_index, b->u.auth.job_index);
		ck_assert_uint_eq(a->u.auth.job_end, b->u.auth.job_end);
		ck_assert_uint_eq(a->u.auth.gpus, b->u.auth.gpus);
		ck_assert_uint_eq(a->u.auth.tasks, b->u.auth.tasks);
		break;
	case PROTO_WELCOME:
		ck_assert_uint_eq(a->u.welcome.worker_id, b->u.welcome.worker_id);
		ck_assert_uint_eq(a->u.welcome.heartbeat_ms,
				  b->u.welcome.heartbeat_ms);
		ck_assert_mem_eq(a->u.welcome.mac, b->u.welcome.mac,
				 PROTO_MAC_SIZE);
		break;
	case PROTO_RUN:
		ck_assert_uint_eq(a->u.run.task_id, b->u.run.task_id);
		ck_assert_uint_eq(a->u.run.attempt, b->u.run.attempt);
		ck_assert_uint_eq(a->u.run.has_index, b->u.run.has_index);
		ck_assert_int_eq(a->u.run.array_index, b->u.run.array_index);
		ck_assert_uint_eq(a->u.run.cores, b->u.run.cores);
		ck_assert_uint_eq(a->u.run.memory_limit, b->u.run.memory_limit);
		ck_assert_uint_eq(a->u.run.gpus, b->u.run.gpus);
		ck_assert_uint_eq(a->u.run.time_limit, b->u.run.time_limit);
		list_eq(a->u.run.argv, b->u.run.argv);
		list_eq(a->u.run.env, b->u.run.env);
		ck_assert_str_eq(a->u.run.cwd, b->u.run.cwd);
		ck_assert_str_eq(a->u.run.stdout_path, b->u.run.stdout_path);
		ck_assert_str_eq(a->u.run.stderr_path, b->u.run.stderr_path);
		ck_assert_str_eq(a->u.run.log_dir, b->u.run.log_dir);
		ck_assert_uint_eq(a->u.run.attempt, b->u.run.attempt);
		break;
	case PROTO_KILL:
		ck_assert_uint_eq(a->u.kill.task_id, b->u.kill.task_id);
		break;
	case PROTO_DONE:
		ck_assert_uint_eq(a->u.done.task_id, b->u.done.task_id);
		ck_assert_uint_eq(a->u.done.attempt, b->u.done.attempt);
		ck_assert_int_eq(a->u.done.exit_code, b->u.done.exit_code);
		ck_assert_int_eq(a->u.done.signal, b->u.done.signal);
		ck_assert_uint_eq(a->u.done.runtime_us, b->u.done.runtime_us);
		ck_assert_uint_eq(a->u.done.peak_memory, b->u.done.peak_memory);
		ck_assert_str_eq(a->u.done.reason, b->u.done.reason);
		ck_assert_uint_eq(a->u.done.spawn_us, b->u.done.spawn_us);
		ck_assert_uint_eq(a->u.done.output_us, b->u.done.output_us);
		break;
	case PROTO_HEARTBEAT:
		ck_assert_uint_eq(a->u.heartbeat.time_ms, b->u.heartbeat.time_ms);
		ck_assert_uint_eq(a->u.heartbeat.running, b->u.heartbeat.running);
		ck_assert_uint_eq(a->u.heartbeat.interval_ms,
				  b->u.heartbeat.interval_ms);
		break;
	case PROTO_SHUTDOWN:
		ck_assert_str_eq(a->u.shutdown.reason, b->u.shutdown.reason);
		break;
	case PROTO_REJOIN:
		ck_assert_uint_eq(a->u.rejoin.count, b->u.rejoin.count);
		ck_assert_ptr_nonnull(b->u.rejoin.claims);
		for (uint32_t i = 0; i < a->u.rejoin.count; i++) {
			const struct proto_claim *x = &a->u.rejoin.claims[i];
			const struct proto_claim *y = &b->u.rejoin.claims[i];
			ck_assert_uint_eq(x->task_id, y->task_id);
			ck_assert_uint_eq(x->attempt, y->attempt);
			ck_assert_uint_eq(x->running_us, y->running_us);
		}
		break;
	default:
		ck_abort_msg("unexpected type %d", a->type);
	}
}

static int msg_is_empty(const struct proto_msg *m)
{
	static const struct proto_msg zero;

	return memcmp(m, &zero, sizeof(zero)) == 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Decode a whole frame, expecting failure; returns the error text. */
static const char *decode_fails(const struct strbuf *sb)
{
	static struct err err;
	struct proto_msg m;

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(proto_decode((const uint8_t *)sb->buf, sb->len, &m,
				      &err), -1);
	ck_assert(msg_is_empty(&m));
	ck_assert_msg(err.text[0], "no error text");
	return err.text;
}

/* --- round trips --------------------------------------------------------- */

START_TEST(test_round_trip)
{
	for (int type = PROTO_HELLO; type <= PROTO_TYPE_MAX; type++) {
		for (int variant = 0; variant < 2; variant++) {
			struct strbuf sb = STRBUF_INIT;
			struct proto_msg in, out;
			struct err err = { "" };
			long size;

			make_msg(type, variant, &in);
			ck_assert_int_eq(proto_validate(&in, PROTO_MAX_FRAME,
							&err), 0);
			proto_encode(&sb, &in);
			size = proto_frame_size((uint8_t *)sb.buf, sb.len,
						PROTO_MAX_FRAME, &err);
			ck_assert_int_eq(size, (long)sb.len);
			ck_assert_msg(proto_decode((uint8_t *)sb.buf, sb.len,
						   &out, &err) == 0,
				      "%s: %s", proto_type_name(type), err.text);
			msg_eq(&in, &out);
			proto_msg_release(&out);
			ck_assert(msg_is_empty(&out));
			proto_msg_release(&out);	/* twice is harmless */
			strbuf_release(&sb);
		}
	}
}
END_TEST

START_TEST(test_header_layout)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg m;
	static const uint8_t want[] = {
		'C', 'L', 'S', 'T', PROTO_VERSION, PROTO_KILL, 0, 0,
		0, 0, 0, 8, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	};

	memset(&m, 0, sizeof(m));
	m.type = PROTO_KILL;
	m.u.kill.task_id = 0x0102030405060708ull;
	strbuf_addstr(&sb, "xy");	/* encode appends */
	proto_encode(&sb, &m);
	ck_assert_uint_eq(sb.len, 2 + sizeof(want));
	ck_assert_mem_eq(sb.buf + 2, want, sizeof(want));
	ck_assert_int_eq(sb.buf[sb.len], '\0');
	strbuf_release(&sb);
}
END_TEST

/* DONE's fields in their wire order, the times of version 4 last. */
START_TEST(test_done_layout)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg m, out;
	struct err err;
	static const uint8_t want[] = {
		'C', 'L', 'S', 'T', PROTO_VERSION, PROTO_DONE, 0, 0,
		0, 0, 0, 59,
		0, 0, 0, 0, 0, 0, 0, 9,		/* task_id */
		0, 0, 0, 2,			/* attempt */
		0, 0, 0, 1,			/* exit_code */
		0, 0, 0, 0,			/* signal */
		0, 0, 0, 0, 0, 0x0f, 0x42, 0x40,	/* runtime_us 1 s */
		0, 0, 0, 0, 0, 0, 0x10, 0,	/* peak_memory */
		0, 0, 0, 3, 'a', 'b', 'c',	/* reason */
		0, 0, 0, 0, 0, 0, 0x03, 0xe8,	/* spawn_us 1 ms */
		0, 0, 0, 0, 0, 0, 0, 0x2a,	/* output_us */
	};

	memset(&m, 0, sizeof(m));
	m.type = PROTO_DONE;
	m.u.done.task_id = 9;
	m.u.done.attempt = 2;
	m.u.done.exit_code = 1;
	m.u.done.runtime_us = 1000000;
	m.u.done.peak_memory = 4096;
	m.u.done.reason = LIT("abc");
	m.u.done.spawn_us = 1000;
	m.u.done.output_us = 42;
	proto_encode(&sb, &m);
	ck_assert_uint_eq(sb.len, sizeof(want));
	ck_assert_mem_eq(sb.buf, want, sizeof(want));
	ck_assert_int_eq(proto_decode((uint8_t *)sb.buf, sb.len, &out, &err), 0);
	ck_assert_uint_eq(out.u.done.spawn_us, 1000);
	ck_assert_uint_eq(out.u.done.output_us, 42);
	proto_msg_release(&out);

	/* A DONE that stops after its reason, as version 3 laid it out, is
	 * short of its times. */
	sb.len -= 16;
	sb.buf[11] = 59 - 16;
	ck_assert_str_eq(decode_fails(&sb), "frame DONE: field 'spawn_us' "
			 "truncated (needs 8 bytes, 0 left)");
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_null_strings_encode_empty)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg in, out;
	struct err err;

	memset(&in, 0, sizeof(in));
	in.type = PROTO_RUN;
	proto_encode(&sb, &in);
	ck_assert_int_eq(proto_decode((uint8_t *)sb.buf, sb.len, &out, &err), 0);
	ck_assert_ptr_nonnull(out.u.run.argv);
	ck_assert_ptr_null(out.u.run.argv[0]);
	ck_assert_ptr_nonnull(out.u.run.env);
	ck_assert_str_eq(out.u.run.cwd, "");
	ck_assert_str_eq(out.u.run.stdout_path, "");
	ck_assert_str_eq(out.u.run.stderr_path, "");
	proto_msg_release(&out);
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_max_sizes)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg in, out;
	struct err err;
	char *big = malloc(PROTO_MAX_STRING + 1);
	char **argv = calloc(PROTO_MAX_LIST + 1, sizeof(*argv));

	memset(big, 'x', PROTO_MAX_STRING);
	big[PROTO_MAX_STRING] = '\0';
	for (int i = 0; i < PROTO_MAX_LIST; i++)
		argv[i] = (i % 2) ? LIT("a") : LIT("");
	make_msg(PROTO_RUN, 0, &in);
	in.u.run.argv = argv;
	in.u.run.cwd = big;
	in.u.run.stdout_path = big;
	ck_assert_int_eq(proto_validate(&in, PROTO_MAX_FRAME, &err), 0);
	proto_encode(&sb, &in);
	ck_assert_int_eq(proto_frame_size((uint8_t *)sb.buf, sb.len,
					  PROTO_MAX_FRAME, &err), (long)sb.len);
	ck_assert_msg(proto_decode((uint8_t *)sb.buf, sb.len, &out, &err) == 0,
		      "%s", err.text);
	msg_eq(&in, &out);
	proto_msg_release(&out);

	/* One more element, one more byte: both refused, naming the field. */
	strbuf_reset(&sb);
	free(argv);
	argv = calloc(PROTO_MAX_LIST + 2, sizeof(*argv));
	for (int i = 0; i <= PROTO_MAX_LIST; i++)
		argv[i] = LIT("a");
	in.u.run.argv = argv;
	in.u.run.cwd = LIT("");
	in.u.run.stdout_path = LIT("");
	ck_assert_int_eq(proto_validate(&in, PROTO_MAX_FRAME, &err), -1);
	ck_assert_str_eq(err.text, "frame RUN: field 'argv' count 4097 exceeds 4096");
	proto_encode(&sb, &in);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame RUN: field 'argv' count 4097 exceeds 4096");
	strbuf_reset(&sb);

	free(big);
	big = malloc(PROTO_MAX_STRING + 2);
	memset(big, 'y', PROTO_MAX_STRING + 1);
	big[PROTO_MAX_STRING + 1] = '\0';
	make_msg(PROTO_DONE, 0, &in);
	in.u.done.reason = big;
	ck_assert_int_eq(proto_validate(&in, PROTO_MAX_FRAME, &err), -1);
	ck_assert_str_eq(err.text, "frame DONE: field 'reason' length 65537 exceeds 65536");
	proto_encode(&sb, &in);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame DONE: field 'reason' length 65537 exceeds 65536");
	strbuf_release(&sb);

	/* The receiver's payload maximum. */
	make_msg(PROTO_SHUTDOWN, 0, &in);
	in.u.shutdown.reason = LIT("0123456789");
	ck_assert_int_eq(proto_validate(&in, 13, &err), -1);
	ck_assert_str_eq(err.text, "frame SHUTDOWN: payload length 14 exceeds the maximum 13");
	proto_encode(&sb, &in);
	ck_assert_int_eq(proto_frame_size((uint8_t *)sb.buf, sb.len, 13, &err), -1);
	ck_assert_str_eq(err.text, "frame SHUTDOWN: payload length 14 exceeds the maximum 13");
	ck_assert_int_eq(proto_frame_size((uint8_t *)sb.buf, 12, 13, &err), -1);
	ck_assert_int_eq(proto_frame_size((uint8_t *)sb.buf, sb.len, 14, &err),
			 (long)sb.len);
	strbuf_release(&sb);
	free(big);
	free(argv);
}
END_TEST

/* --- truncation ---------------------------------------------------------- */

START_TEST(test_every_truncation)
{
	for (int type = PROTO_HELLO; type <= PROTO_TYPE_MAX; type++) {
		struct strbuf sb = STRBUF_INIT, cut = STRBUF_INIT;
		struct proto_msg in, out;
		struct err err;

		make_msg(type, 0, &in);
		proto_encode(&sb, &in);

		/* A stream cut short: "need more", and no decode. */
		for (size_t n = 0; n < sb.len; n++) {
			uint8_t *copy = malloc(n ? n : 1);

			memcpy(copy, sb.buf, n);	/* exact-size: ASan sees overreads */
			ck_assert_int_eq(proto_frame_size(copy, n, PROTO_MAX_FRAME,
							  &err), 0);
			ck_assert_int_eq(proto_decode(copy, n, &out, &err), -1);
			ck_assert(msg_is_empty(&out));
			free(copy);
		}

		/* A frame whose header claims fewer payload bytes: each field
		 * in turn is found truncated. */
		for (size_t plen = 0; plen < sb.len - PROTO_HEADER_SIZE; plen++) {
			uint8_t *copy = malloc(PROTO_HEADER_SIZE + plen);

			memcpy(copy, sb.buf, PROTO_HEADER_SIZE + plen);
			put32(copy + 8, (uint32_t)plen);
			ck_assert_int_eq(proto_frame_size(copy, PROTO_HEADER_SIZE + plen,
							  PROTO_MAX_FRAME, &err),
					 (long)(PROTO_HEADER_SIZE + plen));
			memset(&err, 0, sizeof(err));
			ck_assert_int_eq(proto_decode(copy, PROTO_HEADER_SIZE + plen,
						      &out, &err), -1);
			ck_assert(msg_is_empty(&out));
			ck_assert_msg(strstr(err.text, "truncated") ||
				      strstr(err.text, "past the end"),
				      "%s", err.text);
			ck_assert_msg(strncmp(err.text, "frame ", 6) == 0, "%s",
				      err.text);
			free(copy);
		}
		strbuf_release(&cut);
		strbuf_release(&sb);
	}
}
END_TEST

START_TEST(test_stream_of_frames)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg in, out;
	struct err err;
	size_t off = 0;
	int type = PROTO_HELLO, seen = 0;

	for (int t = PROTO_HELLO; t <= PROTO_TYPE_MAX; t++) {
		make_msg(t, t % 2, &in);
		proto_encode(&sb, &in);
	}
	while (off < sb.len) {
		long n = proto_frame_size((uint8_t *)sb.buf + off, sb.len - off,
					  PROTO_MAX_FRAME, &err);

		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(proto_decode((uint8_t *)sb.buf + off, (size_t)n,
					      &out, &err), 0);
		ck_assert_int_eq(out.type, type);
		make_msg(type, type % 2, &in);
		msg_eq(&in, &out);
		proto_msg_release(&out);
		off += (size_t)n;
		type++;
		seen++;
	}
	ck_assert_int_eq(seen, PROTO_TYPE_MAX);
	strbuf_release(&sb);
}
END_TEST

/* --- malformed frames ---------------------------------------------------- */

START_TEST(test_bad_headers)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg in;
	struct err err;

	make_msg(PROTO_HEARTBEAT, 0, &in);
	proto_encode(&sb, &in);

	sb.buf[0] = 'X';
	ck_assert_int_eq(proto_frame_size((uint8_t *)sb.buf, 4, PROTO_MAX_FRAME,
					  &err), -1);
	ck_assert_str_eq(err.text, "bad frame magic 0x584c5354 (expected 0x434c5354 \"CLST\")");
	ck_assert_str_eq(decode_fails(&sb), err.text);
	sb.buf[0] = 'C';

	/* an older peer is refused at the header, with a word on why */
	sb.buf[4] = 1;
	ck_assert_int_eq(proto_frame_size((uint8_t *)sb.buf, 5, PROTO_MAX_FRAME,
					  &err), -1);
	ck_assert_str_eq(err.text, "unsupported protocol version 1 (this side "
			 "speaks 4: run the same release of cluster on both sides)");
	ck_assert_str_eq(decode_fails(&sb), err.text);
	sb.buf[4] = 2;
	ck_assert_str_eq(decode_fails(&sb), "unsupported protocol version 2 "
			 "(this side speaks 4: run the same release of cluster "
			 "on both sides)");
	/* version 3 sent DONE without its spawn and output times, and
	 * HEARTBEAT without the interval */
	sb.buf[4] = 3;
	ck_assert_str_eq(decode_fails(&sb), "unsupported protocol version 3 "
			 "(this side speaks 4: run the same release of cluster "
			 "on both sides)");
	sb.buf[4] = PROTO_VERSION;

	sb.buf[5] = 0;
	ck_assert_str_eq(decode_fails(&sb), "unknown frame type 0");
	sb.buf[5] = PROTO_TYPE_MAX + 1;
	ck_assert_str_eq(decode_fails(&sb), "unknown frame type 10");
	sb.buf[5] = (char)0xff;
	ck_assert_str_eq(decode_fails(&sb), "unknown frame type 255");
	sb.buf[5] = PROTO_HEARTBEAT;

	sb.buf[7] = 1;
	ck_assert_str_eq(decode_fails(&sb), "frame HEARTBEAT: flags 0x0001 must be 0");
	sb.buf[7] = 0;

	/* Length pointing past the end of what was given. */
	put32((uint8_t *)sb.buf + 8, 17);
	ck_assert_int_eq(proto_frame_size((uint8_t *)sb.buf, sb.len,
					  PROTO_MAX_FRAME, &err), 0);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame HEARTBEAT: payload length 17 does not match the 16 bytes given");
	put32((uint8_t *)sb.buf + 8, UINT32_MAX);
	ck_assert_int_eq(proto_frame_size((uint8_t *)sb.buf, sb.len,
					  PROTO_MAX_FRAME, &err), -1);
	ck_assert_str_eq(err.text, "frame HEARTBEAT: payload length 4294967295 exceeds the maximum 1048576");
	put32((uint8_t *)sb.buf + 8, 16);

	/* Trailing bytes inside the frame. */
	strbuf_addstr(&sb, "zz");
	put32((uint8_t *)sb.buf + 8, 18);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame HEARTBEAT: 2 trailing bytes after the last field");
	/* ...and a frame shorter than its header. */
	sb.len = 7;
	ck_assert_str_eq(decode_fails(&sb),
			 "frame truncated: 7 bytes, the header alone needs 12");
	strbuf_release(&sb);
}
END_TEST

/* Build a RUN frame by hand so fields can hold what no encoder writes. */
static void raw_run_prefix(struct strbuf *sb)
{
	uint8_t fixed[8 + 4 + 1 + 8 + 4 + 8 + 8] = { 0 };

	strbuf_add(sb, "CLST\004\004\000\000\000\000\000\000", 12);
	strbuf_add(sb, fixed, sizeof(fixed));
}

static void raw_u32(struct strbuf *sb, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	strbuf_add(sb, b, 4);
}

static void raw_finish(struct strbuf *sb)
{
	put32((uint8_t *)sb->buf + 8, (uint32_t)(sb->len - PROTO_HEADER_SIZE));
}

START_TEST(test_bad_fields)
{
	struct strbuf sb = STRBUF_INIT;

	/* A list count far above the limit, with no bytes to back it. */
	raw_run_prefix(&sb);
	raw_u32(&sb, 70000);
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame RUN: field 'argv' count 70000 exceeds 4096");

	/* A count within the limit but past the end. */
	strbuf_reset(&sb);
	raw_run_prefix(&sb);
	raw_u32(&sb, 4000);
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame RUN: field 'argv' count 4000 runs past the end of the frame (0 bytes left)");

	/* A string with a NUL byte inside. */
	strbuf_reset(&sb);
	raw_run_prefix(&sb);
	raw_u32(&sb, 2);
	raw_u32(&sb, 2);
	strbuf_add(&sb, "ls", 2);
	raw_u32(&sb, 3);
	strbuf_add(&sb, "a\0b", 3);
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame RUN: field 'argv[1]' contains a NUL byte");

	/* A string length past the end, and one above the maximum. */
	strbuf_reset(&sb);
	raw_run_prefix(&sb);
	raw_u32(&sb, 1);
	raw_u32(&sb, 100);
	strbuf_add(&sb, "abc", 3);
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame RUN: field 'argv[0]' length 100 runs past the end of the frame (3 bytes left)");
	strbuf_reset(&sb);
	raw_run_prefix(&sb);
	raw_u32(&sb, 0);
	raw_u32(&sb, 0);
	raw_u32(&sb, UINT32_MAX);
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame RUN: field 'cwd' length 4294967295 exceeds 65536");

	/* has_index is a boolean. */
	strbuf_reset(&sb);
	raw_run_prefix(&sb);
	sb.buf[PROTO_HEADER_SIZE + 12] = 2;
	raw_u32(&sb, 0);
	raw_u32(&sb, 0);
	raw_u32(&sb, 0);
	raw_u32(&sb, 0);
	raw_u32(&sb, 0);
	raw_u32(&sb, 0);		/* gpus */
	raw_u32(&sb, 0);		/* log_dir */
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame RUN: field 'has_index' value 2 is not 0 or 1");
	sb.buf[PROTO_HEADER_SIZE + 12] = 1;
	{
		struct proto_msg m;
		struct err err;

		ck_assert_int_eq(proto_decode((uint8_t *)sb.buf, sb.len, &m,
					      &err), 0);
		ck_assert_uint_eq(m.u.run.has_index, 1);
		proto_msg_release(&m);
	}
	strbuf_release(&sb);
}
END_TEST

/* REJOIN: the claim count is bounded and backed by bytes before anything
 * is allocated; a NULL list goes out empty; the largest list fits. */
START_TEST(test_rejoin_frames)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg in, out;
	struct err err = { "" };
	struct proto_claim *many = calloc(PROTO_MAX_LIST + 1, sizeof(*many));

	/* A count far above the limit, with no bytes to back it. */
	strbuf_add(&sb, "CLST\004\011\000\000\000\000\000\000", 12);
	raw_u32(&sb, 70000);
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame REJOIN: field 'claims' count 70000 exceeds 4096");

	/* Within the limit, but the frame ends after one and a half. */
	strbuf_reset(&sb);
	strbuf_add(&sb, "CLST\004\011\000\000\000\000\000\000", 12);
	raw_u32(&sb, 2);
	for (int i = 0; i < 30; i++)
		strbuf_addch(&sb, (char)i);
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame REJOIN: field 'claims' count 2 runs past the end of the frame (30 bytes left)");

	/* One claim and a byte too many. */
	strbuf_reset(&sb);
	strbuf_add(&sb, "CLST\004\011\000\000\000\000\000\000", 12);
	raw_u32(&sb, 1);
	for (int i = 0; i < 21; i++)
		strbuf_addch(&sb, (char)i);
	raw_finish(&sb);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame REJOIN: 1 trailing bytes after the last field");

	/* The fields in their order: task, attempt, microseconds run. */
	strbuf_setlen(&sb, sb.len - 1);
	raw_finish(&sb);
	ck_assert_int_eq(proto_decode((uint8_t *)sb.buf, sb.len, &out, &err), 0);
	ck_assert_uint_eq(out.u.rejoin.count, 1);
	ck_assert_uint_eq(out.u.rejoin.claims[0].task_id, 0x0001020304050607ull);
	ck_assert_uint_eq(out.u.rejoin.claims[0].attempt, 0x08090a0bu);
	ck_assert_uint_eq(out.u.rejoin.claims[0].running_us,
			  0x0c0d0e0f10111213ull);
	proto_msg_release(&out);

	/* No list given: sent as none, decoded as an empty list. */
	memset(&in, 0, sizeof(in));
	in.type = PROTO_REJOIN;
	in.u.rejoin.count = 5;
	strbuf_reset(&sb);
	proto_encode(&sb, &in);
	ck_assert_uint_eq(sb.len, PROTO_HEADER_SIZE + 4);
	ck_assert_int_eq(proto_decode((uint8_t *)sb.buf, sb.len, &out, &err), 0);
	ck_assert_uint_eq(out.u.rejoin.count, 0);
	ck_assert_ptr_nonnull(out.u.rejoin.claims);
	proto_msg_release(&out);

	/* The largest list fits a frame; one more is refused both ways. */
	for (uint32_t i = 0; i <= PROTO_MAX_LIST; i++)
		many[i] = (struct proto_claim){ i + 1, 1 + i % 3, i * 1000ull };
	in.u.rejoin.claims = many;
	in.u.rejoin.count = PROTO_MAX_LIST;
	ck_assert_int_eq(proto_validate(&in, PROTO_MAX_FRAME, &err), 0);
	strbuf_reset(&sb);
	proto_encode(&sb, &in);
	ck_assert_int_eq(proto_decode((uint8_t *)sb.buf, sb.len, &out, &err), 0);
	msg_eq(&in, &out);
	proto_msg_release(&out);
	in.u.rejoin.count = PROTO_MAX_LIST + 1;
	ck_assert_int_eq(proto_validate(&in, PROTO_MAX_FRAME, &err), -1);
	ck_assert_str_eq(err.text, "frame REJOIN: field 'claims' count 4097 exceeds 4096");
	strbuf_reset(&sb);
	proto_encode(&sb, &in);
	ck_assert_str_eq(decode_fails(&sb),
			 "frame REJOIN: field 'claims' count 4097 exceeds 4096");
	free(many);
	strbuf_release(&sb);
}
END_TEST

/* --- fuzzing ------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: fixed seed, so a failure replays */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void fuzz_one(const uint8_t *src, size_t n)
{
	uint8_t *buf = malloc(n ? n : 1);	/* exact size for ASan */
	struct proto_msg m;
	struct err err;
	long size;

	memcpy(buf, src, n);
	size = proto_frame_size(buf, n, (uint32_t)(rng() % (2 * PROTO_MAX_FRAME)),
				&err);
	ck_assert_int_ge(size, -1);
	ck_assert_int_le(size, (long)n);
	if (proto_decode(buf, size > 0 ? (size_t)size : n, &m, &err) == 0) {
		ck_assert_int_ge(m.type, PROTO_HELLO);
		ck_assert_int_le(m.type, PROTO_TYPE_MAX);
		proto_msg_release(&m);
	} else {
		ck_assert(msg_is_empty(&m));
		ck_assert(err.text[0] != '\0');
	}
	free(buf);
}

START_TEST(test_fuzz_random_bytes)
{
	uint8_t buf[256];

	rng_state = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 100000; i++) {
		size_t n = rng() % sizeof(buf);

		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)rng();
		/* Half the time give it a valid header so payloads are
		 * exercised too. */
		if (n >= PROTO_HEADER_SIZE && (i & 1)) {
			memcpy(buf, "CLST", 4);
			buf[4] = PROTO_VERSION;
			buf[5] = (uint8_t)(1 + rng() % PROTO_TYPE_MAX);
			buf[6] = buf[7] = 0;
			put32(buf + 8, (uint32_t)(rng() % (n - PROTO_HEADER_SIZE + 3)));
		}
		fuzz_one(buf, n);
	}
}
END_TEST

START_TEST(test_fuzz_mutations)
{
	struct strbuf frames[PROTO_TYPE_MAX + 1];

	rng_state = 12345;
	for (int t = PROTO_HELLO; t <= PROTO_TYPE_MAX; t++) {
		struct proto_msg m;

		strbuf_init(&frames[t], 0);
		make_msg(t, 0, &m);
		proto_encode(&frames[t], &m);
	}
	for (int i = 0; i < 100000; i++) {
		struct strbuf *f = &frames[1 + rng() % PROTO_TYPE_MAX];
		uint8_t *buf = malloc(f->len + 8);
		size_t n = f->len;
		int flips = 1 + (int)(rng() % 4);

		memcpy(buf, f->buf, f->len);
		for (int k = 0; k < flips; k++) {
			size_t at = rng() % n;

			/* Favour the length bytes, where bugs hide. */
			if (rng() % 3 == 0)
				buf[at] = (uint8_t)rng();
			else
				buf[at] ^= (uint8_t)(1u << (rng() % 8));
		}
		if (rng() % 4 == 0)
			n = rng() % (f->len + 8);
		fuzz_one(buf, n);
		free(buf);
	}
	for (int t = PROTO_HELLO; t <= PROTO_TYPE_MAX; t++)
		strbuf_release(&frames[t]);
}
END_TEST

/* --- handshake ----------------------------------------------------------- */

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

START_TEST(test_mac)
{
	const char *token = "0123456789abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcdef";
	const char *other = "1123456789abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcdef";
	uint8_t sn[PROTO_NONCE_SIZE], cn[PROTO_NONCE_SIZE];
	uint8_t want[PROTO_MAC_SIZE], got[PROTO_MAC_SIZE], mac[PROTO_MAC_SIZE];

	for (int i = 0; i < PROTO_NONCE_SIZE; i++) {
		sn[i] = (uint8_t)i;
		cn[i] = (uint8_t)(32 + i);
	}

	/* The construction documented in cluster-protocol(7). */
	unhex("afee34e988ab4ff8c03ff99134355490035228388ba68f435b5c947075c0620d",
	      want, sizeof(want));
	proto_mac(token, "worker", sn, cn, got);
	ck_assert_mem_eq(got, want, PROTO_MAC_SIZE);
	ck_assert(proto_mac_equal(got, want));
	unhex("7ef9ce993d9d854d386c72f5279e8ff894da8556b5c6d535f4645f7072e553d4",
	      want, sizeof(want));
	proto_mac(token, "server", cn, sn, got);
	ck_assert(proto_mac_equal(got, want));

	/* The server checks the worker's proof with the same token... */
	proto_mac(token, "worker", sn, cn, mac);
	proto_mac(token, "worker", sn, cn, got);
	ck_assert(proto_mac_equal(mac, got));
	/* ...a wrong token, swapped nonces or the other role fail. */
	proto_mac(other, "worker", sn, cn, got);
	ck_assert(!proto_mac_equal(mac, got));
	proto_mac(token, "worker", cn, sn, got);
	ck_assert(!proto_mac_equal(mac, got));
	proto_mac(token, "server", sn, cn, got);
	ck_assert(!proto_mac_equal(mac, got));
	/* One flipped bit anywhere is a mismatch. */
	for (int i = 0; i < PROTO_MAC_SIZE * 8; i++) {
		memcpy(got, mac, sizeof(got));
		got[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert(!proto_mac_equal(mac, got));
	}
}
END_TEST

START_TEST(test_random)
{
	uint8_t a[PROTO_NONCE_SIZE] = { 0 }, b[PROTO_NONCE_SIZE] = { 0 };

	ck_assert_int_eq(proto_random(a, sizeof(a)), 0);
	ck_assert_int_eq(proto_random(b, sizeof(b)), 0);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert_int_eq(proto_random(a, 0), 0);
}
END_TEST

START_TEST(test_type_names)
{
	ck_assert_str_eq(proto_type_name(PROTO_HELLO), "HELLO");
	ck_assert_str_eq(proto_type_name(PROTO_RUN), "RUN");
	ck_assert_str_eq(proto_type_name(PROTO_SHUTDOWN), "SHUTDOWN");
	ck_assert_str_eq(proto_type_name(PROTO_REJOIN), "REJOIN");
	ck_assert_str_eq(proto_type_name(0), "unknown");
	ck_assert_str_eq(proto_type_name(-3), "unknown");
	ck_assert_str_eq(proto_type_name(PROTO_TYPE_MAX + 1), "unknown");
}
END_TEST

/* proto_read hands out whole frames one at a time, waits on a partial one
 * without consuming it, and refuses garbage without consuming it. */
START_TEST(test_read_evbuffer)
{
	struct strbuf sb = STRBUF_INIT;
	struct proto_msg a = { .type = PROTO_KILL }, b = { .type = PROTO_KILL };
	struct proto_msg m;
	struct err err = { "" };
	struct evbuffer *in = evbuffer_new();

	a.u.kill.task_id = 7;
	b.u.kill.task_id = 8;
	proto_encode(&sb, &a);
	size_t one = sb.len;
	proto_encode(&sb, &b);

	ck_assert_int_eq(proto_read(in, PROTO_MAX_FRAME, &m, &err), 0);
	evbuffer_add(in, sb.buf, one - 1);
	ck_assert_int_eq(proto_read(in, PROTO_MAX_FRAME, &m, &err), 0);
	ck_assert_uint_eq(evbuffer_get_length(in), one - 1);
	evbuffer_add(in, sb.buf + one - 1, sb.len - one + 1);
	ck_assert_int_eq(proto_read(in, PROTO_MAX_FRAME, &m, &err), 1);
	ck_assert_int_eq(m.type, PROTO_KILL);
	ck_assert_uint_eq(m.u.kill.task_id, 7);
	proto_msg_release(&m);
	ck_assert_int_eq(proto_read(in, PROTO_MAX_FRAME, &m, &err), 1);
	ck_assert_uint_eq(m.u.kill.task_id, 8);
	proto_msg_release(&m);
	ck_assert_int_eq(proto_read(in, PROTO_MAX_FRAME, &m, &err), 0);

	evbuffer_add(in, "GET / HTTP/1.1\r\n\r\n", 18);
	ck_assert_int_eq(proto_read(in, PROTO_MAX_FRAME, &m, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "magic"));
	ck_assert_uint_eq(evbuffer_get_length(in), 18);

	evbuffer_free(in);
	strbuf_release(&sb);
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("frames");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_header_layout);
	tcase_add_test(tc, test_done_layout);
	tcase_add_test(tc, test_null_strings_encode_empty);
	tcase_add_test(tc, test_max_sizes);
	tcase_add_test(tc, test_every_truncation);
	tcase_add_test(tc, test_stream_of_frames);
	tcase_add_test(tc, test_read_evbuffer);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_bad_fields);
	tcase_add_test(tc, test_rejoin_frames);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fuzz_random_bytes);
	tcase_add_test(tc, test_fuzz_mutations);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshake");
	tcase_add_test(tc, test_mac);
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_type_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

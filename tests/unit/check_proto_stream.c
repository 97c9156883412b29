/*
 * The worker protocol read from a stream by a receiver that owes a
 * stranger nothing: a few bytes that cannot begin a frame are refused as
 * soon as they are seen, not after a header's worth arrives.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto/proto.h"

static int read_bytes(const void *bytes, size_t n, struct err *err)
{
	struct evbuffer *in = evbuffer_new();
	struct proto_msg m;
	int rc;

	ck_assert_ptr_nonnull(in);
	evbuffer_add(in, bytes, n);
	rc = proto_read(in, PROTO_MAX_FRAME, &m, err);
	ck_assert_uint_eq(evbuffer_get_length(in), n);
	if (rc > 0)
		proto_msg_release(&m);
	evbuffer_free(in);
	return rc;
}

/* One byte off the magic is enough to refuse. */
START_TEST(test_short_garbage_refused)
{
	static const char *const garbage[] = {
		"x", "\n", "GET", "CLSx", "CX", "\0\0\0",
	};
	static const size_t len[] = { 1, 1, 3, 4, 2, 3 };

	for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
		struct err err = { "" };

		ck_assert_int_eq(read_bytes(garbage[i], len[i], &err), -1);
		ck_assert_ptr_nonnull(strstr(err.text, "magic"));
	}
}
END_TEST

/* Every prefix of a good header waits for more; a bad field in a prefix
 * is refused once its byte is in. */
START_TEST(test_prefixes)
{
	static const uint8_t hdr[PROTO_HEADER_SIZE] = {
		0x43, 0x4c, 0x53, 0x54, PROTO_VERSION, PROTO_KILL, 0, 0,
		0, 0, 0, 8,
	};
	uint8_t bad[PROTO_HEADER_SIZE];
	struct err err = { "" };

	ck_assert_int_eq(read_bytes("", 0, &err), 0);
	for (size_t n = 1; n <= PROTO_HEADER_SIZE; n++)
		ck_assert_int_eq(read_bytes(hdr, n, &err), 0);
	memcpy(bad, hdr, sizeof(bad));
	bad[4] = 99;
	ck_assert_int_eq(read_bytes(bad, 5, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "version"));
	memcpy(bad, hdr, sizeof(bad));
	bad[5] = 0;
	ck_assert_int_eq(read_bytes(bad, 6, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "type"));
}
END_TEST

/* The longest AUTH a worker sends (a 299-byte name, a 255-byte host
 * name, a long job id) fits the limit before the handshake. */
START_TEST(test_auth_fits)
{
	char name[300], host[256], job[256];
	struct proto_msg m = { .type = PROTO_AUTH };
	struct err err = { "" };

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	memset(job, '9', sizeof(job) - 1);
	job[sizeof(job) - 1] = '\0';
	m.u.auth.name = name;
	m.u.auth.host = host;
	m.u.auth.job_id = job;
	ck_assert_int_eq(proto_validate(&m, PROTO_MAX_AUTH, &err), 0);
}
END_TEST

static Suite *stream_suite(void)
{
	Suite *s = suite_create("proto_stream");
	TCase *tc = tcase_create("prefix");

	tcase_add_test(tc, test_short_garbage_refused);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_auth_fits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stream_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

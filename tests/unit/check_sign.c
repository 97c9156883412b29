/* sign: the HTTP API's challenge proof, request signatures and replay
 * cache, against values computed apart (Python's hmac and hashlib). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sign.h"

#define TOKEN "0123456789abcdef0123456789abcdef"
#define A32 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B32 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C32 "cccccccccccccccccccccccccccccccc"
#define BODY "{\"argv\":[\"true\"]}"
#define BODY_HASH "5dc92c0de02ce7791871a8591eef46e18b9ff5eb00b0703070fc9452d41cc083"
#define MAC "2dc13f45e9fe0c4815ef8d25e929231cb0872ea4b4a977bf603a9f6feb78b26c"
#define NOW 1700000000

START_TEST(proof_known_answer)
{
	char p[SIGN_HEX + 1];

	sign_proof(TOKEN, 4242, A32, B32, p);
	ck_assert_str_eq(p, "e9d5726a07e60ebdf04d2ada2f4eead45a0b4281c13115b9fdbad5ee6a7f59ad");
	ck_assert_int_eq(sign_proof_ok(TOKEN, 4242, A32, B32, p), 1);
	ck_assert_int_eq(sign_proof_ok(TOKEN "x", 4242, A32, B32, p), 0);
	ck_assert_int_eq(sign_proof_ok(TOKEN, 4243, A32, B32, p), 0);
	ck_assert_int_eq(sign_proof_ok(TOKEN, 4242, B32, A32, p), 0);
	ck_assert_int_eq(sign_proof_ok(TOKEN, 4242, A32, B32, NULL), 0);
	ck_assert_int_eq(sign_proof_ok(TOKEN, 4242, A32, "short", p), 0);
	ck_assert_int_eq(sign_proof_ok(TOKEN, 4242, A32, NULL, p), 0);
	p[0] = p[0] == '6' ? '7' : '6';
	ck_assert_int_eq(sign_proof_ok(TOKEN, 4242, A32, B32, p), 0);
	p[0] = 'G';
	ck_assert_int_eq(sign_proof_ok(TOKEN, 4242, A32, B32, p), 0);
}
END_TEST

START_TEST(nonces_differ)
{
	char a[SIGN_NONCE_HEX + 1], b[SIGN_NONCE_HEX + 1];

	ck_assert_int_eq(sign_nonce(a), 0);
	ck_assert_int_eq(sign_nonce(b), 0);
	ck_assert_uint_eq(strlen(a), SIGN_NONCE_HEX);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), SIGN_NONCE_HEX);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(body_hash)
{
	char h[SIGN_HEX + 1];

	sign_body_hash(BODY, strlen(BODY), h);
	ck_assert_str_eq(h, BODY_HASH);
	sign_body_hash(NULL, 0, h);
	ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

static const struct sign_request req = {
	.method = "POST", .target = "/api/v1/tasks", .ts = NOW, .nonce = C32,
	.length = 17, .body_hash = BODY_HASH,
};

START_TEST(header_known_answer_and_round_trip)
{
	struct strbuf h = STRBUF_INIT;
	struct sign_auth a;
	struct err err = { "" };

	sign_header(TOKEN, &req, &h);
	ck_assert_str_eq(h.buf, "Cluster-HMAC ts=1700000000, nonce=" C32
			 ", body=" BODY_HASH ", mac=" MAC);
	ck_assert_int_eq(sign_is_signed(h.buf), 1);
	ck_assert_int_eq(sign_parse(h.buf, &a, &err), 0);
	ck_assert_int_eq(a.ts, NOW);
	ck_assert_str_eq(a.nonce, C32);
	ck_assert_str_eq(a.body_hash, BODY_HASH);
	ck_assert_str_eq(a.mac, MAC);
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks", 17, &a, NOW, &err), 0);
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks", 17, &a,
				     NOW + SIGN_WINDOW, &err), 0);
	strbuf_release(&h);
}
END_TEST

/* Each thing a signature covers, changed, makes it fail. */
START_TEST(verify_refuses_what_it_does_not_sign)
{
	struct strbuf h = STRBUF_INIT;
	struct sign_auth a, b;
	struct err err = { "" };

	sign_header(TOKEN, &req, &h);
	ck_assert_int_eq(sign_parse(h.buf, &a, &err), 0);
	ck_assert_int_eq(sign_verify("another-token-of-32-characters!!", "POST",
				     "/api/v1/tasks", 17, &a, NOW, &err), -1);
	ck_assert_str_eq(err.text, "bad signature");
	ck_assert_int_eq(sign_verify(TOKEN, "GET", "/api/v1/tasks", 17, &a, NOW, &err), -1);
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks?x=1", 17, &a, NOW, &err), -1);
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks", 18, &a, NOW, &err), -1);
	b = a;
	b.ts++;
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks", 17, &b, NOW, &err), -1);
	b = a;
	b.nonce[0] = 'd';
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks", 17, &b, NOW, &err), -1);
	b = a;
	b.body_hash[0] = '0';
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks", 17, &b, NOW, &err), -1);
	/* A good mac out of its time. */
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks", 17, &a,
				     NOW + SIGN_WINDOW + 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "off the scheduler's clock"));
	ck_assert_int_eq(sign_verify(TOKEN, "POST", "/api/v1/tasks", 17, &a,
				     NOW - SIGN_WINDOW - 1, &err), -1);
	strbuf_release(&h);
}
END_TEST

START_TEST(parse_refuses_malformed)
{
	static const char *const bad[] = {
		"Bearer " TOKEN,
		"Cluster-HMACts=1",
		"Cluster-HMAC",
		"Cluster-HMAC ts=1, nonce=" C32 ", body=" BODY_HASH,
		"Cluster-HMAC ts=1, nonce=" C32 ", body=" BODY_HASH ", mac=" MAC ", x=1",
		"Cluster-HMAC ts=1, ts=1, nonce=" C32 ", body=" BODY_HASH ", mac=" MAC,
		"Cluster-HMAC ts=-1, nonce=" C32 ", body=" BODY_HASH ", mac=" MAC,
		"Cluster-HMAC ts=1x, nonce=" C32 ", body=" BODY_HASH ", mac=" MAC,
		"Cluster-HMAC ts=, nonce=" C32 ", body=" BODY_HASH ", mac=" MAC,
		"Cluster-HMAC ts=1, nonce=" A32 "a, body=" BODY_HASH ", mac=" MAC,
		"Cluster-HMAC ts=1, nonce=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, body="
			BODY_HASH ", mac=" MAC,
		"Cluster-HMAC ts=1, nonce=" C32 ", body=" BODY_HASH ", mac=" C32,
		"Cluster-HMAC ts=1 nonce=" C32 ", body=" BODY_HASH ", mac=" MAC,
	};
	struct sign_auth a;
	struct err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.text[0] = '\0';
		ck_assert_msg(sign_parse(bad[i], &a, &err) == -1, "took '%s'", bad[i]);
		ck_assert_msg(!strncmp(err.text, "signature: ", 11), "'%s': %s",
			      bad[i], err.text);
	}
	/* The scheme's name is case-insensitive; spacing is free. */
	ck_assert_int_eq(sign_parse("cluster-hmac  mac=" MAC ",body=" BODY_HASH
				    " ,  nonce=" C32 ",ts=5", &a, &err), 0);
	ck_assert_int_eq(a.ts, 5);
}
END_TEST

static struct sign_auth auth_at(int64_t ts, unsigned n)
{
	struct sign_auth a = { .ts = ts };

	snprintf(a.nonce, sizeof(a.nonce), "%032x", n);
	return a;
}

START_TEST(replay_seen_once)
{
	struct sign_replay *r = sign_replay_create();
	struct sign_auth a = auth_at(NOW, 1), b = auth_at(NOW, 2);

	ck_assert_int_eq(sign_replay_add(r, &a, NOW), 0);
	ck_assert_int_eq(sign_replay_add(r, &a, NOW), -1);
	ck_assert_int_eq(sign_replay_add(r, &b, NOW + 1), 0);
	ck_assert_int_eq(sign_replay_add(r, &a, NOW + SIGN_WINDOW), -1);
	/* Out of the window it is forgotten: verify refuses its time then. */
	ck_assert_int_eq(sign_replay_add(r, &a, NOW + SIGN_WINDOW + 2), 0);
	sign_replay_destroy(r);
	sign_replay_destroy(NULL);
}
END_TEST

START_TEST(replay_full_refuses_then_recovers)
{
	struct sign_replay *r = sign_replay_create();
	struct sign_auth a;

	for (unsigned i = 0; i < SIGN_REPLAY_MAX; i++) {
		a = auth_at(NOW, i);
		ck_assert_int_eq(sign_replay_add(r, &a, NOW), 0);
	}
	a = auth_at(NOW, SIGN_REPLAY_MAX);
	ck_assert_int_eq(sign_replay_add(r, &a, NOW), -2);
	a = auth_at(NOW, 7);
	ck_assert_int_eq(sign_replay_add(r, &a, NOW), -1);
	/* Once the old ones are out of the window, room again. */
	a = auth_at(NOW + SIGN_WINDOW + 1, SIGN_REPLAY_MAX);
	ck_assert_int_eq(sign_replay_add(r, &a, NOW + SIGN_WINDOW + 1), 0);
	a = auth_at(NOW + SIGN_WINDOW + 1, 7);
	ck_assert_int_eq(sign_replay_add(r, &a, NOW + SIGN_WINDOW + 1), 0);
	sign_replay_destroy(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("sign");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, proof_known_answer);
	tcase_add_test(tc, nonces_differ);
	tcase_add_test(tc, body_hash);
	tcase_add_test(tc, header_known_answer_and_round_trip);
	tcase_add_test(tc, verify_refuses_what_it_does_not_sign);
	tcase_add_test(tc, parse_refuses_malformed);
	tcase_add_test(tc, replay_seen_once);
	tcase_add_test(tc, replay_full_refuses_then_recovers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

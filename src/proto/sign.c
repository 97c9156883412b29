/*
 * sign: the HTTP API's request signatures (sign.h has the scheme).
 *
 * Why signatures and not the bearer token.  A client that sends the
 * token hands it to whoever answers on the address it was given, and a
 * stale address file names a port anyone may bind.  Here the client
 * first asks for proof that the server knows the token (a challenge on
 * its own nonce), then sends per request a mac that is good for that
 * request only: its method, target, body, a timestamp within
 * SIGN_WINDOW and a nonce the server remembers for as long as the
 * timestamp is good.  The labels ("cluster-http-1 server", "... request")
 * keep the two macs, and the worker protocol's ("cluster-auth-1"), from
 * standing for one another: the public challenge cannot be made to sign
 * a request.
 *
 * The replay cache is a ring in arrival order with a chained hash over
 * it: entries leave from the front once their timestamp is out of the
 * window (a replay of them is refused for its time then), and a full
 * ring refuses new signatures rather than forgetting ones still good.
 */
#include "proto/sign.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static const char hexdigits[] = "0123456789abcdef";

static void to_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdigits[p[i] >> 4];
		out[2 * i + 1] = hexdigits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* Exactly n lowercase hex digits. */
static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!s[i] || !strchr(hexdigits, s[i]))
			return 0;
	return s[i] == '\0';
}

int sign_nonce(char out[SIGN_NONCE_HEX + 1])
{
	uint8_t b[SIGN_NONCE_HEX / 2];

	if (RAND_bytes(b, (int)sizeof(b)) != 1) {
		out[0] = '\0';
		errno = EIO;
		return -1;
	}
	to_hex(b, sizeof(b), out);
	return 0;
}

/* HEX(HMAC-SHA256(token, data)); on a libcrypto failure a string no
 * honest peer produces, so that two failing sides never agree. */
static void mac_hex(const char *token, const struct strbuf *data,
		    char out[SIGN_HEX + 1])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!token)
		token = "";
	if (!HMAC(EVP_sha256(), token, (int)strlen(token),
		  (const uint8_t *)data->buf, data->len, mac, &len) ||
	    len != SIGN_HEX / 2) {
		memset(out, 'x', SIGN_HEX);
		out[SIGN_HEX] = '\0';
		return;
	}
	to_hex(mac, SIGN_HEX / 2, out);
	OPENSSL_cleanse(mac, sizeof(mac));
}

void sign_proof(const char *token, unsigned port, const char *cnonce,
		const char *snonce, char out[SIGN_HEX + 1])
{
	struct strbuf d = STRBUF_INIT;

	strbuf_addf(&d, "cluster-http-1 server\n%u\n%s\n%s", port, cnonce,
		    snonce);
	mac_hex(token, &d, out);
	strbuf_release(&d);
}

int sign_proof_ok(const char *token, unsigned port, const char *cnonce,
		  const char *snonce, const char *proof)
{
	char want[SIGN_HEX + 1];
	int ok;

	if (!proof || !is_hex(proof, SIGN_HEX) || !snonce ||
	    !is_hex(snonce, SIGN_NONCE_HEX))
		return 0;
	sign_proof(token, port, cnonce, snonce, want);
	ok = CRYPTO_memcmp(want, proof, SIGN_HEX) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

void sign_body_hash(const void *data, size_t len, char out[SIGN_HEX + 1])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(data ? data : (const void *)"", len, md);
	to_hex(md, sizeof(md), out);
}

static void request_mac(const char *token, const char *method,
			const char *target, int64_t ts, const char *nonce,
			uint64_t length, const char *body_hash,
			char out[SIGN_HEX + 1])
{
	struct strbuf d = STRBUF_INIT;

	strbuf_addf(&d, "cluster-http-1 request\n%s\n%s\n%" PRId64 "\n%s\n%"
		    PRIu64 "\n%s", method, target, ts, nonce, length, body_hash);
	mac_hex(token, &d, out);
	strbuf_release(&d);
}

void sign_header(const char *token, const struct sign_request *r,
		 struct strbuf *out)
{
	char mac[SIGN_HEX + 1];

	request_mac(token, r->method, r->target, r->ts, r->nonce, r->length,
		    r->body_hash, mac);
	strbuf_addf(out, SIGN_SCHEME " ts=%" PRId64 ", nonce=%s, body=%s, mac=%s",
		    r->ts, r->nonce, r->body_hash, mac);
	OPENSSL_cleanse(mac, sizeof(mac));
}

int sign_is_signed(const char *v)
{
	size_t n = strlen(SIGN_SCHEME);

	return v && !strncasecmp(v, SIGN_SCHEME, n) && (v[n] == ' ' || !v[n]);
}

/* One "key=value" of the header into *a. */
static int parse_param(const char *key, size_t klen, const char *val,
		       size_t vlen, struct sign_auth *a, unsigned *seen,
		       struct err *err)
{
	static const char *const keys[] = { "ts", "nonce", "body", "mac" };
	char buf[SIGN_HEX + 1];
	unsigned i;

	for (i = 0; i < 4; i++)
		if (strlen(keys[i]) == klen && !strncmp(keys[i], key, klen))
			break;
	if (i == 4)
		return errprintf(err, "signature: unknown parameter '%.*s'",
				 (int)(klen > 32 ? 32 : klen), key);
	if (*seen & (1u << i))
		return errprintf(err, "signature: parameter '%s' given twice", keys[i]);
	*seen |= 1u << i;
	if (vlen > SIGN_HEX)
		return errprintf(err, "signature: parameter '%s' too long", keys[i]);
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	switch (i) {
	case 0: {
		char *end;
		long long t;
		errno = 0;
		t = strtoll(buf, &end, 10);
		if (!vlen || *end || errno || buf[0] == '-' || buf[0] == '+' ||
		    buf[0] == ' ')
			return errprintf(err, "signature: 'ts' expected Unix seconds");
		a->ts = (int64_t)t;
		break;
	}
	case 1:
		if (!is_hex(buf, SIGN_NONCE_HEX))
			return errprintf(err, "signature: 'nonce' expected %d hex digits",
					 SIGN_NONCE_HEX);
		memcpy(a->nonce, buf, vlen + 1);
		break;
	case 2:
	case 3:
		if (!is_hex(buf, SIGN_HEX))
			return errprintf(err, "signature: '%s' expected %d hex digits",
					 keys[i], SIGN_HEX);
		memcpy(i == 2 ? a->body_hash : a->mac, buf, vlen + 1);
		break;
	}
	return 0;
}

int sign_parse(const char *v, struct sign_auth *a, struct err *err)
{
	unsigned seen = 0;
	const char *p;

	memset(a, 0, sizeof(*a));
	if (!sign_is_signed(v))
		return errprintf(err, "signature: expected the " SIGN_SCHEME " scheme");
	p = v + strlen(SIGN_SCHEME);
	for (;;) {
		const char *key, *eq, *val, *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		key = p;
		eq = strchr(key, '=');
		end = strchr(key, ',');
		if (!eq || (end && end < eq))
			return errprintf(err, "signature: expected key=value pairs");
		val = eq + 1;
		if (!end)
			end = val + strlen(val);
		p = *end ? end + 1 : end;
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (parse_param(key, (size_t)(eq - key), val, (size_t)(end - val),
				a, &seen, err) < 0)
			return -1;
	}
	if (seen != 0xf)
		return errprintf(err, "signature: expected ts, nonce, body and mac");
	return 0;
}

int sign_verify(const char *token, const char *method, const char *target,
		uint64_t length, const struct sign_auth *a, int64_t now,
		struct err *err)
{
	char want[SIGN_HEX + 1];
	int ok;

	request_mac(token, method, target, a->ts, a->nonce, length, a->body_hash,
		    want);
	ok = CRYPTO_memcmp(want, a->mac, SIGN_HEX) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (!ok)
		return errprintf(err, "bad signature");
	/* After the mac: only someone with the token learns about clocks. */
	if (a->ts < now - SIGN_WINDOW || a->ts > now + SIGN_WINDOW)
		return errprintf(err, "signature time %" PRId64 " is %" PRId64
				 " s off the scheduler's clock (at most %d): "
				 "check the clocks", a->ts,
				 a->ts > now ? a->ts - now : now - a->ts,
				 SIGN_WINDOW);
	return 0;
}

/* ---- the replay cache --------------------------------------------------- */

#define NBUCKETS SIGN_REPLAY_MAX	/* a power of two */
#define NONE UINT32_MAX

struct seen {
	uint8_t nonce[SIGN_NONCE_HEX / 2];
	int64_t ts;
	uint32_t next;			/* in its bucket's chain */
};

struct sign_replay {
	struct seen *ring;		/* NULL until the first */
	uint32_t *buckets;
	size_t head, n;			/* oldest; how many */
};

struct sign_replay *sign_replay_create(void)
{
	return calloc(1, sizeof(struct sign_replay));
}

void sign_replay_destroy(struct sign_replay *r)
{
	if (!r)
		return;
	free(r->ring);
	free(r->buckets);
	free(r);
}

static uint32_t bucket_of(const uint8_t *nonce)
{
	uint32_t h = 2166136261u;	/* FNV-1a over every byte */

	for (size_t i = 0; i < SIGN_NONCE_HEX / 2; i++)
		h = (h ^ nonce[i]) * 16777619u;
	return h & (NBUCKETS - 1);
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *hi = strchr(hexdigits, s[2 * i]);
		const char *lo = strchr(hexdigits, s[2 * i + 1]);
		out[i] = (uint8_t)((hi - hexdigits) << 4 | (lo - hexdigits));
	}
}

/* Drop the oldest entry. */
static void drop_head(struct sign_replay *r)
{
	uint32_t i = (uint32_t)r->head, *p = &r->buckets[bucket_of(r->ring[i].nonce)];

	while (*p != i)
		p = &r->ring[*p].next;
	*p = r->ring[i].next;
	r->head = (r->head + 1) % SIGN_REPLAY_MAX;
	r->n--;
}

int sign_replay_add(struct sign_replay *r, const struct sign_auth *a,
		    int64_t now)
{
	uint8_t nonce[SIGN_NONCE_HEX / 2];
	uint32_t b, i;

	if (!r->ring) {
		r->ring = calloc(SIGN_REPLAY_MAX, sizeof(*r->ring));
		r->buckets = malloc(NBUCKETS * sizeof(*r->buckets));
		if (!r->ring || !r->buckets) {
			free(r->ring);
			free(r->buckets);
			r->ring = NULL;
			r->buckets = NULL;
			return -2;
		}
		for (i = 0; i < NBUCKETS; i++)
			r->buckets[i] = NONE;
	}
	while (r->n && r->ring[r->head].ts + SIGN_WINDOW < now)
		drop_head(r);
	if (!is_hex(a->nonce, SIGN_NONCE_HEX))
		return -1;
	unhex(a->nonce, nonce, sizeof(nonce));
	b = bucket_of(nonce);
	for (i = r->buckets[b]; i != NONE; i = r->ring[i].next)
		if (!memcmp(r->ring[i].nonce, nonce, sizeof(nonce)))
			return -1;
	if (r->n == SIGN_REPLAY_MAX)
		return -2;
	i = (uint32_t)((r->head + r->n) % SIGN_REPLAY_MAX);
	memcpy(r->ring[i].nonce, nonce, sizeof(nonce));
	r->ring[i].ts = a->ts;
	r->ring[i].next = r->buckets[b];
	r->buckets[b] = i;
	r->n++;
	return 0;
}

/*
 * sign: request signing for the HTTP API, so that the CLI and the C
 * client never send the token itself.  Pure functions over the token
 * (HMAC-SHA256, libcrypto) and a replay cache; the client library and
 * the API both use them.  The scheme, as cluster-api(7) documents it:
 *
 *   challenge  GET /api/v1/auth/challenge?nonce=CNONCE (public) answers
 *              {"nonce": SNONCE, "port": PORT, "proof": HEX(HMAC(token,
 *                "cluster-http-1 server\n" PORT "\n" CNONCE "\n" SNONCE))}
 *              and the client checks the proof before it signs anything.
 *              PORT is the one the server listens on: a client that took
 *              the port from the address file checks the proof for that
 *              port, so a listener elsewhere cannot pass the real
 *              server's proof off as its own.
 *   request    Authorization: Cluster-HMAC ts=TS, nonce=NONCE,
 *                body=HEX(SHA256(body)), mac=HEX(HMAC(token,
 *                "cluster-http-1 request\n" METHOD "\n" TARGET "\n" TS
 *                "\n" NONCE "\n" LENGTH "\n" BODYHASH))
 *
 * Nonces are 32 lowercase hex digits, macs and hashes 64; TS is Unix
 * seconds, TARGET the request target as sent (path?query), LENGTH the
 * body's byte count in decimal (0 without one).  The mac covers the
 * declared body hash, so it is checked from the head alone; the body is
 * checked against the hash once it is read.
 */
#ifndef CLUSTER_PROTO_SIGN_H
#define CLUSTER_PROTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

#define SIGN_SCHEME "Cluster-HMAC"
#define SIGN_NONCE_HEX 32		/* hex digits of a nonce */
#define SIGN_HEX 64			/* hex digits of a mac or hash */
#define SIGN_WINDOW 300			/* seconds a signature's ts may be off */
#define SIGN_REPLAY_MAX (1u << 17)	/* nonces a replay cache holds */

/* A fresh random nonce, NUL-terminated; -1 (errno EIO) without one. */
int sign_nonce(char out[SIGN_NONCE_HEX + 1]);

/* The proof of the server listening on `port` that it knows `token`,
 * for the client's nonce and its own. */
void sign_proof(const char *token, unsigned port, const char *cnonce,
		const char *snonce, char out[SIGN_HEX + 1]);
/* 1 when `proof` is that proof (in constant time), else 0. */
int sign_proof_ok(const char *token, unsigned port, const char *cnonce,
		  const char *snonce, const char *proof);

/* HEX(SHA256(data)). */
void sign_body_hash(const void *data, size_t len, char out[SIGN_HEX + 1]);

/* What a signature covers, besides the token. */
struct sign_request {
	const char *method;		/* "GET" */
	const char *target;		/* "/api/v1/tasks?after=0" */
	int64_t ts;
	const char *nonce;		/* SIGN_NONCE_HEX digits */
	uint64_t length;		/* of the body */
	const char *body_hash;		/* SIGN_HEX digits */
};

/* Append the Authorization header's value for `r` to `out`. */
void sign_header(const char *token, const struct sign_request *r,
		 struct strbuf *out);

/* An Authorization header of the Cluster-HMAC scheme, parsed. */
struct sign_auth {
	int64_t ts;
	char nonce[SIGN_NONCE_HEX + 1];
	char body_hash[SIGN_HEX + 1];
	char mac[SIGN_HEX + 1];
};

/* 1 when the header `v` is of the Cluster-HMAC scheme (the name is
 * case-insensitive), else 0. */
int sign_is_signed(const char *v);
/* Parse the header `v` into *a; -1 with the reason in err. */
int sign_parse(const char *v, struct sign_auth *a, struct err *err);
/* Does the mac of `a` sign method, target and length with `token`, and
 * is its ts within SIGN_WINDOW of `now`?  0 when it does; -1 with the
 * reason in err. */
int sign_verify(const char *token, const char *method, const char *target,
		uint64_t length, const struct sign_auth *a, int64_t now,
		struct err *err);

/* The nonces of the signatures taken in the last 2 * SIGN_WINDOW
 * seconds or so, at most SIGN_REPLAY_MAX (memory taken at the first). */
struct sign_replay;

struct sign_replay *sign_replay_create(void);
void sign_replay_destroy(struct sign_replay *r);
/* Record the nonce of `a` at time `now`: 0 when it is new, -1 when it
 * was seen (a replay), -2 when the cache is full (refuse for now). */
int sign_replay_add(struct sign_replay *r, const struct sign_auth *a,
		    int64_t now);

#endif

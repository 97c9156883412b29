/*
 * follow: where a worker finds its scheduler again.  A scheduler that
 * restarts (after a crash, or a new head job under the same name) may
 * listen on another port and always draws a new token; it writes both to
 * the state directory (state.h).  A worker that got its scheduler from
 * those files follows them: before each reconnect it reads the address
 * file, then the token file (in that order: a scheduler renews the token
 * before it publishes its address, so a new address comes with its new
 * token).  One given another scheduler or token than the files named at
 * its start (--connect to a batch run beside a head job, --token-file)
 * keeps what it was given.
 */
#ifndef CLUSTER_WORKER_FOLLOW_H
#define CLUSTER_WORKER_FOLLOW_H

#include <stdint.h>

struct follow {
	const char *dir;		/* the state directory; NULL: none */
	int address;			/* follow its address file */
	int token;			/* follow its token file */
};

/* Decide what to follow from what the files say now: the address when
 * they name host:port, the token when it is `token`. */
void follow_init(struct follow *f, const char *state_dir, const char *host,
		 uint16_t port, const char *token);

/* Take the scheduler's address and token from the files, as far as `f`
 * follows them and they can be read; what cannot be read is left as it
 * is.  Returns 1 when something changed, else 0. */
int follow_refresh(const struct follow *f, char host[256], uint16_t *port,
		   char token[65]);

/* Whether a followed token file now holds another token than `token`
 * (a scheduler that refused `token` may have drawn a new one). */
int follow_token_changed(const struct follow *f, const char *token);

#endif

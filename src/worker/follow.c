/*
 * follow: the state directory's address and token files, re-read by a
 * worker that lost its scheduler (follow.h says when and why).
 */
#include "worker/follow.h"

#include <stdio.h>
#include <string.h>

#include "state/state.h"

void follow_init(struct follow *f, const char *state_dir, const char *host,
		 uint16_t port, const char *token)
{
	struct state_address a;
	char tok[65];

	memset(f, 0, sizeof(*f));
	f->dir = state_dir;
	if (!state_dir)
		return;
	f->address = state_address_read(state_dir, &a, NULL) == 0 &&
		host && !strcmp(a.host, host) && a.port == port;
	f->token = state_token(state_dir, 0, tok, NULL) == 0 && token &&
		!strcmp(tok, token);
}

int follow_refresh(const struct follow *f, char host[256], uint16_t *port,
		   char token[65])
{
	struct state_address a;
	char tok[65];
	int changed = 0;

	if (f->address && state_address_read(f->dir, &a, NULL) == 0 &&
	    a.port && *a.host && (strcmp(a.host, host) || a.port != *port)) {
		snprintf(host, 256, "%s", a.host);
		*port = a.port;
		changed = 1;
	}
	if (f->token && state_token(f->dir, 0, tok, NULL) == 0 &&
	    strcmp(tok, token)) {
		memcpy(token, tok, sizeof(tok));
		changed = 1;
	}
	return changed;
}

int follow_token_changed(const struct follow *f, const char *token)
{
	char tok[65];

	return f->token && state_token(f->dir, 0, tok, NULL) == 0 &&
		strcmp(tok, token) != 0;
}

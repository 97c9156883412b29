/*
 * shell_words: a command line split into words as /bin/sh would split
 * it, for the harnesses' oracles on what a generated script runs.  It
 * accepts only what cannot expand or act beyond a plain $NAME, so an
 * oracle that gets its words back knows nothing else reaches the shell.
 */
#include "shell_words.h"

#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

static int name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void words_release(struct words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	ws->n = 0;
}

static int plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || (c && strchr("_./=:,+@%-", c));
}

const char *split_shell(const char **pos, struct words *ws)
{
	struct strbuf cur = STRBUF_INIT;
	int in_word = 0, expands = 0;
	const char *p = *pos;

	ws->n = 0;
	for (;;) {
		char c = *p;
		if (c == '\0' || c == ' ' || c == '\t' || c == '\n') {
			if (in_word) {
				if (ws->n == sizeof(ws->w) / sizeof(ws->w[0])) {
					strbuf_release(&cur);
					return "too many words";
				}
				ws->expands[ws->n] = (unsigned char)expands;
				ws->w[ws->n++] = strbuf_detach(&cur, NULL);
				in_word = expands = 0;
			}
			if (c == '\n')
				p++;
			if (!c || c == '\n')
				break;
			p++;
			continue;
		}
		in_word = 1;
		if (c == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q) {
				strbuf_release(&cur);
				return "unterminated single quote";
			}
			strbuf_add(&cur, p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else if (c == '"') {
			for (p++;; p++) {
				if (!*p) {
					strbuf_release(&cur);
					return "unterminated double quote";
				}
				if (*p == '"')
					break;
				if (*p == '\\' && p[1] && strchr("$`\"\\", p[1])) {
					strbuf_addch(&cur, p[1]);
					p++;
				} else if (*p == '`') {
					strbuf_release(&cur);
					return "a backquote in double quotes";
				} else if (*p == '$') {
					const char *q = p + 1;
					int braced = *q == '{';
					if (braced)
						q++;
					if (!name_start(*q)) {
						strbuf_release(&cur);
						return "a $ in double quotes that is not $NAME";
					}
					while (name_start(*q) || (*q >= '0' && *q <= '9'))
						q++;
					if (braced && *q++ != '}') {
						strbuf_release(&cur);
						return "a ${ in double quotes that is not ${NAME}";
					}
					strbuf_add(&cur, p, (size_t)(q - p));
					expands = 1;
					p = q - 1;
				} else {
					strbuf_addch(&cur, *p);
				}
			}
			p++;
		} else if (c == '\\' && p[1] == '\n') {
			p += 2;				/* a continued line */
		} else if (c == '\\' && p[1]) {
			strbuf_addch(&cur, p[1]);	/* 'it'\''s' */
			p += 2;
		} else if (plain(c)) {
			strbuf_addch(&cur, c);
			p++;
		} else {
			strbuf_release(&cur);
			return "an unquoted shell character";
		}
	}
	strbuf_release(&cur);
	*pos = p;
	return NULL;
}

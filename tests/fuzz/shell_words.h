/*
 * A command line split into words as /bin/sh would, for fuzz oracles.
 */
#ifndef CLUSTER_FUZZ_SHELL_WORDS_H
#define CLUSTER_FUZZ_SHELL_WORDS_H

#include <stddef.h>

struct words {
	char *w[512];
	unsigned char expands[512];	/* holds a $NAME the shell expands */
	size_t n;
};

/* Split one command from *pos to the first newline outside quotes (a
 * quoted word may hold newlines), refusing anything that would expand or
 * act: unquoted characters other than plain ones (a backslash quotes the
 * next one), and in double quotes any $ but a plain $NAME or ${NAME}
 * (kept as written, the word marked as expanding) and any unescaped
 * backquote.  *pos moves past the command.  NULL when it is fine, else
 * why not; the words are in *ws either way, for words_release. */
const char *split_shell(const char **pos, struct words *ws);

void words_release(struct words *ws);

#endif

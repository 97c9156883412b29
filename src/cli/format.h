/*
 * format: how the CLI writes things for people: commands as a shell
 * would read them back, and lines cut to the width of the terminal.
 */
#ifndef CLUSTER_CLI_FORMAT_H
#define CLUSTER_CLI_FORMAT_H

#include <stddef.h>

#include "util/strbuf.h"

/* Append argv (NULL-terminated) as one shell command line: words of
 * letters, digits and _@%+=:,./- as they are, any other word in single
 * quotes ('it'\''s'), an empty one as ''; a first word with '=' is
 * quoted too, lest it read as an assignment. */
void format_shell_words(struct strbuf *sb, const char *const *argv);

#endif

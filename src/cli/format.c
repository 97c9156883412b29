/*
 * format: commands as a shell reads them back (so a listed command can
 * be pasted), lines cut to the terminal.
 */
#include "cli/format.h"

#include <string.h>

static int safe_word(const char *s, int first)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_@%+=:,./-", *s) ||
		    (first && *s == '='))
			return 0;
	return 1;
}

void format_shell_words(struct strbuf *sb, const char *const *argv)
{
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			strbuf_addch(sb, ' ');
		if (safe_word(argv[i], i == 0))
			strbuf_addstr(sb, argv[i]);
		else
			strbuf_add_shquoted(sb, argv[i]);
	}
}

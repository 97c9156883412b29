/*
 * suggest: the closest of a few words, for "did you mean", by
 * util/suggest's distance.  Stricter than the config reader's key
 * suggestions: a command name is short, and a wrong guess there runs
 * something else.
 */
#include "cli/suggest.h"

#include <stdint.h>
#include <string.h>

#include "util/suggest.h"

const char *suggest(const char *word, const char *const *candidates,
		    size_t n)
{
	struct suggest_best sb = SUGGEST_BEST_INIT(word);
	const char *prefixed = NULL;
	size_t prefixd = SIZE_MAX, len = strlen(word);

	for (size_t i = 0; i < n; i++) {
		size_t d;
		if (!candidates[i] || !strcmp(candidates[i], word))
			continue;
		d = suggest_best_consider(&sb, candidates[i]);
		if (len >= 2 && !strncmp(candidates[i], word, len) && d < prefixd) {
			prefixed = candidates[i];
			prefixd = d;
		}
	}
	if (prefixed)
		return prefixed;
	/* One edit in three letters at most: "taks" is "tasks", "bogus"
	 * is not "logs". */
	if (!sb.best || sb.distance * 3 > len)
		return NULL;
	return sb.best;
}

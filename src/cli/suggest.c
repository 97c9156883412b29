/*
 * suggest: the closest of a few words, for "did you mean".  The CLI's
 * words are few and short, so a full distance table per candidate is
 * cheap.  Stricter than the config reader's key suggestions: a command
 * name is short, and a wrong guess there runs something else.
 */
#include "cli/suggest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Optimal string alignment distance. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), r;
	size_t *d = xcalloc((la + 1) * (lb + 1), sizeof(*d));
#define D(i, j) d[(i) * (lb + 1) + (j)]

	for (size_t i = 0; i <= la; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t v = D(i - 1, j - 1) + (a[i - 1] != b[j - 1]);
			if (D(i - 1, j) + 1 < v)
				v = D(i - 1, j) + 1;
			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	r = D(la, lb);
#undef D
	free(d);
	return r;
}

const char *suggest(const char *word, const char *const *candidates,
		    size_t n)
{
	const char *best = NULL, *prefixed = NULL;
	size_t bestd = SIZE_MAX, prefixd = SIZE_MAX, len = strlen(word);

	for (size_t i = 0; i < n; i++) {
		size_t d;
		if (!candidates[i] || !strcmp(candidates[i], word))
			continue;
		d = distance(word, candidates[i]);
		if (len >= 2 && !strncmp(candidates[i], word, len) && d < prefixd) {
			prefixed = candidates[i];
			prefixd = d;
		}
		if (d < bestd) {
			best = candidates[i];
			bestd = d;
		}
	}
	if (prefixed)
		return prefixed;
	/* One edit in three letters at most: "taks" is "tasks", "bogus"
	 * is not "logs". */
	if (!best || bestd * 3 > len)
		return NULL;
	return best;
}

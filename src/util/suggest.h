/*
 * suggest: edit distance and the closest of many candidates, for "did you
 * mean".  The config reader (keys) and the CLI (commands, options,
 * actions) each apply their own rule for what is close enough; the
 * distance and the choice among candidates are the same for both.
 */
#ifndef CLUSTER_UTIL_SUGGEST_H
#define CLUSTER_UTIL_SUGGEST_H

#include <stddef.h>
#include <stdint.h>

/* Optimal string alignment distance: insertions, deletions,
 * substitutions, and a swapped pair of adjacent letters (the most common
 * typo) count one edit each. */
size_t suggest_distance(const char *a, const char *b);

/* The closest candidate so far to `word`.  Points into the caller's
 * candidates; owns nothing. */
struct suggest_best {
	const char *word;
	const char *best;		/* NULL until a candidate is considered */
	size_t distance;		/* of best; SIZE_MAX until then */
};

#define SUGGEST_BEST_INIT(w) { (w), NULL, SIZE_MAX }

/* The distance from sb->word to `cand`; `cand` becomes the best when it
 * is strictly closer than the best so far, so of equals the first
 * considered stays. */
size_t suggest_best_consider(struct suggest_best *sb, const char *cand);

#endif

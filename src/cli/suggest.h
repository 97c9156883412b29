/*
 * suggest: "did you mean" for a mistyped command, option or action.
 */
#ifndef CLUSTER_CLI_SUGGEST_H
#define CLUSTER_CLI_SUGGEST_H

#include <stddef.h>

/* The candidate `word` most likely meant: of the words it is a prefix of
 * (when two characters or more), the closest; else the closest by edits
 * (a swapped pair of letters is one), at most one edit per three
 * letters; NULL when none is close.  Points into candidates[0..n). */
const char *suggest(const char *word, const char *const *candidates,
		    size_t n);

#endif

/*
 * idset: sets of ids as people write them, "1,2,5-9".
 *
 * One parser for every list of task ids (cluster cancel, wait and
 * --after; the API's "ids"), so all of them agree on what an id is, what
 * overflows and what the error says.  A set is a sorted array of
 * disjoint, non-adjacent ranges: a million-id range is one entry,
 * membership is a binary search, and the formatter writes the shortest
 * form back ("1-3,7").
 *
 * The array index range of a task array ("A-B", "A", "-3--1") has the
 * same shape but signed and single; its parser lives here too.
 */
#ifndef CLUSTER_IDSET_H
#define CLUSTER_IDSET_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

struct idset_range {
	uint64_t first, last;		/* first <= last */
};

/*
 * Normalized (r[] sorted by first, ranges neither overlapping nor
 * touching) except after idset_add out of order, until idset_normalize.
 * Readers (has, count, format, iteration) want a normalized set.
 * The set owns r[]; idset_release frees it.
 */
struct idset {
	struct idset_range *r;
	size_t n, alloc;
	int unsorted;
};

#define IDSET_INIT { NULL, 0, 0, 0 }

void idset_init(struct idset *set);
void idset_release(struct idset *set);

/* Add first..last (first <= last).  Adding in increasing order keeps the
 * set normalized; anything else leaves that to idset_normalize, so a
 * long unordered list costs one sort rather than one insertion each. */
void idset_add(struct idset *set, uint64_t first, uint64_t last);
void idset_normalize(struct idset *set);

/*
 * Add the ids of `text` to `set` and normalize it.  `text` is items
 * separated by commas, each an id or a range A-B with A <= B; ids are
 * decimal digits (no sign, no blanks) in [min, max].  Duplicates and
 * overlaps merge.  On error `set` is unchanged and `err` quotes the bad
 * item: "id '99999999999999999999' is out of range (1 to 100)".
 */
int idset_parse(struct idset *set, const char *text, uint64_t min,
		uint64_t max, struct err *err);

/* Read one id (decimal digits) at the start of `s`; *end points after
 * it.  -1 when `s` does not start with a digit or the number does not
 * fit in 64 bits.  For ids embedded in longer text ("/tasks/12/log"). */
int idset_scan_id(const char *s, const char **end, uint64_t *id);

int idset_has(const struct idset *set, uint64_t id);

/* How many ids; UINT64_MAX when there are more (0 to UINT64_MAX). */
uint64_t idset_count(const struct idset *set);

/* Append the set as "1-3,7" (nothing when empty); idset_parse reads it
 * back into the same set. */
void idset_format(struct strbuf *sb, const struct idset *set);

/*
 * Every id in increasing order:
 *
 *	struct idset_iter it = IDSET_ITER_INIT;
 *	uint64_t id;
 *	while (idset_iter_next(set, &it, &id))
 *		...
 *
 * Safe up to UINT64_MAX; the set must not change meanwhile.
 */
struct idset_iter {
	size_t range;
	uint64_t offset;
};

#define IDSET_ITER_INIT { 0, 0 }

int idset_iter_next(const struct idset *set, struct idset_iter *it,
		    uint64_t *id);

/* One signed range "A-B" or "A", A <= B, either may be negative
 * ("-3--1"), in int64_t; same digit rules as idset_parse. */
int idset_parse_signed(const char *text, int64_t *first, int64_t *last,
		       struct err *err);

#endif

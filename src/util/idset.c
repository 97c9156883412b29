#include "util/idset.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

void idset_init(struct idset *set)
{
	memset(set, 0, sizeof(*set));
}

void idset_release(struct idset *set)
{
	free(set->r);
	idset_init(set);
}

/* Does a range starting at `first` (>= a->first) overlap `a` or follow
 * it with no gap? */
static int joins(const struct idset_range *a, uint64_t first)
{
	return first <= a->last || first - a->last == 1;
}

void idset_add(struct idset *set, uint64_t first, uint64_t last)
{
	struct idset_range *tail = set->n ? &set->r[set->n - 1] : NULL;

	assert(first <= last);
	if (tail && !set->unsorted && first >= tail->first &&
	    joins(tail, first)) {
		if (last > tail->last)
			tail->last = last;
		return;
	}
	if (tail && first < tail->first)
		set->unsorted = 1;
	set->r = vec_grow(set->r, &set->alloc, set->n + 1, sizeof(*set->r));
	set->r[set->n].first = first;
	set->r[set->n].last = last;
	set->n++;
}

static int range_cmp(const void *x, const void *y)
{
	const struct idset_range *a = x, *b = y;

	return a->first < b->first ? -1 : a->first > b->first;
}

void idset_normalize(struct idset *set)
{
	size_t out = 0;

	if (!set->unsorted)
		return;
	qsort(set->r, set->n, sizeof(*set->r), range_cmp);
	for (size_t i = 1; i < set->n; i++) {
		if (joins(&set->r[out], set->r[i].first)) {
			if (set->r[i].last > set->r[out].last)
				set->r[out].last = set->r[i].last;
		} else {
			set->r[++out] = set->r[i];
		}
	}
	set->n = set->n ? out + 1 : 0;
	set->unsorted = 0;
}

/* Digits at `s` into *v, *end past all of them.  -1: no digit; -2: more
 * than 64 bits (*end still past the digits, to quote the number). */
static int scan_number(const char *s, const char **end, uint64_t *v)
{
	uint64_t x = 0;
	int overflow = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - d) / 10)
			overflow = 1;
		x = x * 10 + d;
	}
	*end = p;
	if (p == s)
		return -1;
	if (overflow)
		return -2;
	*v = x;
	return 0;
}

int idset_scan_id(const char *s, const char **end, uint64_t *id)
{
	const char *e;

	if (scan_number(s, &e, id) < 0)
		return -1;
	*end = e;
	return 0;
}

/* One number of an item: digits, in [min, max]. */
static int item_number(const char **p, const char *item, size_t len,
		       uint64_t min, uint64_t max, uint64_t *v,
		       struct err *err)
{
	const char *start = *p;
	int rc = scan_number(start, p, v);

	if (rc == -1)
		return errprintf(err, "expected an id or a range A-B, got '%.*s'",
				 (int)len, item);
	if (rc == -2 || *v < min || *v > max)
		return errprintf(err, "id '%.*s' is out of range (%" PRIu64
				 " to %" PRIu64 ")", (int)(*p - start), start,
				 min, max);
	return 0;
}

/* "ID" or "A-B", exactly the `len` bytes at `item`, one of `text`. */
static int parse_item(const char *text, const char *item, size_t len,
		      uint64_t min, uint64_t max, struct idset *set,
		      struct err *err)
{
	const char *p = item;
	uint64_t a, b;

	if (!len)
		return errprintf(err, "empty item in '%s'", text);
	if (item_number(&p, item, len, min, max, &a, err) < 0)
		return -1;
	b = a;
	if (*p == '-') {
		p++;
		if (item_number(&p, item, len, min, max, &b, err) < 0)
			return -1;
	}
	if (p != item + len)
		return errprintf(err, "expected an id or a range A-B, got '%.*s'",
				 (int)len, item);
	if (b < a)
		return errprintf(err, "range '%.*s' is reversed: expected A <= B",
				 (int)len, item);
	idset_add(set, a, b);
	return 0;
}

int idset_parse(struct idset *set, const char *text, uint64_t min,
		uint64_t max, struct err *err)
{
	struct idset tmp = IDSET_INIT;
	const char *s = text;

	if (!*text)
		return errprintf(err, "expected an id or a range A-B, got ''");
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (parse_item(text, s, len, min, max, &tmp, err) < 0) {
			idset_release(&tmp);
			return -1;
		}
		if (!comma)
			break;
		s = comma + 1;
	}
	idset_normalize(&tmp);
	if (!set->n) {
		free(set->r);
		*set = tmp;
		return 0;
	}
	for (size_t i = 0; i < tmp.n; i++)
		idset_add(set, tmp.r[i].first, tmp.r[i].last);
	idset_normalize(set);
	idset_release(&tmp);
	return 0;
}

int idset_has(const struct idset *set, uint64_t id)
{
	size_t lo = 0, hi = set->n;

	assert(!set->unsorted);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (id < set->r[mid].first)
			hi = mid;
		else if (id > set->r[mid].last)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

uint64_t idset_count(const struct idset *set)
{
	uint64_t n = 0;

	assert(!set->unsorted);
	for (size_t i = 0; i < set->n; i++) {
		uint64_t span = set->r[i].last - set->r[i].first;
		if (span == UINT64_MAX || n > UINT64_MAX - span - 1)
			return UINT64_MAX;
		n += span + 1;
	}
	return n;
}

void idset_format(struct strbuf *sb, const struct idset *set)
{
	assert(!set->unsorted);
	for (size_t i = 0; i < set->n; i++) {
		const struct idset_range *r = &set->r[i];
		if (i)
			strbuf_addch(sb, ',');
		if (r->first == r->last)
			strbuf_addf(sb, "%" PRIu64, r->first);
		else
			strbuf_addf(sb, "%" PRIu64 "-%" PRIu64, r->first, r->last);
	}
}

int idset_iter_next(const struct idset *set, struct idset_iter *it,
		    uint64_t *id)
{
	const struct idset_range *r;

	assert(!set->unsorted);
	if (it->range >= set->n)
		return 0;
	r = &set->r[it->range];
	*id = r->first + it->offset;
	if (*id == r->last) {
		it->range++;
		it->offset = 0;
	} else {
		it->offset++;
	}
	return 1;
}

/* ---- signed ranges ------------------------------------------------------ */

/* An optional '-' and digits, within int64_t. */
static int signed_number(const char **p, const char *text, int64_t *v,
			 struct err *err)
{
	const char *start = *p;
	int neg = **p == '-';
	uint64_t mag;
	int rc = scan_number(start + neg, p, &mag);

	if (rc == -1)
		return errprintf(err, "expected a range A-B or a number, got '%s'",
				 text);
	if (rc == -2 || mag > (uint64_t)INT64_MAX + neg)
		return errprintf(err, "'%.*s' is out of range (%" PRId64 " to %"
				 PRId64 ")", (int)(*p - start), start,
				 INT64_MIN, INT64_MAX);
	/* -(INT64_MAX) - 1 is INT64_MIN without overflowing. */
	*v = neg && mag ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	return 0;
}

int idset_parse_signed(const char *text, int64_t *first, int64_t *last,
		       struct err *err)
{
	const char *p = text;
	int64_t a, b;

	if (signed_number(&p, text, &a, err) < 0)
		return -1;
	b = a;
	if (*p == '-') {
		p++;
		if (signed_number(&p, text, &b, err) < 0)
			return -1;
	}
	if (*p)
		return errprintf(err, "expected a range A-B or a number, got '%s'",
				 text);
	if (b < a)
		return errprintf(err, "range '%s' is reversed: expected A <= B",
				 text);
	*first = a;
	*last = b;
	return 0;
}

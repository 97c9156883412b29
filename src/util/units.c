/*
 * Sizes and durations.  Numbers are parsed digit by digit rather than with
 * strtod so that "1.5GiB" is exactly 1610612736 bytes and a fraction of a
 * byte or a second always rounds up, never down.
 */
#include "util/units.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIZE_FORM "expected a number and a unit like 4GiB, 1.5GB or 512MB"
#define DURATION_FORM \
	"expected HH:MM:SS, MM:SS, D-HH:MM:SS or a number with s, m, h or d like 90m"

/* Fraction digits kept exactly; later non-zero digits only round up. */
#define MAX_FRAC_DIGITS 19

typedef unsigned __int128 u128;

/* A decimal number "123.456" split into its integer part and a fraction
 * num / den (den = 10^digits). */
struct decimal {
	uint64_t whole;
	uint64_t frac;
	uint64_t den;
	int inexact;		/* non-zero digits beyond MAX_FRAC_DIGITS */
};

/* Parse [0-9]*[.[0-9]*] with at least one digit; *end is set past it.
 * Returns -1 on no digits, 1 when the whole part overflows, else 0. */
static int parse_decimal(const char *s, const char **end, struct decimal *d)
{
	const char *p = s;
	int digits = 0, overflow = 0;

	memset(d, 0, sizeof(*d));
	d->den = 1;
	for (; isdigit((unsigned char)*p); p++, digits++) {
		unsigned v = (unsigned)(*p - '0');
		if (d->whole > (UINT64_MAX - v) / 10)
			overflow = 1;
		else
			d->whole = d->whole * 10 + v;
	}
	if (*p == '.') {
		p++;
		int n = 0;
		for (; isdigit((unsigned char)*p); p++, digits++) {
			if (n < MAX_FRAC_DIGITS) {
				d->frac = d->frac * 10 + (uint64_t)(*p - '0');
				d->den *= 10;
				n++;
			} else if (*p != '0') {
				d->inexact = 1;
			}
		}
	}
	*end = p;
	if (!digits)
		return -1;
	return overflow;
}

/* ceil(d * mult), or -1 when it does not fit in 64 bits. */
static int decimal_scale(const struct decimal *d, uint64_t mult,
			 uint64_t *out)
{
	u128 whole = (u128)d->whole * mult;
	u128 frac = (u128)d->frac * mult;
	u128 part = frac / d->den;

	if (frac % d->den || (d->inexact && mult))
		part++;
	whole += part;
	if (whole > UINT64_MAX)
		return -1;
	*out = (uint64_t)whole;
	return 0;
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

struct unit {
	const char *name;
	uint64_t mult;
};

/* Sizes follow the batch systems where they differ from SI: a bare K, M,
 * G or T is binary as in Slurm's --mem=4G, and so is a lower-case b after
 * the letter as in PBS's mem=4gb (or 4Gb); an upper-case B after it is
 * SI (4GB, 4kB = 4 * 10^9, 4 * 10^3); KiB..TiB are binary in any case. */
static const struct unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", 1ULL << 10 }, { "kB", 1000ULL }, { "kb", 1ULL << 10 },
	{ "kib", 1ULL << 10 },
	{ "m", 1ULL << 20 }, { "mB", 1000000ULL }, { "mb", 1ULL << 20 },
	{ "mib", 1ULL << 20 },
	{ "g", 1ULL << 30 }, { "gB", 1000000000ULL }, { "gb", 1ULL << 30 },
	{ "gib", 1ULL << 30 },
	{ "t", 1ULL << 40 }, { "tB", 1000000000000ULL },
	{ "tb", 1ULL << 40 }, { "tib", 1ULL << 40 },
	{ NULL, 0 },
};

static const struct unit duration_units[] = {
	{ "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 },
	{ NULL, 0 },
};

/* Names match in any case, except that the B of a two-letter name (kB,
 * kb) must match in case: 4GB is SI, 4gb is PBS's binary unit.  "b"
 * alone (bytes) and the "iB" of KiB match in either case. */
static int unit_case_matches(const char *name, const char *p, size_t len)
{
	if (len != 2 || (name[1] != 'B' && name[1] != 'b'))
		return 1;
	return (name[1] == 'B') == (p[1] == 'B');
}

/* The unit named by [p, end of trailing spaces), or NULL. */
static const struct unit *find_unit(const struct unit *table, const char *p)
{
	size_t len = strlen(p);

	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	for (const struct unit *u = table; u->name; u++)
		if (strlen(u->name) == len && !strncasecmp(u->name, p, len) &&
		    unit_case_matches(u->name, p, len))
			return u;
	return NULL;
}

int size_parse(const char *s, uint64_t *bytes, struct err *err)
{
	struct decimal d;
	const char *p, *end;
	const struct unit *u;
	uint64_t v;

	if (!s)
		return errprintf(err, "invalid size '': " SIZE_FORM);
	p = skip_space(s);
	if (*p == '-')
		return errprintf(err, "invalid size '%s': sizes cannot be negative; "
				 SIZE_FORM, s);
	int rc = parse_decimal(p, &end, &d);
	if (rc < 0)
		return errprintf(err, "invalid size '%s': " SIZE_FORM, s);
	u = find_unit(size_units, skip_space(end));
	if (!u)
		return errprintf(err, "invalid size '%s': " SIZE_FORM, s);
	if (rc > 0 || decimal_scale(&d, u->mult, &v) < 0)
		return errprintf(err, "invalid size '%s': larger than the largest "
				 "size, 16 EiB; " SIZE_FORM, s);
	*bytes = v;
	return 0;
}

void size_format(struct strbuf *sb, uint64_t bytes)
{
	static const char *const names[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
	};
	int i;

	if (bytes < 1024) {
		strbuf_addf(sb, "%llu B", (unsigned long long)bytes);
		return;
	}
	/* Largest unit that the value reaches, then tenths rounded to the
	 * nearest; a value that rounds up to 1024 moves to the next unit. */
	for (i = 5; i > 0 && bytes < (1ULL << (10 * (i + 1))); i--)
		;
	uint64_t unit = 1ULL << (10 * (i + 1));
	u128 tenths = ((u128)bytes * 10 + unit / 2) / unit;
	if (tenths >= 10240 && i < 5) {
		i++;
		unit <<= 10;
		tenths = ((u128)bytes * 10 + unit / 2) / unit;
	}
	if (tenths % 10 == 0)
		strbuf_addf(sb, "%llu %s", (unsigned long long)(tenths / 10),
			    names[i]);
	else
		strbuf_addf(sb, "%llu.%u %s", (unsigned long long)(tenths / 10),
			    (unsigned)(tenths % 10), names[i]);
}

uint64_t size_ceil_units(uint64_t bytes, uint64_t unit)
{
	uint64_t n = bytes / unit + (bytes % unit != 0);

	if (n > UINT64_MAX / unit)
		return UINT64_MAX;
	return n * unit;
}

/* One unsigned integer field of a colon form; -1 if not all digits or
 * too large. */
static int parse_field(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (!len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		unsigned dgt = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - dgt) / 10)
			return -1;
		v = v * 10 + dgt;
	}
	*out = v;
	return 0;
}

/* HH:MM:SS, MM:SS or D-HH:MM:SS; the caller knows s contains ':'. */
static int parse_colon_duration(const char *orig, const char *s,
				uint64_t *seconds, struct err *err)
{
	uint64_t f[4] = { 0, 0, 0, 0 };	/* days, hours, minutes, seconds */
	const char *fields[3];
	size_t lens[3];
	int n = 0, have_days = 0;
	const char *p = s, *dash = strchr(s, '-');

	if (dash) {
		if (parse_field(s, (size_t)(dash - s), &f[0]) < 0)
			return errprintf(err, "invalid duration '%s': " DURATION_FORM,
					 orig);
		have_days = 1;
		p = dash + 1;
	}
	for (;;) {
		const char *colon = strchr(p, ':');
		if (n == 3)
			return errprintf(err, "invalid duration '%s': " DURATION_FORM,
					 orig);
		fields[n] = p;
		lens[n] = colon ? (size_t)(colon - p) : strlen(p);
		n++;
		if (!colon)
			break;
		p = colon + 1;
	}
	if (n < 2 || (have_days && n != 3))
		return errprintf(err, "invalid duration '%s': " DURATION_FORM, orig);
	for (int i = 0; i < n; i++)
		if (parse_field(fields[i], lens[i], &f[4 - n + i]) < 0)
			return errprintf(err, "invalid duration '%s': " DURATION_FORM,
					 orig);
	if (f[3] >= 60)
		return errprintf(err, "invalid duration '%s': seconds must be below 60",
				 orig);
	if (f[2] >= 60)
		return errprintf(err, "invalid duration '%s': minutes must be below 60",
				 orig);
	if (have_days && f[1] >= 24)
		return errprintf(err, "invalid duration '%s': hours must be below 24 "
				 "after a day count", orig);
	u128 total = (u128)f[0] * 86400 + (u128)f[1] * 3600 + f[2] * 60 + f[3];
	if (total > UINT64_MAX)
		return errprintf(err, "invalid duration '%s': too long", orig);
	*seconds = (uint64_t)total;
	return 0;
}

int duration_parse(const char *s, uint64_t *seconds, struct err *err)
{
	struct decimal d;
	const char *p, *end;
	const struct unit *u;
	uint64_t v;

	if (!s)
		return errprintf(err, "invalid duration '': " DURATION_FORM);
	p = skip_space(s);
	if (*p == '-')
		return errprintf(err, "invalid duration '%s': durations cannot be "
				 "negative; " DURATION_FORM, s);
	if (strchr(p, ':')) {
		/* Colon forms carry no spaces; trailing ones are tolerated. */
		char buf[64];
		size_t len = strlen(p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(buf))
			return errprintf(err, "invalid duration '%s': " DURATION_FORM, s);
		memcpy(buf, p, len);
		buf[len] = '\0';
		return parse_colon_duration(s, buf, seconds, err);
	}
	int rc = parse_decimal(p, &end, &d);
	if (rc < 0)
		return errprintf(err, "invalid duration '%s': " DURATION_FORM, s);
	u = find_unit(duration_units, skip_space(end));
	if (!u)
		return errprintf(err, "invalid duration '%s': " DURATION_FORM, s);
	if (rc > 0 || decimal_scale(&d, u->mult, &v) < 0)
		return errprintf(err, "invalid duration '%s': too long", s);
	*seconds = v;
	return 0;
}

void duration_format_hms(struct strbuf *sb, uint64_t seconds)
{
	strbuf_addf(sb, "%02llu:%02u:%02u",
		    (unsigned long long)(seconds / 3600),
		    (unsigned)(seconds / 60 % 60), (unsigned)(seconds % 60));
}

int count_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

char *decimal_u64(char *p, uint64_t v)
{
	char buf[24], *q = buf + sizeof(buf);

	do {
		*--q = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (q < buf + sizeof(buf))
		*p++ = *q++;
	return p;
}

char *decimal_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return decimal_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return decimal_u64(p, (uint64_t)v);
}

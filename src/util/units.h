/*
 * Sizes and durations as people write them in profiles and on the command
 * line.  Sizes: a number (decimals allowed) and a suffix B, K, KB, Kb,
 * KiB (and the same with M, G, T), letters in any case.  As in the batch
 * systems, K, M, G, T alone are binary (Slurm's --mem=4G is 4 GiB) and so
 * are kb, mb, gb, tb with a lower-case b (PBS's mem=4gb, also 4Gb); with
 * an upper-case B they are SI (4GB = 4 * 10^9, 4kB = 4000); KiB, MiB,
 * GiB, TiB are binary in any case.  A bare number, or B, is bytes.
 * Durations: HH:MM:SS, MM:SS, D-HH:MM:SS, or a number with s/m/h/d (90m,
 * 2h, 1.5h).
 */
#ifndef CLUSTER_UNITS_H
#define CLUSTER_UNITS_H

#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

/* v's decimal digits (and sign) at p, no NUL after them; the end.  At
 * most 20 bytes (21 with a sign).  Without printf, whose cost shows in a
 * record or a frame a task. */
char *decimal_u64(char *p, uint64_t v);
char *decimal_i64(char *p, int64_t v);

/* A whole number in [min, max], decimal digits only (no sign, no
 * spaces); -1 on anything else, overflow included. */
int count_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parse a size into bytes; rounds a fractional byte count up. */
int size_parse(const char *s, uint64_t *bytes, struct err *err);

/* Human form, binary units, at most one decimal: "1.5 GiB", "512 B". */
void size_format(struct strbuf *sb, uint64_t bytes);

/* Round up to a whole number of `unit` bytes (unit > 0). */
uint64_t size_ceil_units(uint64_t bytes, uint64_t unit);

/* Parse a duration into seconds. */
int duration_parse(const char *s, uint64_t *seconds, struct err *err);

/* HH:MM:SS (hours may exceed 24), as PBS and Slurm both accept. */
void duration_format_hms(struct strbuf *sb, uint64_t seconds);

#endif

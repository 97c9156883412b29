/*
 * Error reporting for parsers and validators: functions take an optional
 * `struct err *` (may be NULL) and fill it with one line in the project's
 * message style (lowercase, no full stop, subject quoted).  errprintf
 * always returns -1 so a failure is one statement:
 *
 *	return errprintf(err, "%s:%d:%d: unknown key '%s'", file, l, c, key);
 */
#ifndef CLUSTER_ERR_H
#define CLUSTER_ERR_H

struct err {
	char text[256];
};

int errprintf(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the existing message with "prefix: ". Returns -1. */
int errprefix(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

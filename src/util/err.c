#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int errprintf(struct err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return -1;
}

int errprefix(struct err *err, const char *fmt, ...)
{
	char prefix[sizeof(err->text)], old[sizeof(err->text)];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->text, sizeof(old));
	/* Truncation is fine here: the text is one line for a person. */
	size_t n = strlen(prefix);
	if (n > sizeof(err->text) - 3)
		n = sizeof(err->text) - 3;
	memcpy(err->text, prefix, n);
	memcpy(err->text + n, ": ", 2);
	size_t room = sizeof(err->text) - n - 3;
	size_t m = strnlen(old, room);
	memcpy(err->text + n + 2, old, m);
	err->text[n + 2 + m] = '\0';
	return -1;
}

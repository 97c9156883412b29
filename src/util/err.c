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
	snprintf(err->text, sizeof(err->text), "%s: %s", prefix, old);
	return -1;
}

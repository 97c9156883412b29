#include "util/vec.h"

#include <stdint.h>
#include <stdlib.h>

void *vec_grow(void *p, size_t *alloc, size_t need, size_t size)
{
	if (need <= *alloc)
		return p;
	size_t n = *alloc ? *alloc : 8;
	while (n < need)
		n *= 2;
	if (size && n > SIZE_MAX / size)
		abort();
	p = realloc(p, n * size);
	if (!p)
		abort();
	*alloc = n;
	return p;
}

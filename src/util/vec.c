#include "util/vec.h"

#include "util/xalloc.h"

void *vec_grow(void *p, size_t *alloc, size_t need, size_t size)
{
	if (need <= *alloc)
		return p;
	size_t n = *alloc ? *alloc : 8;
	while (n < need)
		n *= 2;
	p = xreallocarray(p, n, size);
	*alloc = n;
	return p;
}

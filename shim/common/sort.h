/* qsort for arrays that may be empty. */
#ifndef POOLWATCH_SORT_H
#define POOLWATCH_SORT_H

#include <stdlib.h>

/* qsort, except on an empty or one-element array: the tables of a process
 * with nothing held are NULL arrays, and qsort(NULL, 0, ...) is undefined
 * behaviour (UBSan flagged it at clean exits and on the monitor's ticks). */
static inline void pw__sort(void *base, size_t count, size_t size,
                            int (*compare)(const void *, const void *)) {
  if (count > 1) qsort(base, count, size, compare);
}

#endif

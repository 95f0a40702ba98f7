/* Turning return addresses into function, file:line and module+offset,
 * and source frames (a Python function at its .py line) into the same
 * shape. Runs only when a report is written, once per distinct stack. */
#ifndef POOLWATCH_SYMBOLIZE_H
#define POOLWATCH_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/format.h"

typedef struct pw__symbolizer pw__symbolizer;

/* Reads the process' current mappings. Returns NULL when out of memory;
 * pw__symbolize then still fills in modules and offsets. */
pw__symbolizer *pw__symbolizer_new(void);
/* Fills OUT with at most CAP frames for the N return addresses (or source
 * frames' stack words) ADDRS and returns how many it wrote. Each address is looked up one byte earlier,
 * inside the call. Where debug info shows functions inlined at that
 * point, each becomes a frame of its own (innermost first), as in
 * LeakSanitizer, so an -O2 build still shows its helpers. Strings live as
 * long as the symbolizer. */
size_t pw__symbolize(pw__symbolizer *s, const uintptr_t *addrs, size_t n, pw__frame *out,
                     size_t cap);
void pw__symbolizer_free(pw__symbolizer *s);

#endif

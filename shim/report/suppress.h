/* Suppressions in LeakSanitizer's form: one `leak:PATTERN` a line, where
 * PATTERN matches (as a substring, `*` matching any run of characters) a
 * function, file or module name anywhere in a leak's stack. `#` starts a
 * comment. */
#ifndef POOLWATCH_SUPPRESS_H
#define POOLWATCH_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "report/symbolize.h"

typedef struct pw__suppressions pw__suppressions;

/* Reads PATH. On failure warns once and returns NULL (nothing suppressed). */
pw__suppressions *pw__suppressions_load(const char *path);
/* Parses TEXT. Lines that are not `leak:` rules are ignored; the first
 * one gets a warning (one per process, like every configuration
 * problem). */
pw__suppressions *pw__suppressions_parse(const char *text, const char *origin);
bool pw__suppressions_match(const pw__suppressions *s, const pw__frame *frames, size_t n);
void pw__suppressions_free(pw__suppressions *s);

/* Does PATTERN occur in TEXT, `*` matching any run of characters? */
bool pw__pattern_match(const char *pattern, const char *text);

#endif

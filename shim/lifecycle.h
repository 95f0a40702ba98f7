/* Start-up, fork and exit: when poolwatch reads its configuration, what a
 * forked child keeps, and the report written when the process ends. */
#ifndef POOLWATCH_LIFECYCLE_H
#define POOLWATCH_LIFECYCLE_H

#include "options.h"
#include "stack.h"

#define PW__EXPORT __attribute__((visibility("default")))

/* Read once, on the first hooked call (not at load: a process that never
 * uses libpq must not even see a warning about a bad option). */
extern pw__options pw__config;

/* Reads the configuration on the first call; cheap afterwards. */
void pw__init(void);

/* The caller's stack, POOLWATCH_STACK_DEPTH frames deep. */
static inline const pw__stack *pw__capture(void) {
  return pw__stack_capture((int)pw__config.stack_depth);
}

#endif

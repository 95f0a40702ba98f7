/* Start-up, fork and exit: when poolwatch reads its configuration, what a
 * forked child keeps, and the report written when the process ends. */
#ifndef POOLWATCH_LIFECYCLE_H
#define POOLWATCH_LIFECYCLE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/options.h"
#include "core/stack.h"

#define PW__EXPORT __attribute__((visibility("default")))

/* Read once, on the first hooked call (not at load: a process that never
 * uses libpq must not even see a warning about a bad option). */
extern pw__options pw__config;

/* Reads the configuration and starts what it asks for, on the first call
 * (and again in a forked child); one load afterwards, since every hook
 * calls it. */
extern _Atomic bool pw__ready;
void pw__init_slow(void);
static inline void pw__init(void) {
  if (!atomic_load_explicit(&pw__ready, memory_order_acquire)) pw__init_slow();
}

/* The caller's stack, POOLWATCH_STACK_DEPTH frames deep; NULL with depth
 * 0, which turns stack capture off. */
static inline const pw__stack *pw__capture(void) {
  return pw__config.stack_depth ? pw__stack_capture((int)pw__config.stack_depth) : NULL;
}

/* Writes this process image's report once: on stderr, and the files when
 * POOLWATCH_OUTPUT_DIR is set. REASON is "exit" or "exec". Returns whether
 * unsuppressed leaks remain. Nothing when the process never used libpq or
 * a pool. */
bool pw__report_final(const char *reason);
/* The exec the report was written for failed: the process goes on, and
 * reports again at exit, into the same files. */
void pw__report_final_undone(void);
/* The pid this process image started with (a vfork child differs). */
#include <sys/types.h>
pid_t pw__image_pid(void);

#endif

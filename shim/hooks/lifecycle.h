/* Start-up, fork and exit: when poolwatch reads its configuration (see
 * core/config.h), what a forked child keeps, and the final report
 * (report/at_exit.h) when the process ends. */
#ifndef POOLWATCH_LIFECYCLE_H
#define POOLWATCH_LIFECYCLE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "core/config.h"
#include "core/source_frames.h"
#include "core/stack.h"
#include "core/stack_cache.h"

#define PW__EXPORT __attribute__((visibility("default")))

/* Reads the configuration and starts what it asks for, on the first call
 * (and again in a forked child); one load afterwards, since every hook
 * calls it. */
extern _Atomic bool pw__ready;
void pw__init_slow(void);
static inline void pw__init(void) {
  if (!atomic_load_explicit(&pw__ready, memory_order_acquire)) pw__init_slow();
}

/* The caller's stack, POOLWATCH_STACK_DEPTH frames deep; NULL with depth
 * 0, which turns stack capture off. Inlined into the hook, whose frame and
 * return address key the call path: a call site seen before is found in
 * the thread's cache here, without a call (core/stack_cache.h). */
static inline __attribute__((always_inline)) const pw__stack *pw__capture(void) {
  if (!pw__config.stack_depth) return NULL;
  uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
  uintptr_t return_to = (uintptr_t)__builtin_return_address(0);
#if PW__STACK_CACHE
  if (!pw__source_walker_active()) {
    const pw__stack *cached = pw__stack_cache_find(frame, return_to);
    if (cached) return cached;
  }
#endif
  return pw__stack_capture_from((int)pw__config.stack_depth, frame, return_to);
}

/* An exec is about to replace this process image: writes its report now
 * (report/at_exit.h), with reason "exec". Does nothing and returns false
 * in a vfork child, which shares its parent's memory, and in a process
 * that never used poolwatch. */
bool pw__report_before_exec(void);
/* The exec failed: the process goes on, and reports again at exit, into
 * the same files. */
void pw__report_exec_failed(void);

#endif

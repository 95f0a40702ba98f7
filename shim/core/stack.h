/* Call stacks: captured as raw return addresses with libunwind on the hot
 * path, interned so identical stacks share one record, and symbolized only
 * when a report is written. An interned stack lives until the process
 * exits, so records can point at it without reference counting. */
#ifndef POOLWATCH_STACK_H
#define POOLWATCH_STACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/thread_cells.h"

typedef struct pw__stack {
  uint64_t hash;
  uint32_t id;              /* 1, 2, ... in order of first sight */
  uint16_t depth;
  struct pw__stack *next;   /* in its hash bucket */
  /* Per call site totals of completed checkouts (connection-seconds),
   * in cells per thread (pw__stack_hold_cell): threads add to them on
   * every checkin, and a shared atomic would bounce between cores. */
  pw__cells holds;
  uintptr_t frames[];
} pw__stack;

typedef struct pw__stack_hold_cell {
  _Atomic uint64_t hold_ns, holds;
} pw__stack_hold_cell;

/* A checkout from STACK was held HELD_NS. */
static inline void pw__stack_hold_add(const pw__stack *stack, uint64_t held_ns) {
  pw__stack_hold_cell *c =
      pw__cells_mine(&((pw__stack *)stack)->holds, sizeof(pw__stack_hold_cell));
  if (!c) return;
  pw__cell_add(&c->hold_ns, held_ns);
  pw__cell_add(&c->holds, 1);
}

/* The totals of STACK's completed checkouts. */
static inline void pw__stack_hold_totals(const pw__stack *stack, uint64_t *hold_ns,
                                         uint64_t *holds) {
  *hold_ns = *holds = 0;
  for (const pw__stack_hold_cell *c = pw__cells_first(&stack->holds); c;
       c = pw__cells_next(&stack->holds, c)) {
    *hold_ns += pw__cell_get(&c->hold_ns);
    *holds += pw__cell_get(&c->holds);
  }
}

/* Frames whose addresses fall in [begin, end) are poolwatch's own and are
 * dropped from the top of every captured stack. */
void pw__stack_set_own_range(uintptr_t begin, uintptr_t end);

/* Captures the caller's stack, at most DEPTH frames, and interns it.
 * Returns NULL only when memory runs out. */
const pw__stack *pw__stack_capture(int depth);
/* The same, with the key the caches know the call path by: FRAME and
 * RETURN_TO of a function of poolwatch's on the path (a hook's own), as
 * pw__capture (hooks/lifecycle.h) gives them after its cache lookup. */
const pw__stack *pw__stack_capture_from(int depth, uintptr_t frame, uintptr_t return_to);

/* Interns DEPTH addresses (exposed for unit tests and benchmarks). */
const pw__stack *pw__stack_intern(const uintptr_t *frames, int depth);

/* Number of distinct stacks interned so far. */
uint32_t pw__stack_count(void);

/* Calls FN for every interned stack. Not safe against concurrent interning
 * of the same bucket; used at report time after a snapshot. */
void pw__stack_foreach(void (*fn)(const pw__stack *, void *), void *arg);
/* False once a walk skipped a shard whose lock stayed held past its
 * patience (common/spinlock.h). */
bool pw__stacks_complete(void);

/* Lock/unlock every shard around fork(), so the child never inherits a
 * table in the middle of an update. */
void pw__stack_atfork_prepare(void);
void pw__stack_atfork_parent(void);
void pw__stack_atfork_child(void);

#endif

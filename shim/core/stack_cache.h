/* A per-thread cache of captured stacks, so a call site that checks out
 * again and again is not unwound again and again (unwinding costs about a
 * hundred instructions a frame; a pool's hot path is a few hundred in all).
 *
 * A capture is keyed by where poolwatch was entered from: its frame
 * address and return address. A hit is only trusted after checking that
 * every return address of the cached stack still sits in the stack slot
 * it was found in: the same return addresses at the same places are the
 * same chain of calls. Anything else (another caller at the same depth, a
 * recursion, a signal frame) misses and is unwound in full.
 *
 * This relies on x86-64's call instruction storing the return address
 * just below the caller's stack pointer; elsewhere the cache is off. */
#ifndef POOLWATCH_STACK_CACHE_H
#define POOLWATCH_STACK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/stack.h"

#if defined(__x86_64__)
#define PW__STACK_CACHE 1
#else
#define PW__STACK_CACHE 0
#endif

/* Where a return address was found on the stack, and the address: a
 * chain of these is what a cached stack is checked against. */
typedef struct pw__return_link {
  uintptr_t slot, address;
} pw__return_link;

/* Whether each of the N links' return addresses still sits in its slot.
 * The slots lie in the callers' frames, above the capture on this thread's
 * stack, so they can be read. Differences are gathered without a branch
 * per frame: a hit, the common case, reads them all anyway. Scalar and
 * unrolled: four instructions a frame (load the slot's address, load the
 * slot, compare, gather), where the vectorized loop the compiler makes by
 * default takes six. */
__attribute__((optimize("no-tree-vectorize"))) static inline bool pw__return_chain_holds(
    const pw__return_link *chain, unsigned n) {
  uintptr_t differ = 0;
#pragma GCC unroll 4
  for (unsigned i = 0; i < n; i++) differ |= *(const uintptr_t *)chain[i].slot ^ chain[i].address;
  return !differ;
}

/* The way of a set of WAYS to store into: the first empty one (bit w of
 * OCCUPIED clear), else round robin through *NEXT_VICTIM. */
static inline unsigned pw__cache_way_to_fill(unsigned occupied, unsigned ways,
                                             unsigned *next_victim) {
  for (unsigned w = 0; w < ways; w++)
    if (!(occupied & (1u << w))) return w;
  return (*next_victim)++ % ways;
}

/* COUNT zeroed elements of SIZE for the calling thread's own cache, freed
 * when the thread exits, after FORGET has cleared the cache's pointer to
 * them (code run by a later thread-exit destructor may capture again, and
 * must not find freed memory); NULL when memory runs out. */
void *pw__cache_calloc(size_t count, size_t size, void (*forget)(void));

/* The cached stack entered at (FRAME, RETURN_TO), still valid, or NULL. */
const pw__stack *pw__stack_cache_find(uintptr_t frame, uintptr_t return_to);
/* Remembers STACK for (FRAME, RETURN_TO): SLOTS[i] is the address where
 * STACK->frames[i] was found. */
void pw__stack_cache_store(uintptr_t frame, uintptr_t return_to, const pw__stack *stack,
                           const uintptr_t *slots);

#endif

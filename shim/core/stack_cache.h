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
#include <stdint.h>

#include "core/stack.h"

#if defined(__x86_64__)
#define PW__STACK_CACHE 1
#else
#define PW__STACK_CACHE 0
#endif

/* The cached stack entered at (FRAME, RETURN_TO), still valid, or NULL. */
const pw__stack *pw__stack_cache_find(uintptr_t frame, uintptr_t return_to);
/* Remembers STACK for (FRAME, RETURN_TO): SLOTS[i] is the address where
 * STACK->frames[i] was found. */
void pw__stack_cache_store(uintptr_t frame, uintptr_t return_to, const pw__stack *stack,
                           const uintptr_t *slots);

#endif

/* A per-thread cache of captured stacks with source frames in them.
 *
 * Interpreted code runs every function on the same native frames (one
 * _PyEval_EvalFrameDefault stands for every Python call site), so such a
 * stack is keyed by the source frames as well as by where poolwatch was
 * entered from. A hit costs reading the source frames, which the walker
 * does anyway, and checking that every native return address of the
 * unwind still sits in the stack slot it was found in (as stack_cache.h
 * does for native stacks): no unwind, no merge. */
#ifndef POOLWATCH_SOURCE_STACKS_H
#define POOLWATCH_SOURCE_STACKS_H

#include <stdint.h>

#include "core/source_walk.h"
#include "core/stack.h"

/* The stack cached for SOURCE entered at (FRAME, RETURN_TO) with DEPTH,
 * still valid, or NULL. */
const pw__stack *pw__source_stacks_find(uintptr_t frame, uintptr_t return_to, int depth,
                                        const pw__source_stack *source);
/* Remembers STACK, merged from SOURCE and the N native return addresses
 * NATIVE found at SLOTS[i]. */
void pw__source_stacks_store(uintptr_t frame, uintptr_t return_to, int depth,
                             const pw__source_stack *source, const uintptr_t *native,
                             const uintptr_t *slots, int n, const pw__stack *stack);

#endif

/* The per-thread cache of recently captured stacks. */
#include "core/stack_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/options.h"

#define ENTRIES 32

typedef struct entry {
  uintptr_t frame, return_to;
  const pw__stack *stack; /* NULL: empty */
  unsigned depth;
  /* Where each return address was found, and the address itself, side
   * by side: a hit reads the pairs in order, and nothing of the stack
   * record, whose frames may sit on lines another thread just wrote. */
  struct {
    uintptr_t slot, address;
  } chain[PW__MAX_STACK_DEPTH];
} entry;

/* Allocated on a thread's first capture and freed when it exits: about
 * 65 KiB, so threads that never check out pay nothing. */
static __thread entry *entries __attribute__((tls_model("initial-exec")));
static pthread_key_t cleanup_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void make_key(void) { pthread_key_create(&cleanup_key, free); }

static entry *slot_for(uintptr_t frame, uintptr_t return_to) {
  uint64_t h = (frame ^ (return_to << 7)) * 0x9E3779B97F4A7C15ull;
  return &entries[(h >> 40) % ENTRIES];
}

/* Scalar and unrolled: four instructions a frame (load the slot's
 * address, load the slot, compare, gather), where the vectorized loop
 * the compiler makes by default takes six. */
__attribute__((optimize("no-tree-vectorize"))) const pw__stack *pw__stack_cache_find(
    uintptr_t frame, uintptr_t return_to) {
  if (!entries) return NULL;
  entry *e = slot_for(frame, return_to);
  if (!e->stack || e->frame != frame || e->return_to != return_to) return NULL;
  /* The slots lie in the callers' frames, above FRAME on this thread's
   * stack, so they can be read. Differences are gathered without a branch
   * per frame: a hit, the common case, reads them all anyway. */
  uintptr_t differ = 0;
  unsigned depth = e->depth;
#pragma GCC unroll 4
  for (unsigned i = 0; i < depth; i++)
    differ |= *(const uintptr_t *)e->chain[i].slot ^ e->chain[i].address;
  return differ ? NULL : e->stack;
}

void pw__stack_cache_store(uintptr_t frame, uintptr_t return_to, const pw__stack *stack,
                           const uintptr_t *slots) {
  if (!stack) return;
  if (!entries) {
    pthread_once(&key_once, make_key);
    if (!(entries = calloc(ENTRIES, sizeof(entry)))) return;
    pthread_setspecific(cleanup_key, entries);
  }
  entry *e = slot_for(frame, return_to);
  e->frame = frame;
  e->return_to = return_to;
  e->stack = stack;
  e->depth = stack->depth;
  for (unsigned i = 0; i < e->depth; i++) {
    e->chain[i].slot = slots[i];
    e->chain[i].address = stack->frames[i];
  }
}

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
  uintptr_t slots[PW__MAX_STACK_DEPTH];
} entry;

/* Allocated on a thread's first capture and freed when it exits: about
 * 33 KiB, so threads that never check out pay nothing. */
static __thread entry *entries __attribute__((tls_model("initial-exec")));
static pthread_key_t cleanup_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void make_key(void) { pthread_key_create(&cleanup_key, free); }

static entry *slot_for(uintptr_t frame, uintptr_t return_to) {
  uint64_t h = (frame ^ (return_to << 7)) * 0x9E3779B97F4A7C15ull;
  return &entries[(h >> 40) % ENTRIES];
}

const pw__stack *pw__stack_cache_find(uintptr_t frame, uintptr_t return_to) {
  if (!entries) return NULL;
  entry *e = slot_for(frame, return_to);
  if (!e->stack || e->frame != frame || e->return_to != return_to) return NULL;
  /* The slots lie in the callers' frames, above FRAME on this thread's
   * stack, so they can be read. */
  for (uint16_t i = 0; i < e->stack->depth; i++)
    if (*(const uintptr_t *)e->slots[i] != e->stack->frames[i]) return NULL;
  return e->stack;
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
  memcpy(e->slots, slots, stack->depth * sizeof(uintptr_t));
}

/* The per-thread cache of recently captured stacks. */
#include "core/stack_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/options.h"

/* Sets of WAYS entries, chosen by the key. Two call sites that reach a
 * hook at the same depth through one helper share the key (the capture's
 * own frame and return address): with one entry per key they evicted each
 * other on every call and each checkout unwound in full, 6.5 us per
 * checkout+checkin against 0.32 us for one site. A set holds up to WAYS
 * such sites side by side. */
#define SETS 8
#define WAYS 4
#define ENTRIES (SETS * WAYS)

typedef struct entry {
  uintptr_t frame, return_to;
  /* In a set's first entry: the way the next store replaces, and the way
   * the last hit was in. */
  unsigned next_victim, last_hit;
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

static entry *set_for(uintptr_t frame, uintptr_t return_to) {
  uint64_t h = (frame ^ (return_to << 7)) * 0x9E3779B97F4A7C15ull;
  return &entries[(h >> 40) % SETS * WAYS];
}

/* Whether E's chain of return addresses still sits where it was found. */
__attribute__((optimize("no-tree-vectorize"))) static inline bool chain_holds(const entry *e) {
  /* The slots lie in the callers' frames, above FRAME on this thread's
   * stack, so they can be read. Differences are gathered without a branch
   * per frame: a hit, the common case, reads them all anyway. Scalar and
   * unrolled: four instructions a frame (load the slot's address, load
   * the slot, compare, gather), where the vectorized loop the compiler
   * makes by default takes six. */
  uintptr_t differ = 0;
  unsigned depth = e->depth;
#pragma GCC unroll 4
  for (unsigned i = 0; i < depth; i++)
    differ |= *(const uintptr_t *)e->chain[i].slot ^ e->chain[i].address;
  return !differ;
}

const pw__stack *pw__stack_cache_find(uintptr_t frame, uintptr_t return_to) {
  if (!entries) return NULL;
  entry *set = set_for(frame, return_to);
  /* The way hit last is tried first: two call sites with one key (a
   * helper reached from two places at the same depth) differ deep in the
   * chain, so a miss reads nearly every frame before it fails, and a site
   * called in a loop behind another's entry paid that on every call. */
  unsigned first = set->last_hit;
  for (unsigned i = 0; i < WAYS; i++) {
    unsigned w = (first + i) % WAYS;
    const entry *e = &set[w];
    if (e->stack && e->frame == frame && e->return_to == return_to && chain_holds(e)) {
      set->last_hit = w;
      return e->stack;
    }
  }
  return NULL;
}

void pw__stack_cache_store(uintptr_t frame, uintptr_t return_to, const pw__stack *stack,
                           const uintptr_t *slots) {
  if (!stack) return;
  if (!entries) {
    pthread_once(&key_once, make_key);
    if (!(entries = calloc(ENTRIES, sizeof(entry)))) return;
    pthread_setspecific(cleanup_key, entries);
  }
  entry *set = set_for(frame, return_to);
  /* An empty way first, then round robin. */
  entry *e = NULL;
  for (int w = 0; w < WAYS && !e; w++)
    if (!set[w].stack) e = &set[w];
  if (!e) {
    e = &set[set->next_victim % WAYS];
    set->next_victim++;
  }
  e->frame = frame;
  e->return_to = return_to;
  e->stack = stack;
  e->depth = stack->depth;
  for (unsigned i = 0; i < e->depth; i++) {
    e->chain[i].slot = slots[i];
    e->chain[i].address = stack->frames[i];
  }
}

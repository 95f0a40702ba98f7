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
  pw__return_link chain[PW__MAX_STACK_DEPTH];
} entry;

/* Allocated on a thread's first capture and freed when it exits: about
 * 65 KiB, so threads that never check out pay nothing. */
static __thread entry *entries __attribute__((tls_model("initial-exec")));

/* The caches' memory of each thread (this one's, source_stacks.c's and
 * source_walk.c's), freed by one thread-exit destructor. */
#define CACHES 3
typedef struct cache_block {
  void *memory;
  void (*forget)(void);
} cache_block;
static __thread cache_block caches[CACHES] __attribute__((tls_model("initial-exec")));
static pthread_key_t cleanup_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void free_caches(void *unused) {
  (void)unused;
  for (int i = 0; i < CACHES; i++) {
    if (!caches[i].memory) continue;
    caches[i].forget();
    free(caches[i].memory);
    caches[i].memory = NULL;
  }
}

static void make_key(void) { pthread_key_create(&cleanup_key, free_caches); }

void *pw__cache_calloc(size_t count, size_t size, void (*forget)(void)) {
  int slot = 0;
  while (slot < CACHES && caches[slot].memory) slot++;
  if (slot == CACHES) return NULL;
  pthread_once(&key_once, make_key);
  if (!(caches[slot].memory = calloc(count, size))) return NULL;
  caches[slot].forget = forget;
  pthread_setspecific(cleanup_key, caches); /* non-NULL: the destructor runs */
  return caches[slot].memory;
}

static void forget_entries(void) { entries = NULL; }

static entry *set_for(uintptr_t frame, uintptr_t return_to) {
  uint64_t h = (frame ^ (return_to << 7)) * 0x9E3779B97F4A7C15ull;
  return &entries[(h >> 40) % SETS * WAYS];
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
    if (e->stack && e->frame == frame && e->return_to == return_to &&
        pw__return_chain_holds(e->chain, e->depth)) {
      set->last_hit = w;
      return e->stack;
    }
  }
  return NULL;
}

void pw__stack_cache_store(uintptr_t frame, uintptr_t return_to, const pw__stack *stack,
                           const uintptr_t *slots) {
  if (!stack) return;
  if (!entries && !(entries = pw__cache_calloc(ENTRIES, sizeof(entry), forget_entries))) return;
  entry *set = set_for(frame, return_to);
  unsigned occupied = 0;
  for (unsigned w = 0; w < WAYS; w++) occupied |= (set[w].stack != NULL) << w;
  entry *e = &set[pw__cache_way_to_fill(occupied, WAYS, &set->next_victim)];
  e->frame = frame;
  e->return_to = return_to;
  e->stack = stack;
  e->depth = stack->depth;
  for (unsigned i = 0; i < e->depth; i++) {
    e->chain[i].slot = slots[i];
    e->chain[i].address = stack->frames[i];
  }
}

/* The per-thread cache of recently captured stacks. */
#include "core/stack_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WAYS PW__STACK_CACHE_WAYS
/* At most this much a thread: as many sets (a power of two) as fit. */
#define BUDGET_BYTES (128u * 1024)
#define SETS_MIN 8
#define SETS_MAX 64
_Static_assert(SETS_MAX <= 64, "a set is chosen by six bits of the frame's hash");

typedef pw__stack_cache_entry entry;

__thread pw__stack_cache pw__stack_cache_mine __attribute__((tls_model("initial-exec")));

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

static void forget_entries(void) { pw__stack_cache_mine.entries = NULL; }

/* Allocates the calling thread's entries for stacks up to LINKS frames;
 * false when memory runs out. */
static bool allocate(unsigned links) {
  size_t stride = sizeof(entry) + links * sizeof(pw__return_link);
  stride = (stride + 63) & ~(size_t)63; /* whole cache lines */
  size_t sets = SETS_MIN;
  while (sets < SETS_MAX && sets * 2 * WAYS * stride <= BUDGET_BYTES) sets *= 2;
  char *entries = pw__cache_calloc(sets * WAYS, stride, forget_entries);
  if (!entries) return false;
  pw__stack_cache_mine =
      (pw__stack_cache){.entries = entries, .stride = stride, .set_mask = sets - 1, .links = links};
  return true;
}

void pw__stack_cache_store(uintptr_t frame, uintptr_t return_to, const pw__stack *stack,
                           const uintptr_t *slots, unsigned depth) {
  if (!stack) return;
  if (!pw__stack_cache_mine.entries && !allocate(depth)) return;
  if (stack->depth > pw__stack_cache_mine.links) return; /* deeper than the entries: unwound */
  char *set = pw__stack_cache_set(frame, return_to);
  entry *head = (entry *)set;
  unsigned occupied = 0;
  for (unsigned w = 0; w < WAYS; w++) occupied |= (pw__stack_cache_way(set, w)->stack != NULL) << w;
  entry *e = pw__stack_cache_way(set, pw__cache_way_to_fill(occupied, WAYS, &head->next_victim));
  e->frame = frame;
  e->return_to = return_to;
  e->stack = stack;
  e->depth = stack->depth;
  pw__return_chain_fill(e->chain, slots, stack->frames, e->depth);
}

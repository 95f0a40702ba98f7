/* The per-thread cache of stacks with source frames. */
#include "core/source_stacks.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Sets of WAYS entries, chosen by the key: a thread's hot call sites
 * usually enter poolwatch at the same native frame, and differ only in
 * their source frames. Deeper stacks than an entry holds are not cached. */
#define SETS 8
#define WAYS 4
#define MAX_NATIVE 64
#define MAX_WORDS 64

typedef struct entry {
  uintptr_t frame, return_to;
  uint64_t hash; /* of the source frames */
  const pw__stack *stack; /* NULL: empty */
  int depth, natives, count, runs;
  unsigned next_victim; /* in a set's first entry: the way the next store replaces */
  struct {
    uintptr_t slot, address;
  } chain[MAX_NATIVE];
  uintptr_t words[MAX_WORDS];
  int run_end[MAX_WORDS];
} entry;

/* Allocated on a thread's first capture in interpreted code, freed when
 * it exits. */
static __thread entry *entries __attribute__((tls_model("initial-exec")));
static pthread_key_t cleanup_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void make_key(void) { pthread_key_create(&cleanup_key, free); }

static uint64_t hash_source(const pw__source_stack *s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)s->count ^ ((uint64_t)s->runs << 32);
  for (int i = 0; i < s->count; i++) h = (h ^ s->words[i]) * 0xff51afd7ed558ccdull;
  for (int i = 0; i < s->runs; i++) h = (h ^ (uint64_t)s->run_end[i]) * 0xff51afd7ed558ccdull;
  return h ^ (h >> 29);
}

static entry *set_for(uintptr_t frame, uintptr_t return_to, uint64_t hash) {
  uint64_t h = (frame ^ (return_to << 7) ^ hash) * 0x9E3779B97F4A7C15ull;
  return &entries[(h >> 40) % SETS * WAYS];
}

static bool same_source(const entry *e, uint64_t hash, const pw__source_stack *s) {
  return e->hash == hash && e->count == s->count && e->runs == s->runs &&
         memcmp(e->words, s->words, (size_t)s->count * sizeof(uintptr_t)) == 0 &&
         memcmp(e->run_end, s->run_end, (size_t)s->runs * sizeof(int)) == 0;
}

/* Whether E's native return addresses still sit where they were found:
 * the slots lie in the callers' frames, above the capture on this
 * thread's stack, so they can be read. */
static bool chain_holds(const entry *e) {
  uintptr_t differ = 0;
  for (int i = 0; i < e->natives; i++)
    differ |= *(const uintptr_t *)e->chain[i].slot ^ e->chain[i].address;
  return !differ;
}

const pw__stack *pw__source_stacks_find(uintptr_t frame, uintptr_t return_to, int depth,
                                        const pw__source_stack *source) {
  if (!entries) return NULL;
  uint64_t hash = hash_source(source);
  entry *set = set_for(frame, return_to, hash);
  for (int w = 0; w < WAYS; w++) {
    const entry *e = &set[w];
    if (e->stack && e->frame == frame && e->return_to == return_to && e->depth == depth &&
        same_source(e, hash, source) && chain_holds(e))
      return e->stack;
  }
  return NULL;
}

void pw__source_stacks_store(uintptr_t frame, uintptr_t return_to, int depth,
                             const pw__source_stack *source, const uintptr_t *native,
                             const uintptr_t *slots, int n, const pw__stack *stack) {
  if (!stack || n > MAX_NATIVE || source->count > MAX_WORDS || source->runs > MAX_WORDS) return;
  if (!entries) {
    pthread_once(&key_once, make_key);
    if (!(entries = calloc(SETS * WAYS, sizeof(entry)))) return;
    pthread_setspecific(cleanup_key, entries);
  }
  uint64_t hash = hash_source(source);
  entry *set = set_for(frame, return_to, hash);
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
  e->hash = hash;
  e->stack = stack;
  e->depth = depth;
  e->natives = n;
  e->count = source->count;
  e->runs = source->runs;
  for (int i = 0; i < n; i++) {
    e->chain[i].slot = slots[i];
    e->chain[i].address = native[i];
  }
  memcpy(e->words, source->words, (size_t)source->count * sizeof(uintptr_t));
  memcpy(e->run_end, source->run_end, (size_t)source->runs * sizeof(int));
}

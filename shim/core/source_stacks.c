/* The per-thread cache of stacks with source frames. */
#include "core/source_stacks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_cache.h"

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
  pw__return_link chain[MAX_NATIVE];
  uintptr_t words[MAX_WORDS];
  int run_end[MAX_WORDS];
} entry;

/* Allocated on a thread's first capture in interpreted code, freed when
 * it exits. */
static __thread entry *entries __attribute__((tls_model("initial-exec")));

static void forget_entries(void) { entries = NULL; }

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

const pw__stack *pw__source_stacks_find(uintptr_t frame, uintptr_t return_to, int depth,
                                        const pw__source_stack *source) {
  if (!entries) return NULL;
  uint64_t hash = hash_source(source);
  entry *set = set_for(frame, return_to, hash);
  for (int w = 0; w < WAYS; w++) {
    const entry *e = &set[w];
    if (e->stack && e->frame == frame && e->return_to == return_to && e->depth == depth &&
        same_source(e, hash, source) &&
        pw__return_chain_holds(e->chain, (unsigned)e->natives))
      return e->stack;
  }
  return NULL;
}

void pw__source_stacks_store(uintptr_t frame, uintptr_t return_to, int depth,
                             const pw__source_stack *source, const uintptr_t *native,
                             const uintptr_t *slots, int n, const pw__stack *stack) {
  if (!stack || n > MAX_NATIVE || source->count > MAX_WORDS || source->runs > MAX_WORDS) return;
  if (!entries && !(entries = pw__cache_calloc(SETS * WAYS, sizeof(entry), forget_entries)))
    return;
  uint64_t hash = hash_source(source);
  entry *set = set_for(frame, return_to, hash);
  unsigned occupied = 0;
  for (unsigned w = 0; w < WAYS; w++) occupied |= (set[w].stack != NULL) << w;
  entry *e = &set[pw__cache_way_to_fill(occupied, WAYS, &set->next_victim)];
  e->frame = frame;
  e->return_to = return_to;
  e->hash = hash;
  e->stack = stack;
  e->depth = depth;
  e->natives = n;
  e->count = source->count;
  e->runs = source->runs;
  pw__return_chain_fill(e->chain, slots, native, (unsigned)n);
  memcpy(e->words, source->words, (size_t)source->count * sizeof(uintptr_t));
  memcpy(e->run_end, source->run_end, (size_t)source->runs * sizeof(int));
}

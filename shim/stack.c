#include "stack.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "options.h"
#include "spinlock.h"

/* Interned stacks live in a hash table split into shards, each with its
 * own lock, so threads checking out from different call sites do not
 * serialize on one lock. Buckets are chained through pw__stack.next. The
 * table is zero-initialized and needs no constructor: a process that never
 * captures a stack never touches its pages. */
#define SHARD_COUNT 64
#define BUCKETS_PER_SHARD 256

typedef struct shard {
  pw__spinlock lock;
  pw__stack *buckets[BUCKETS_PER_SHARD];
} shard;

static shard shards[SHARD_COUNT];
static _Atomic uint32_t next_id = 1;
static uintptr_t own_begin, own_end;

/* Each thread remembers the stacks it interned last, so a hot call site
 * costs a hash and a compare, no lock. Direct-mapped by hash. */
#define CACHE_SLOTS 64
static __thread const pw__stack *thread_cache[CACHE_SLOTS]
    __attribute__((tls_model("initial-exec")));

void pw__stack_set_own_range(uintptr_t begin, uintptr_t end) {
  own_begin = begin;
  own_end = end;
}

static uint64_t hash_frames(const uintptr_t *frames, int depth) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)depth;
  for (int i = 0; i < depth; i++) {
    h ^= (uint64_t)frames[i];
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return h;
}

static bool same(const pw__stack *s, uint64_t hash, const uintptr_t *frames, int depth) {
  return s->hash == hash && s->depth == depth &&
         memcmp(s->frames, frames, (size_t)depth * sizeof(uintptr_t)) == 0;
}

const pw__stack *pw__stack_intern(const uintptr_t *frames, int depth) {
  uint64_t hash = hash_frames(frames, depth);
  const pw__stack **cached = &thread_cache[hash % CACHE_SLOTS];
  if (*cached && same(*cached, hash, frames, depth)) return *cached;

  shard *sh = &shards[(hash >> 8) % SHARD_COUNT];
  pw__stack **bucket = &sh->buckets[(hash >> 20) % BUCKETS_PER_SHARD];
  pw__spin_lock(&sh->lock);
  pw__stack *s = *bucket;
  while (s && !same(s, hash, frames, depth)) s = s->next;
  if (!s) {
    s = calloc(1, sizeof(*s) + (size_t)depth * sizeof(uintptr_t));
    if (s) {
      s->hash = hash;
      s->depth = (uint16_t)depth;
      s->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
      memcpy(s->frames, frames, (size_t)depth * sizeof(uintptr_t));
      s->next = *bucket;
      *bucket = s;
    }
  }
  pw__spin_unlock(&sh->lock);
  if (s) *cached = s;
  return s;
}

#define OWN_FRAMES_MAX 4

const pw__stack *pw__stack_capture(int depth) {
  if (depth < 1) depth = 1;
  if (depth > PW__MAX_STACK_DEPTH) depth = PW__MAX_STACK_DEPTH;
  /* Room for poolwatch's own frames (a hook and this function, two or
   * three), which are dropped below. Each frame asked for is unwound, so
   * asking for many more than needed costs on every deep call site. */
  void *raw[PW__MAX_STACK_DEPTH + OWN_FRAMES_MAX];
  int n = unw_backtrace(raw, depth + OWN_FRAMES_MAX);
  int first = 0;
  while (first < n && (uintptr_t)raw[first] >= own_begin && (uintptr_t)raw[first] < own_end)
    first++;
  int kept = n - first;
  if (kept > depth) kept = depth;
  if (kept < 0) kept = 0;
  return pw__stack_intern((const uintptr_t *)(raw + first), kept);
}

uint32_t pw__stack_count(void) {
  return atomic_load_explicit(&next_id, memory_order_relaxed) - 1;
}

void pw__stack_foreach(void (*fn)(const pw__stack *, void *), void *arg) {
  for (int i = 0; i < SHARD_COUNT; i++) {
    pw__spin_lock(&shards[i].lock);
    for (int b = 0; b < BUCKETS_PER_SHARD; b++)
      for (pw__stack *s = shards[i].buckets[b]; s; s = s->next) fn(s, arg);
    pw__spin_unlock(&shards[i].lock);
  }
}

void pw__stack_atfork_prepare(void) {
  for (int i = 0; i < SHARD_COUNT; i++) pw__spin_lock(&shards[i].lock);
}

void pw__stack_atfork_parent(void) {
  for (int i = 0; i < SHARD_COUNT; i++) pw__spin_unlock(&shards[i].lock);
}

void pw__stack_atfork_child(void) {
  for (int i = 0; i < SHARD_COUNT; i++) pw__spin_reset(&shards[i].lock);
}

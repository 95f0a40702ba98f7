/* Capturing call stacks with libunwind and interning them. */
#include "core/stack.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/spinlock.h"
#include "core/source_frames.h"
#include "core/source_stacks.h"
#include "core/source_walk.h"
#include "core/stack_cache.h"
#include "core/unwind_loader.h"

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
  /* An empty stack compares no frames: memcmp with a null FRAMES is undefined. */
  return s->hash == hash && s->depth == depth &&
         (depth == 0 || memcmp(s->frames, frames, (size_t)depth * sizeof(uintptr_t)) == 0);
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
    size_t size = sizeof(*s) + (size_t)depth * sizeof(uintptr_t);
    s = aligned_alloc(_Alignof(pw__stack), (size + 63) & ~(size_t)63);
    if (s) {
      memset(s, 0, size);
      s->hash = hash;
      s->depth = (uint16_t)depth;
      s->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
      if (depth) memcpy(s->frames, frames, (size_t)depth * sizeof(uintptr_t));
      s->next = *bucket;
      *bucket = s;
    }
  }
  pw__spin_unlock(&sh->lock);
  if (s) *cached = s;
  return s;
}

/* Room for poolwatch's own frames (a hook and the capture, two to four),
 * which are dropped from the top. Each frame asked for is unwound, so
 * asking for many more than needed costs on every deep call site. */
#define OWN_FRAMES_MAX 4

static bool own(uintptr_t address) { return address >= own_begin && address < own_end; }

static int clamp_depth(int depth) {
  return depth < 1 ? 1 : depth > PW__MAX_STACK_DEPTH ? PW__MAX_STACK_DEPTH : depth;
}

#if PW__STACK_CACHE
/* Unwinds frame by frame into IPS (at most DEPTH frames, without
 * poolwatch's own at the top), noting in SLOTS where each return address
 * is stored (just below the stack pointer of the frame it returns to), for
 * the caches. Returns how many frames are kept, or -1 without libunwind;
 * *CACHEABLE says whether the slots can vouch for them. Inlined, so the
 * unwind starts in its caller's frame, as every capture's does. */
static inline __attribute__((always_inline)) int unwind_noting_slots(int depth, uintptr_t *ips,
                                                                     uintptr_t *slots,
                                                                     bool *cacheable) {
  int kept = 0;
  *cacheable = true;
  const pw__libunwind *unw = pw__libunwind_load();
  unw_context_t context;
  unw_cursor_t cursor;
  if (!unw || unw->getcontext(&context) != 0 || unw->init_local(&cursor, &context) != 0)
    return -1;
  while (kept < depth && unw->step(&cursor) > 0) {
    unw_word_t ip, sp;
    unw->get_reg(&cursor, UNW_REG_IP, &ip);
    unw->get_reg(&cursor, UNW_REG_SP, &sp);
    if (unw->is_signal_frame(&cursor) > 0) *cacheable = false;
    if (kept == 0 && own(ip)) continue;
    ips[kept] = ip;
    slots[kept] = sp - sizeof(uintptr_t);
    if (*(const uintptr_t *)slots[kept] != ip) *cacheable = false; /* not a plain call */
    kept++;
  }
  return kept;
}

static __attribute__((noinline)) const pw__stack *unwind_and_cache(int depth, uintptr_t frame,
                                                                   uintptr_t return_to) {
  uintptr_t ips[PW__MAX_STACK_DEPTH], slots[PW__MAX_STACK_DEPTH];
  bool cacheable;
  int kept = unwind_noting_slots(depth, ips, slots, &cacheable);
  if (kept < 0) return NULL;
  const pw__stack *stack = pw__stack_intern(ips, kept);
  if (cacheable) pw__stack_cache_store(frame, return_to, stack, slots, (unsigned)depth);
  return stack;
}
#endif

/* A full unwind into NATIVE (room for DEPTH + OWN_FRAMES_MAX), without
 * poolwatch's own frames: *FRAMES is where the caller's begin; returns how
 * many are kept, at most DEPTH. */
static int unwind_all(uintptr_t *native, int depth, const uintptr_t **frames) {
  const pw__libunwind *unw = pw__libunwind_load();
  int n = unw ? unw->backtrace((void **)native, depth + OWN_FRAMES_MAX) : 0;
  int first = 0;
  while (first < n && own(native[first])) first++;
  int kept = n - first < depth ? n - first : depth;
  *frames = native + first;
  return kept < 0 ? 0 : kept;
}

/* ---- source frames: begin ---------------------------------------------
 * In a thread running interpreted code, the walker reads the source
 * frames, and the native stack is merged with them: each interpreter
 * frame gives way to the source frames it ran. stack_cache.h's cache is
 * bypassed (the same native return addresses at the same places, one
 * _PyEval_EvalFrameDefault running every Python function, stand for every
 * Python call site); source_stacks.h keys its cache by the source frames
 * too, so a call site seen before is neither unwound nor merged again. */
static __attribute__((noinline)) const pw__stack *capture_source(const pw__source_walker *walker,
                                                                 int depth, uintptr_t frame,
                                                                 uintptr_t return_to) {
  pw__source_stack source;
  const pw__interpreter_code *code = walker->read(&source);
  uintptr_t native[PW__MAX_STACK_DEPTH + OWN_FRAMES_MAX];
  const uintptr_t *frames = native;
  int kept;
  if (!code) {
    kept = unwind_all(native, depth, &frames);
    return pw__stack_intern(frames, kept);
  }
#if PW__STACK_CACHE
  const pw__stack *cached = pw__source_stacks_find(frame, return_to, depth, &source);
  if (cached) return cached;
  uintptr_t slots[PW__MAX_STACK_DEPTH];
  bool cacheable;
  kept = unwind_noting_slots(depth, native, slots, &cacheable);
  if (kept < 0) kept = 0, cacheable = false; /* no libunwind: the source frames alone */
#else
  kept = unwind_all(native, depth, &frames);
#endif
  uintptr_t merged[PW__MAX_STACK_DEPTH];
  int m = pw__source_merge(code, &source, frames, kept, merged, depth);
  /* A call from poolwatch's own language code (its pool instrumentation)
   * starts the stack after the outermost of its frames, with the FFI's
   * native frames below it gone too. */
  int start = 0;
  for (int i = m - 1; i >= 0 && !start; i--)
    if (pw__source_frame_hidden(merged[i])) start = i + 1;
  if (start >= m) start = 0;
  const pw__stack *stack = pw__stack_intern(merged + start, m - start);
#if PW__STACK_CACHE
  if (cacheable)
    pw__source_stacks_store(frame, return_to, depth, &source, frames, slots, kept, stack);
#endif
  return stack;
}
/* ---- source frames: end ----------------------------------------------- */

/* DEPTH is clamped only where it is used: a cached stack was unwound at
 * the process's one depth already. */
__attribute__((noinline)) const pw__stack *pw__stack_capture_from(int depth, uintptr_t frame,
                                                                  uintptr_t return_to) {
  const pw__source_walker *walker = pw__source_walker_active();
  if (walker) return capture_source(walker, clamp_depth(depth), frame, return_to);
#if PW__STACK_CACHE
  const pw__stack *cached = pw__stack_cache_find(frame, return_to);
  return cached ? cached : unwind_and_cache(clamp_depth(depth), frame, return_to);
#else
  uintptr_t native[PW__MAX_STACK_DEPTH + OWN_FRAMES_MAX];
  const uintptr_t *frames;
  int kept = unwind_all(native, clamp_depth(depth), &frames);
  return pw__stack_intern(frames, kept);
#endif
}

__attribute__((noinline)) const pw__stack *pw__stack_capture(int depth) {
  return pw__stack_capture_from(depth, (uintptr_t)__builtin_frame_address(0),
                                (uintptr_t)__builtin_return_address(0));
}

uint32_t pw__stack_count(void) {
  return atomic_load_explicit(&next_id, memory_order_relaxed) - 1;
}

/* Set when a walk gave up on a shard whose lock stayed held. */
static _Atomic bool walk_incomplete;

bool pw__stacks_complete(void) { return !atomic_load(&walk_incomplete); }

void pw__stack_foreach(void (*fn)(const pw__stack *, void *), void *arg) {
  for (int i = 0; i < SHARD_COUNT; i++) {
    if (!pw__spin_lock_bounded(&shards[i].lock)) {
      atomic_store(&walk_incomplete, true);
      continue;
    }
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

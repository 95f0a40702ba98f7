/* A per-thread cache of captured stacks, so a call site that checks out
 * again and again is not unwound again and again (unwinding costs about a
 * hundred instructions a frame; a pool's hot path is a few hundred in all).
 *
 * A capture is keyed by where poolwatch was entered from: its frame
 * address and return address. A hit is only trusted after checking that
 * every return address of the cached stack still sits in the stack slot
 * it was found in: the same return addresses at the same places are the
 * same chain of calls. Anything else (another caller at the same depth, a
 * recursion, a signal frame) misses and is unwound in full.
 *
 * This relies on x86-64's call instruction storing the return address
 * just below the caller's stack pointer; elsewhere the cache is off. */
#ifndef POOLWATCH_STACK_CACHE_H
#define POOLWATCH_STACK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "core/stack.h"

#if defined(__x86_64__)
#define PW__STACK_CACHE 1
#else
#define PW__STACK_CACHE 0
#endif

/* Where a return address was found on the stack, and the address: a
 * chain of these is what a cached stack is checked against. */
typedef struct pw__return_link {
  uintptr_t slot, address;
} pw__return_link;

/* Whether each of the N links' return addresses still sits in its slot.
 * The slots lie in the callers' frames, above the capture on this thread's
 * stack, so they can be read. Differences are gathered without a branch
 * per frame: a hit, the common case, reads them all anyway. Scalar and
 * unrolled: four instructions a frame (load the slot's address, load the
 * slot, compare, gather), where the vectorized loop the compiler makes by
 * default takes six. The empty asm keeps the loop scalar; an optimize
 * attribute did too, but kept the function from being inlined. */
static inline bool pw__return_chain_holds(const pw__return_link *chain, unsigned n) {
  uintptr_t differ = 0;
#pragma GCC unroll 4
  for (unsigned i = 0; i < n; i++) {
    differ |= *(const uintptr_t *)chain[i].slot ^ chain[i].address;
    __asm__("" : "+r"(differ));
  }
  return !differ;
}

/* Fills N links from the slots where the return addresses were found and
 * the addresses: what pw__return_chain_holds checks later. */
static inline void pw__return_chain_fill(pw__return_link *chain, const uintptr_t *slots,
                                         const uintptr_t *addresses, unsigned n) {
  for (unsigned i = 0; i < n; i++) chain[i] = (pw__return_link){slots[i], addresses[i]};
}

/* The way of a set of WAYS to store into: the first empty one (bit w of
 * OCCUPIED clear), else round robin through *NEXT_VICTIM. */
static inline unsigned pw__cache_way_to_fill(unsigned occupied, unsigned ways,
                                             unsigned *next_victim) {
  for (unsigned w = 0; w < ways; w++)
    if (!(occupied & (1u << w))) return w;
  return (*next_victim)++ % ways;
}

/* COUNT zeroed elements of SIZE for the calling thread's own cache, freed
 * when the thread exits, after FORGET has cleared the cache's pointer to
 * them (code run by a later thread-exit destructor may capture again, and
 * must not find freed memory); NULL when memory runs out. */
void *pw__cache_calloc(size_t count, size_t size, void (*forget)(void));

/* Sets of PW__STACK_CACHE_WAYS entries, chosen by the key. Two call sites
 * that reach a hook at the same depth through one helper share the key
 * (the capture's own frame and return address): with one entry per key
 * they evicted each other on every call and each checkout unwound in full,
 * 6.5 us per checkout+checkin against 0.32 us for one site. A set holds up
 * to PW__STACK_CACHE_WAYS such sites side by side. */
#define PW__STACK_CACHE_WAYS 4

typedef struct pw__stack_cache_entry {
  uintptr_t frame, return_to;
  /* In a set's first entry: the way the next store replaces, and the way
   * the last hit was in. */
  unsigned next_victim, last_hit;
  const pw__stack *stack; /* NULL: empty */
  unsigned depth;
  /* Where each return address was found, and the address itself, side
   * by side: a hit reads the pairs in order, and nothing of the stack
   * record, whose frames may sit on lines another thread just wrote. As
   * many as the process's stack depth (pw__stack_cache.links). */
  pw__return_link chain[];
} pw__stack_cache_entry;

/* A thread's cache: its entries, allocated on its first store and freed
 * when it exits (threads that never check out pay nothing), and their
 * size and number, made at that store for the stacks' depth (the
 * process's). At the default depth of 32, 32 sets in 72 KiB (room for 128
 * frames an entry left 8 in 66 KiB, and two sites shared a set one time in
 * eight); at 128, 8 still. */
typedef struct pw__stack_cache {
  char *entries;   /* NULL until the first store */
  size_t stride;   /* bytes per entry */
  size_t set_mask; /* sets - 1; sets is a power of two */
  unsigned links;  /* room in each entry's chain */
} pw__stack_cache;
extern __thread pw__stack_cache pw__stack_cache_mine __attribute__((tls_model("initial-exec")));

static inline pw__stack_cache_entry *pw__stack_cache_way(char *set, unsigned way) {
  return (pw__stack_cache_entry *)(set + way * pw__stack_cache_mine.stride);
}

static inline char *pw__stack_cache_set(uintptr_t frame, uintptr_t return_to) {
  /* The frame hashed (a product's top bits are the ones every bit of it
   * reaches), the return address as it is: two hooked calls from one
   * function (a connect and its finish, a checkout and its checkin), with
   * one frame and return addresses a few bytes apart, get two sets. */
  uint64_t h = frame * 0x9E3779B97F4A7C15ull;
  size_t set = ((size_t)(h >> 58) ^ return_to) & pw__stack_cache_mine.set_mask;
  return pw__stack_cache_mine.entries + set * PW__STACK_CACHE_WAYS * pw__stack_cache_mine.stride;
}

static inline bool pw__stack_cache_holds(const pw__stack_cache_entry *e, uintptr_t frame,
                                         uintptr_t return_to) {
  return e->frame == frame && e->return_to == return_to && e->stack &&
         pw__return_chain_holds(e->chain, e->depth);
}

/* The cached stack entered at (FRAME, RETURN_TO), still valid, or NULL.
 * Inline: it is most of what a checkout's capture costs. */
static inline const pw__stack *pw__stack_cache_find(uintptr_t frame, uintptr_t return_to) {
  if (!pw__stack_cache_mine.entries) return NULL;
  char *set = pw__stack_cache_set(frame, return_to);
  pw__stack_cache_entry *head = (pw__stack_cache_entry *)set;
  /* The way hit last is tried first: two call sites with one key (a
   * helper reached from two places at the same depth) differ deep in the
   * chain, so a miss reads nearly every frame before it fails, and a site
   * called in a loop behind another's entry paid that on every call. The
   * others in order. */
  unsigned last = head->last_hit;
  pw__stack_cache_entry *e = pw__stack_cache_way(set, last);
  if (pw__stack_cache_holds(e, frame, return_to)) return e->stack;
  for (unsigned w = 0; w < PW__STACK_CACHE_WAYS; w++) {
    e = pw__stack_cache_way(set, w);
    if (w != last && pw__stack_cache_holds(e, frame, return_to)) {
      head->last_hit = w;
      return e->stack;
    }
  }
  return NULL;
}

/* Remembers STACK, unwound at most DEPTH frames deep, for (FRAME,
 * RETURN_TO): SLOTS[i] is the address where STACK->frames[i] was found. */
void pw__stack_cache_store(uintptr_t frame, uintptr_t return_to, const pw__stack *stack,
                           const uintptr_t *slots, unsigned depth);

#endif

/* Per-thread cells: the lookup table of each thread, claiming and giving
 * up cells, and the readers' walk. */
#include "core/thread_cells.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Payloads start a cache line after the head, so two threads' cells never
 * share a line. */
#define PAYLOAD_OFFSET 64
/* The thread's table, allocated on its first use (4 KiB: too much for
 * static TLS in a preloaded library). A miss (first use, or two sets on
 * one slot) walks the set's short list. */
__thread pw__cells_slot *pw__cells_table __attribute__((tls_model("initial-exec")));
__thread unsigned pw__cells_generation __attribute__((tls_model("initial-exec")));
static __thread pw__cell_head *owned __attribute__((tls_model("initial-exec")));
/* Its address is the thread's token: unique among live threads. */
static __thread char token __attribute__((tls_model("initial-exec")));

static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static inline void *payload_of(pw__cell_head *h) { return (char *)h + PAYLOAD_OFFSET; }
static inline pw__cell_head *head_of(const void *p) {
  return (pw__cell_head *)((char *)p - PAYLOAD_OFFSET);
}

/* Gives the thread's cells up when it exits, values kept. */
static void give_up(void *unused) {
  (void)unused;
  for (pw__cell_head *h = owned, *next; h; h = next) {
    next = h->next_owned;
    h->next_owned = NULL;
    atomic_store_explicit(&h->owner, NULL, memory_order_release);
  }
  owned = NULL;
  pw__cells_generation++;
  free(pw__cells_table);
  pw__cells_table = NULL;
}

static void make_key(void) { pthread_key_create(&exit_key, give_up); }

static pw__cell_head *claim(pw__cells *set, size_t size) {
  const void *me = &token;
  /* Ours already (a slot collision evicted it from the table)? */
  for (pw__cell_head *h = atomic_load_explicit(&set->first, memory_order_acquire); h;
       h = atomic_load_explicit(&h->next, memory_order_acquire))
    if (atomic_load_explicit(&h->owner, memory_order_relaxed) == me) return h;
  pthread_once(&key_once, make_key);
  if (!owned) pthread_setspecific(exit_key, &token); /* non-NULL: the destructor runs */
  /* One given up by a thread that exited. */
  for (pw__cell_head *h = atomic_load_explicit(&set->first, memory_order_acquire); h;
       h = atomic_load_explicit(&h->next, memory_order_acquire)) {
    const void *free_cell = NULL;
    if (atomic_compare_exchange_strong_explicit(&h->owner, &free_cell, me, memory_order_acquire,
                                                memory_order_relaxed)) {
      h->next_owned = owned;
      owned = h;
      return h;
    }
  }
  pw__cell_head *h = aligned_alloc(64, (PAYLOAD_OFFSET + size + 63) & ~(size_t)63);
  if (!h) return NULL;
  memset(h, 0, PAYLOAD_OFFSET + size);
  atomic_init(&h->owner, me);
  h->next_owned = owned;
  owned = h;
  pw__cell_head *first = atomic_load_explicit(&set->first, memory_order_relaxed);
  do {
    atomic_store_explicit(&h->next, first, memory_order_relaxed);
  } while (!atomic_compare_exchange_weak_explicit(&set->first, &first, h, memory_order_release,
                                                  memory_order_relaxed));
  return h;
}

void *pw__cells_claim(pw__cells *set, size_t size) {
  pw__cell_head *h = claim(set, size);
  if (!h) return NULL;
  if (!pw__cells_table && !(pw__cells_table = calloc(PW__CELLS_SLOTS, sizeof(pw__cells_slot))))
    return payload_of(h);
  pw__cells_slot *s = pw__cells_slot_of(pw__cells_table, set);
  s->set = set;
  s->payload = payload_of(h);
  return s->payload;
}

void *pw__cells_first(const pw__cells *set) {
  pw__cell_head *h = atomic_load_explicit(&((pw__cells *)set)->first, memory_order_acquire);
  return h ? payload_of(h) : NULL;
}

void *pw__cells_next(const pw__cells *set, const void *payload) {
  (void)set;
  pw__cell_head *h = atomic_load_explicit(&head_of(payload)->next, memory_order_acquire);
  return h ? payload_of(h) : NULL;
}

void pw__cells_zero(pw__cells *set, size_t size) {
  for (void *p = pw__cells_first(set); p; p = pw__cells_next(set, p)) memset(p, 0, size);
}

uint64_t pw__counter_get(const pw__counter *c) {
  uint64_t total = 0;
  for (void *p = pw__cells_first(&c->cells); p; p = pw__cells_next(&c->cells, p))
    total += pw__cell_get(p);
  return total;
}

void pw__counter_zero(pw__counter *c) { pw__cells_zero(&c->cells, sizeof(uint64_t)); }

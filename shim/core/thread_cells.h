/* Per-thread cells of a shared counter or histogram: each thread adds to a
 * cell of its own with plain loads and stores, and readers add the cells
 * up (as mimalloc keeps its statistics per thread and merges them when
 * read). On a pool's hot path this replaces a dozen atomic
 * read-modify-writes per checkout and checkin, each of which costs tens of
 * cycles and bounces its cache line between cores when threads share the
 * pool.
 *
 * Counts stay exact: a cell has one writer at a time. A thread that exits
 * gives its cells up, values and all, and the next thread to need one
 * takes it over, so memory stays bounded by the threads alive at once and
 * nothing has to be folded anywhere. Cells are never freed, and a set must
 * never be freed either: threads keep pointers to their cells of it (pools
 * and stacks live until the process exits). */
#ifndef POOLWATCH_THREAD_CELLS_H
#define POOLWATCH_THREAD_CELLS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pw__cell_head {
  struct pw__cell_head *_Atomic next; /* in its set */
  const void *_Atomic owner;          /* the owning thread's token; NULL: free */
  struct pw__cell_head *next_owned;   /* the owner's cells, to give up at exit */
} pw__cell_head;

/* A set of cells, each a payload of one size that the set's user knows
 * (it follows the head, on a cache line of its own). A zeroed struct is an
 * empty set. */
typedef struct pw__cells {
  pw__cell_head *_Atomic first;
} pw__cells;

/* The thread's table of its cells (thread_cells.c), direct-mapped by the
 * set's address. Sets are 8-byte fields side by side in a pool, so the
 * index starts at bit 3: a pool's counters and histograms get slots of
 * their own. */
typedef struct pw__cells_slot {
  const struct pw__cells *set;
  void *payload;
} pw__cells_slot;

#define PW__CELLS_SLOTS 256
extern __thread pw__cells_slot *pw__cells_table __attribute__((tls_model("initial-exec")));
/* Moves when the thread gives its cells up (at its exit): a pointer to one
 * of its cells kept elsewhere is good while this has not moved. */
extern __thread unsigned pw__cells_generation __attribute__((tls_model("initial-exec")));

static inline pw__cells_slot *pw__cells_slot_of(pw__cells_slot *table, const pw__cells *set) {
  uintptr_t a = (uintptr_t)set;
  return &table[((a >> 3) ^ (a >> 11)) % PW__CELLS_SLOTS];
}

/* The miss: the set's list is walked, a cell claimed or made. */
void *pw__cells_claim(pw__cells *set, size_t size);

/* This thread's cell of SET (zeroed when new, SIZE bytes), or NULL when
 * memory runs out. Inline, as the hit is a handful of instructions. */
static inline void *pw__cells_mine(pw__cells *set, size_t size) {
  pw__cells_slot *table = pw__cells_table;
  if (__builtin_expect(table != NULL, 1)) {
    pw__cells_slot *s = pw__cells_slot_of(table, set);
    if (__builtin_expect(s->set == set, 1)) return s->payload;
  }
  return pw__cells_claim(set, size);
}

/* Walks every cell's payload, live threads' and given-up ones alike:
 * for (p = first(set); p; p = next(set, p)). Safe at any time. */
void *pw__cells_first(const pw__cells *set);
void *pw__cells_next(const pw__cells *set, const void *payload);

/* Zeroes every cell (a forked child starts with empty metrics). Only when
 * no other thread writes, as in the child after fork(). */
void pw__cells_zero(pw__cells *set, size_t size);

/* Adds to a cell's counter: a plain load and store, no bus lock. Relaxed
 * atomics only so that readers on other threads read whole values. */
static inline void pw__cell_add(_Atomic uint64_t *counter, uint64_t delta) {
  atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + delta,
                        memory_order_relaxed);
}

static inline uint64_t pw__cell_get(const _Atomic uint64_t *counter) {
  return atomic_load_explicit(counter, memory_order_relaxed);
}

/* A counter with a cell per thread; a zeroed struct is zero. A thread
 * adds to its cell (found with pw__cells_mine, or through its pool cells,
 * core/pool.h) with pw__cell_add. */
typedef struct pw__counter {
  pw__cells cells;
} pw__counter;

uint64_t pw__counter_get(const pw__counter *c);
void pw__counter_zero(pw__counter *c);

#endif

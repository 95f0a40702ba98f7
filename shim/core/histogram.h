/* A lock-free distribution of durations: exact count, sum and max, plus
 * log-linear buckets (8 per power of two; a percentile is the middle of
 * its bucket, within 6.25% of the true value).
 *
 * Each thread records into a cell of its own (core/thread_cells.h) with
 * plain adds: on a pool shared by many threads, shared counters would
 * bounce between cores on every checkout, and even unshared, an atomic add
 * costs several times a plain one. Readers add the cells up. */
#ifndef POOLWATCH_HISTOGRAM_H
#define POOLWATCH_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/thread_cells.h"

#define PW__HISTOGRAM_BUCKETS (64 * 8)
/* The count is the buckets' sum, added up when read: one add fewer on
 * every checkout and checkin. */
typedef struct pw__histogram_cell {
  _Atomic uint64_t sum_ns;
  _Atomic uint64_t max_ns;
  _Atomic uint64_t buckets[PW__HISTOGRAM_BUCKETS];
} pw__histogram_cell;

typedef struct pw__histogram {
  pw__cells cells;
} pw__histogram;

typedef struct pw__distribution {
  uint64_t count;
  double mean, max, p50, p95, p99; /* seconds */
  double sum;
} pw__distribution;

/* Takes back a value recorded earlier (the max stays). */
void pw__histogram_unrecord(pw__histogram *h, uint64_t ns);
/* Zeroes H. Only when no other thread records (in a forked child). A
 * zeroed struct is an empty histogram. */
void pw__histogram_reset(pw__histogram *h);
void pw__histogram_summarize(const pw__histogram *h, pw__distribution *out);
/* Count and sum of the values, without the percentiles' walk. */
void pw__histogram_totals(const pw__histogram *h, uint64_t *count, uint64_t *sum_ns);
/* Number of recorded values no greater than LIMIT_SECONDS, counted by
 * whole buckets (for Prometheus' cumulative buckets). */
uint64_t pw__histogram_count_below(const pw__histogram *h, double limit_seconds);

/* Bucket index of NS and the largest value that bucket holds. Values
 * below 8 ns get a bucket each; above, bucket = 8 * exponent + the three
 * bits after the leading one. */
static inline int pw__histogram_bucket(uint64_t ns) {
  if (ns < 8) return (int)ns;
  int exponent = 63 - __builtin_clzll(ns);
  int mantissa = (int)((ns >> (exponent - 3)) & 7);
  return (exponent - 2) * 8 + mantissa;
}
uint64_t pw__histogram_bucket_upper(int bucket);

/* Inline: two per checkout and checkin, each a handful of plain adds. */
static inline void pw__histogram_cell_record(pw__histogram_cell *c, uint64_t ns) {
  pw__cell_add(&c->sum_ns, ns);
  pw__cell_add(&c->buckets[pw__histogram_bucket(ns)], 1);
  if (ns > pw__cell_get(&c->max_ns)) atomic_store_explicit(&c->max_ns, ns, memory_order_relaxed);
}

/* This thread's cell of H, or NULL when memory runs out. */
static inline pw__histogram_cell *pw__histogram_mine(pw__histogram *h) {
  return pw__cells_mine(&h->cells, sizeof(pw__histogram_cell));
}

static inline void pw__histogram_record(pw__histogram *h, uint64_t ns) {
  pw__histogram_cell *c = pw__histogram_mine(h);
  if (c) pw__histogram_cell_record(c, ns); /* else out of memory: unrecorded */
}

#endif

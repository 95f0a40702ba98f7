/* A lock-free distribution of durations: exact count, sum and max, plus
 * log-linear buckets (8 per power of two; a percentile is the middle of
 * its bucket, within 6.25% of the true value).
 *
 * Threads record into one of several stripes, picked per thread, each on
 * cache lines of its own: on a pool shared by many threads, one set of
 * counters would bounce between cores on every checkout. Readers add the
 * stripes up. */
#ifndef POOLWATCH_HISTOGRAM_H
#define POOLWATCH_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>

#define PW__HISTOGRAM_BUCKETS (64 * 8)
#define PW__HISTOGRAM_STRIPES 8

typedef struct pw__histogram_stripe {
  _Alignas(64) _Atomic uint64_t count;
  _Atomic uint64_t sum_ns;
  _Atomic uint64_t max_ns;
  _Atomic uint64_t buckets[PW__HISTOGRAM_BUCKETS];
} pw__histogram_stripe;

typedef struct pw__histogram {
  pw__histogram_stripe stripes[PW__HISTOGRAM_STRIPES];
} pw__histogram;

typedef struct pw__distribution {
  uint64_t count;
  double mean, max, p50, p95, p99; /* seconds */
  double sum;
} pw__distribution;

void pw__histogram_record(pw__histogram *h, uint64_t ns);
/* Takes back a value recorded earlier (the max stays). */
void pw__histogram_unrecord(pw__histogram *h, uint64_t ns);
void pw__histogram_reset(pw__histogram *h);
void pw__histogram_summarize(const pw__histogram *h, pw__distribution *out);
/* Count and sum of the values, without the percentiles' walk. */
void pw__histogram_totals(const pw__histogram *h, uint64_t *count, uint64_t *sum_ns);
/* Number of recorded values no greater than LIMIT_SECONDS, counted by
 * whole buckets (for Prometheus' cumulative buckets). */
uint64_t pw__histogram_count_below(const pw__histogram *h, double limit_seconds);

/* Bucket index of NS and the largest value that bucket holds. */
int pw__histogram_bucket(uint64_t ns);
uint64_t pw__histogram_bucket_upper(int bucket);

#endif

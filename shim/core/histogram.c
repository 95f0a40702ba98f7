/* Lock-free distributions of durations, striped per thread, and their percentiles. */
#include "core/histogram.h"

#include <string.h>

/* Values below 8 ns get a bucket each; above, bucket = 8 * exponent + the
 * three bits after the leading one. */
int pw__histogram_bucket(uint64_t ns) {
  if (ns < 8) return (int)ns;
  int exponent = 63 - __builtin_clzll(ns);
  int mantissa = (int)((ns >> (exponent - 3)) & 7);
  return (exponent - 2) * 8 + mantissa;
}

uint64_t pw__histogram_bucket_upper(int bucket) {
  if (bucket < 8) return (uint64_t)bucket;
  int exponent = bucket / 8 + 2;
  int mantissa = bucket % 8;
  if (exponent >= 63) return UINT64_MAX;
  uint64_t low = (uint64_t)(8 + mantissa) << (exponent - 3);
  return low + ((uint64_t)1 << (exponent - 3)) - 1;
}

/* A thread's stripe: threads are numbered as they first record. */
static _Atomic unsigned threads_seen;
static __thread unsigned thread_stripe __attribute__((tls_model("initial-exec")));

static pw__histogram_stripe *stripe_of(pw__histogram *h) {
  if (!thread_stripe)
    thread_stripe = atomic_fetch_add_explicit(&threads_seen, 1, memory_order_relaxed) + 1;
  return &h->stripes[thread_stripe % PW__HISTOGRAM_STRIPES];
}

void pw__histogram_record(pw__histogram *h, uint64_t ns) {
  pw__histogram_stripe *s = stripe_of(h);
  atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->sum_ns, ns, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->buckets[pw__histogram_bucket(ns)], 1, memory_order_relaxed);
  uint64_t max = atomic_load_explicit(&s->max_ns, memory_order_relaxed);
  while (ns > max &&
         !atomic_compare_exchange_weak_explicit(&s->max_ns, &max, ns, memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

void pw__histogram_unrecord(pw__histogram *h, uint64_t ns) {
  /* Any stripe will do: only the sums across stripes are ever read. */
  pw__histogram_stripe *s = stripe_of(h);
  atomic_fetch_sub_explicit(&s->count, 1, memory_order_relaxed);
  atomic_fetch_sub_explicit(&s->sum_ns, ns, memory_order_relaxed);
  atomic_fetch_sub_explicit(&s->buckets[pw__histogram_bucket(ns)], 1, memory_order_relaxed);
}

void pw__histogram_reset(pw__histogram *h) { memset((void *)h, 0, sizeof(*h)); }

void pw__histogram_totals(const pw__histogram *h, uint64_t *count, uint64_t *sum_ns) {
  *count = *sum_ns = 0;
  for (int i = 0; i < PW__HISTOGRAM_STRIPES; i++) {
    *count += atomic_load_explicit(&h->stripes[i].count, memory_order_relaxed);
    *sum_ns += atomic_load_explicit(&h->stripes[i].sum_ns, memory_order_relaxed);
  }
}

static uint64_t bucket_total(const pw__histogram *h, int b) {
  uint64_t total = 0;
  for (int i = 0; i < PW__HISTOGRAM_STRIPES; i++)
    total += atomic_load_explicit(&h->stripes[i].buckets[b], memory_order_relaxed);
  return total;
}

static double percentile(const pw__histogram *h, uint64_t count, uint64_t max_ns, double q) {
  if (count == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)count + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int b = 0; b < PW__HISTOGRAM_BUCKETS; b++) {
    seen += bucket_total(h, b);
    if (seen >= rank) {
      /* The bucket's middle: within half a bucket (6.25%) of any value
       * in it. */
      uint64_t upper = pw__histogram_bucket_upper(b);
      uint64_t lower = b ? pw__histogram_bucket_upper(b - 1) + 1 : 0;
      uint64_t middle = lower + (upper - lower) / 2;
      return (double)(middle < max_ns ? middle : max_ns) / 1e9;
    }
  }
  return (double)max_ns / 1e9;
}

void pw__histogram_summarize(const pw__histogram *h, pw__distribution *out) {
  uint64_t count, sum, max = 0;
  pw__histogram_totals(h, &count, &sum);
  for (int i = 0; i < PW__HISTOGRAM_STRIPES; i++) {
    uint64_t m = atomic_load_explicit(&h->stripes[i].max_ns, memory_order_relaxed);
    if (m > max) max = m;
  }
  out->count = count;
  out->sum = (double)sum / 1e9;
  out->mean = count ? (double)sum / (double)count / 1e9 : 0;
  /* A value taken back (an adopted connection's connect) cannot lower the
   * max; with nothing left there is no max to show. */
  out->max = count ? (double)max / 1e9 : 0;
  out->p50 = percentile(h, count, max, 0.50);
  out->p95 = percentile(h, count, max, 0.95);
  out->p99 = percentile(h, count, max, 0.99);
}

uint64_t pw__histogram_count_below(const pw__histogram *h, double limit_seconds) {
  uint64_t total = 0;
  for (int b = 0; b < PW__HISTOGRAM_BUCKETS; b++) {
    if ((double)pw__histogram_bucket_upper(b) / 1e9 > limit_seconds) break;
    total += bucket_total(h, b);
  }
  return total;
}

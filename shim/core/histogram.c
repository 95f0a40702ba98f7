/* Histograms: reading them (totals, percentiles, Prometheus buckets) and
 * taking values back; recording is inline in histogram.h. */
#include "core/histogram.h"

#include <string.h>

uint64_t pw__histogram_bucket_upper(int bucket) {
  if (bucket < 8) return (uint64_t)bucket;
  int exponent = bucket / 8 + 2;
  int mantissa = bucket % 8;
  if (exponent >= 63) return UINT64_MAX;
  uint64_t low = (uint64_t)(8 + mantissa) << (exponent - 3);
  return low + ((uint64_t)1 << (exponent - 3)) - 1;
}

void pw__histogram_unrecord(pw__histogram *h, uint64_t ns) {
  /* Any cell will do: only the sums across cells are ever read. */
  pw__histogram_cell *c = pw__histogram_mine(h);
  if (!c) return;
  pw__cell_add(&c->sum_ns, (uint64_t)0 - ns);
  pw__cell_add(&c->buckets[pw__histogram_bucket(ns)], (uint64_t)-1);
}

void pw__histogram_reset(pw__histogram *h) {
  pw__cells_zero(&h->cells, sizeof(pw__histogram_cell));
}

#define FOR_EACH_CELL(h, c)                                                        \
  for (const pw__histogram_cell *c = pw__cells_first(&(h)->cells); c;             \
       c = pw__cells_next(&(h)->cells, c))

void pw__histogram_totals(const pw__histogram *h, uint64_t *count, uint64_t *sum_ns) {
  *count = *sum_ns = 0;
  FOR_EACH_CELL(h, c) {
    for (int b = 0; b < PW__HISTOGRAM_BUCKETS; b++) *count += pw__cell_get(&c->buckets[b]);
    *sum_ns += pw__cell_get(&c->sum_ns);
  }
}

static uint64_t bucket_total(const pw__histogram *h, int b) {
  uint64_t total = 0;
  FOR_EACH_CELL(h, c) total += pw__cell_get(&c->buckets[b]);
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
  FOR_EACH_CELL(h, c) {
    uint64_t m = pw__cell_get(&c->max_ns);
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

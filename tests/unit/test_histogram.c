/* Distributions of wait, hold and connect times: exact count, mean and
 * max; percentiles within the precision histogram.h promises. */
#include <stdlib.h>

#include "core/histogram.h"
#include "unit_assert.h"

/* histogram.h: "a percentile is the middle of its bucket, within 6.25%
 * of the true value". */
#define DOCUMENTED_PRECISION 0.0625

static const uint64_t us = 1000, ms = 1000000;

/* Histograms of static storage, each used once: a histogram lives as long
 * as the process (its pool is never freed), and each thread that records
 * keeps a pointer to its cell of it. */
static pw__histogram histograms[32];
static size_t histograms_used;

static pw__histogram *fresh(void) {
  ASSERT_TRUE(histograms_used < sizeof(histograms) / sizeof(histograms[0]),
              "more histograms than the test keeps");
  return &histograms[histograms_used++];
}

/* Is REPORTED within the documented precision of TRUE_NS? */
#define ASSERT_PERCENTILE(reported, true_ns)                                          \
  ASSERT_NEAR((reported), (double)(true_ns) / 1e9,                                    \
              DOCUMENTED_PRECISION * (double)(true_ns) / 1e9)

static void test_empty_histogram_is_all_zero(void **state) {
  pw__histogram *h = fresh();
  pw__distribution d;
  pw__histogram_summarize(h, &d);
  ASSERT_EQ(d.count, 0);
  ASSERT_NEAR(d.mean, 0, 0);
  ASSERT_NEAR(d.max, 0, 0);
  ASSERT_NEAR(d.p50, 0, 0);
  ASSERT_NEAR(d.p99, 0, 0);
}

static void test_count_mean_and_max_are_exact(void **state) {
  pw__histogram *h = fresh();
  pw__histogram_record(h, 1 * ms);
  pw__histogram_record(h, 2 * ms);
  pw__histogram_record(h, 6 * ms);
  pw__distribution d;
  pw__histogram_summarize(h, &d);
  ASSERT_EQ(d.count, 3);
  ASSERT_NEAR(d.mean, 3e-3, 1e-12);
  ASSERT_NEAR(d.max, 6e-3, 1e-12);
  ASSERT_NEAR(d.sum, 9e-3, 1e-12);
}

static void test_single_value(void **state) {
  /* One value low in its bucket (the middle would be above it) and one
   * high in its bucket: percentiles stay near it and never exceed the
   * true maximum. */
  static const uint64_t values[] = {1179700, 1310000};
  for (size_t i = 0; i < 2; i++) {
    pw__histogram *h = fresh();
    pw__histogram_record(h, values[i]);
    pw__distribution d;
    pw__histogram_summarize(h, &d);
    ASSERT_PERCENTILE(d.p50, values[i]);
    ASSERT_PERCENTILE(d.p99, values[i]);
    ASSERT_TRUE(d.p99 <= d.max, "p99 %.9g is above the maximum %.9g", d.p99, d.max);
  }
}

static void test_uniform_percentiles(void **state) {
  /* 1 ms .. 1000 ms in 1 ms steps: p50 is 500 ms, p95 950, p99 990. */
  pw__histogram *h = fresh();
  for (uint64_t i = 1; i <= 1000; i++) pw__histogram_record(h, i * ms);
  pw__distribution d;
  pw__histogram_summarize(h, &d);
  ASSERT_EQ(d.count, 1000);
  ASSERT_NEAR(d.mean, 0.5005, 1e-9);
  ASSERT_NEAR(d.max, 1.0, 1e-12);
  ASSERT_PERCENTILE(d.p50, 500 * ms);
  ASSERT_PERCENTILE(d.p95, 950 * ms);
  ASSERT_PERCENTILE(d.p99, 990 * ms);
  ASSERT_TRUE(d.p50 <= d.p95 && d.p95 <= d.p99 && d.p99 <= d.max,
              "percentiles out of order: p50 %g p95 %g p99 %g max %g", d.p50, d.p95, d.p99,
              d.max);
}

static void test_tail_percentiles_see_the_slow_requests(void **state) {
  /* 97 fast waits and 3 slow ones: p50 is fast, p99 is slow. */
  pw__histogram *h = fresh();
  for (int i = 0; i < 97; i++) pw__histogram_record(h, 200 * us);
  for (int i = 0; i < 3; i++) pw__histogram_record(h, 2000 * ms);
  pw__distribution d;
  pw__histogram_summarize(h, &d);
  ASSERT_PERCENTILE(d.p50, 200 * us);
  ASSERT_PERCENTILE(d.p95, 200 * us);
  ASSERT_PERCENTILE(d.p99, 2000 * ms);
}

static void test_precision_at_every_scale(void **state) {
  /* Many copies of one value and a larger maximum, so the percentile is
   * the value's bucket and not clamped to the max: the worst case for a
   * bucketed percentile. Values from 1 us to 100 s, powers of two
   * included (the first value of a bucket is farthest from its top). */
  static const uint64_t values[] = {
    1 * us, 1024 * us, 1048576, 3 * ms, 16777216, 100 * ms, 1073741824ull, 100000 * ms,
  };
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    pw__histogram *h = fresh();
    for (int n = 0; n < 99; n++) pw__histogram_record(h, values[i]);
    pw__histogram_record(h, values[i] * 4);
    pw__distribution d;
    pw__histogram_summarize(h, &d);
    double truth = (double)values[i] / 1e9;
    if (!(d.p50 >= truth * (1 - DOCUMENTED_PRECISION) &&
          d.p50 <= truth * (1 + DOCUMENTED_PRECISION)))
      fail_msg("p50 of %llu ns is reported as %.0f ns, off by %.1f%% (documented: within %.0f%%)",
               (unsigned long long)values[i], d.p50 * 1e9, (d.p50 / truth - 1) * 100,
               DOCUMENTED_PRECISION * 100);
  }
}

static void test_buckets_hold_their_values(void **state) {
  for (uint64_t v = 0; v < 100000; v += 7) {
    int b = pw__histogram_bucket(v);
    ASSERT_TRUE(b >= 0 && b < PW__HISTOGRAM_BUCKETS, "value %llu maps to bucket %d",
                (unsigned long long)v, b);
    ASSERT_TRUE(pw__histogram_bucket_upper(b) >= v, "value %llu is above its bucket's top",
                (unsigned long long)v);
    ASSERT_TRUE(b == 0 || pw__histogram_bucket_upper(b - 1) < v,
                "value %llu also fits the bucket below its own", (unsigned long long)v);
  }
  /* The largest durations must not index past the table. */
  ASSERT_TRUE(pw__histogram_bucket(UINT64_MAX) < PW__HISTOGRAM_BUCKETS,
              "UINT64_MAX maps past the last bucket");
}

static void test_count_below_for_prometheus(void **state) {
  pw__histogram *h = fresh();
  for (int i = 0; i < 10; i++) pw__histogram_record(h, 1 * ms);
  for (int i = 0; i < 5; i++) pw__histogram_record(h, 100 * ms);
  ASSERT_EQ(pw__histogram_count_below(h, 0.0001), 0);
  ASSERT_EQ(pw__histogram_count_below(h, 0.01), 10);
  ASSERT_EQ(pw__histogram_count_below(h, 1.0), 15);
}

static void test_reset_forgets_everything(void **state) {
  pw__histogram *h = fresh();
  pw__histogram_record(h, 5 * ms);
  pw__histogram_reset(h);
  pw__distribution d;
  pw__histogram_summarize(h, &d);
  ASSERT_EQ(d.count, 0);
  ASSERT_NEAR(d.max, 0, 0);
  ASSERT_EQ(pw__histogram_count_below(h, 1e9), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_empty_histogram_is_all_zero),
    cmocka_unit_test(test_count_mean_and_max_are_exact),
    cmocka_unit_test(test_single_value),
    cmocka_unit_test(test_uniform_percentiles),
    cmocka_unit_test(test_tail_percentiles_see_the_slow_requests),
    cmocka_unit_test(test_precision_at_every_scale),
    cmocka_unit_test(test_buckets_hold_their_values),
    cmocka_unit_test(test_count_below_for_prometheus),
    cmocka_unit_test(test_reset_forgets_everything),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

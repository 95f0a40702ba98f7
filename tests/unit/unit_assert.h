/* Assertions for the unit tests, over cmocka's fail_msg. A failure names
 * the expression and shows both values in decimal; cmocka's own
 * assert_int_equal prints hexadecimal, which is hard to read for counts. */
#ifndef POOLWATCH_UNIT_ASSERT_H
#define POOLWATCH_UNIT_ASSERT_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* ASSERT_TRUE(cond, "message", args...) */
#define ASSERT_TRUE(cond, ...)        \
  do {                                \
    if (!(cond)) fail_msg(__VA_ARGS__); \
  } while (0)

#define ASSERT_EQ(actual, expected)                                                  \
  do {                                                                               \
    long long assert_actual_ = (long long)(actual);                                  \
    long long assert_expected_ = (long long)(expected);                              \
    if (assert_actual_ != assert_expected_)                                          \
      fail_msg("%s is %lld, expected %lld", #actual, assert_actual_, assert_expected_); \
  } while (0)

#define ASSERT_NEAR(actual, expected, tolerance)                                      \
  do {                                                                                \
    double assert_actual_ = (double)(actual);                                         \
    double assert_expected_ = (double)(expected);                                     \
    if (!(fabs(assert_actual_ - assert_expected_) <= (double)(tolerance)))            \
      fail_msg("%s is %.9g, expected %.9g (within %.3g)", #actual, assert_actual_,     \
               assert_expected_, (double)(tolerance));                                 \
  } while (0)

#define ASSERT_STR_EQ(actual, expected)                                                 \
  do {                                                                                  \
    const char *assert_actual_ = (actual);                                              \
    const char *assert_expected_ = (expected);                                          \
    if (!assert_actual_ || strcmp(assert_actual_, assert_expected_) != 0)               \
      fail_msg("%s is \"%s\", expected \"%s\"", #actual,                                 \
               assert_actual_ ? assert_actual_ : "(null)", assert_expected_);            \
  } while (0)

#define ASSERT_CONTAINS(text, needle)                                                    \
  do {                                                                                   \
    const char *assert_text_ = (text);                                                   \
    if (!assert_text_ || !strstr(assert_text_, (needle)))                                \
      fail_msg("%s does not contain \"%s\": \"%s\"", #text, (needle),                    \
               assert_text_ ? assert_text_ : "(null)");                                  \
  } while (0)

#define ASSERT_NOT_CONTAINS(text, needle)                                                \
  do {                                                                                   \
    const char *assert_text_ = (text);                                                   \
    if (assert_text_ && strstr(assert_text_, (needle)))                                  \
      fail_msg("%s contains \"%s\": \"%s\"", #text, (needle), assert_text_);             \
  } while (0)

/* How many values a histogram holds, over all its cells. */
#include "core/histogram.h"
static inline uint64_t recorded(const pw__histogram *h) {
  uint64_t count, sum_ns;
  pw__histogram_totals(h, &count, &sum_ns);
  return count;
}

#endif

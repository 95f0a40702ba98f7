/* pw__format_time's own UTC arithmetic agrees with glibc's calendar. It
 * exists because gmtime_r takes glibc's time-zone lock, which a forked
 * child can inherit held; here gmtime_r is only the reference. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/format.h"
#include "unit_assert.h"

static void reference(double seconds, char *out, size_t cap) {
  time_t whole = (time_t)seconds;
  if ((double)whole > seconds) whole--;
  struct tm tm;
  gmtime_r(&whole, &tm);
  char date[32];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, cap, "%s.%03dZ", date, (int)((seconds - (double)whole) * 1000));
}

/* Every day from 1900 to 2200, at a time of day that moves through the
 * hours, and the edges of leap days, years and centuries. */
static void test_agrees_with_gmtime(void **state) {
  (void)state;
  int checked = 0;
  for (long long day = -25567; day < 84000; day++) {
    double t = (double)(day * 86400 + (day * 3607) % 86400) + 0.25;
    char mine[64], theirs[64];
    pw__format_time(t, mine, sizeof(mine));
    reference(t, theirs, sizeof(theirs));
    ASSERT_STR_EQ(mine, theirs);
    checked++;
  }
  const double edges[] = {0, 951782399.5, 951782400, 951868799.999, 4107542399.0, 4107542400.0,
                          1798761600.0 - 0.001, -1};
  for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
    char mine[64], theirs[64];
    pw__format_time(edges[i], mine, sizeof(mine));
    reference(edges[i], theirs, sizeof(theirs));
    ASSERT_STR_EQ(mine, theirs);
  }
  ASSERT_TRUE(checked > 100000, "%d days", checked);
}

static void test_known_values(void **state) {
  (void)state;
  char out[64];
  pw__format_time(0, out, sizeof(out));
  ASSERT_STR_EQ(out, "1970-01-01T00:00:00.000Z");
  pw__format_time(951782400.123, out, sizeof(out));
  ASSERT_STR_EQ(out, "2000-02-29T00:00:00.123Z");
  /* A corrupt time prints as the epoch rather than overflow. */
  pw__format_time(1e300, out, sizeof(out));
  ASSERT_STR_EQ(out, "1970-01-01T00:00:00.000Z");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_agrees_with_gmtime),
    cmocka_unit_test(test_known_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

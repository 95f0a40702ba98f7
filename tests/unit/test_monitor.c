/* The monitor thread and the detectors it runs: held too long, growth,
 * and the Prometheus file it refreshes, without any preloading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "core/config.h"
#include "core/detectors.h"
#include "core/pool.h"
#include "core/registry.h"
#include "export/alerts.h"
#include "export/monitor.h"
#include "stderr_capture.h"
#include "unit_assert.h"

static char keys[8], handles[8][16];
static const uint64_t second = 1000000000ull;

static void check_out(pw__pool *pool, const void *handle, uint64_t ago_ns) {
  uint64_t at = pw__now_ns() - ago_ns;
  pw__checkout_done(pool, handle, NULL, at, at);
}

static uint64_t findings_of(pw__pool *pool, pw__finding_kind kind) {
  uint64_t totals[PW__FINDING_KIND_COUNT] = {0};
  pw__finding_totals(pool, totals);
  return totals[kind];
}

static void test_held_too_long_is_found_once(void **state) {
  pw__pool *pool = pw__pool_find(&keys[0], PW__POOL_API, "held");
  check_out(pool, handles[0], 5 * second);
  check_out(pool, handles[1], 0);
  pw__held_crossing found[4];
  ASSERT_EQ(pw__detect_held_too_long(1.0, found, 4), 1);
  ASSERT_EQ(findings_of(pool, PW__FINDING_HELD_TOO_LONG), 0);
  pw__held_too_long_record(found, 1);
  ASSERT_TRUE(found[0].id == handles[0] && found[0].pool == pool, "the wrong checkout crossed");
  ASSERT_TRUE(found[0].age >= 5, "age %f is below the time held", found[0].age);
  ASSERT_EQ(atomic_load(&pool->held_too_long), 1);
  ASSERT_EQ(findings_of(pool, PW__FINDING_HELD_TOO_LONG), 1);
  /* Still held: still counted in the gauge, but not said again. */
  ASSERT_EQ(pw__detect_held_too_long(1.0, found, 4), 0);
  ASSERT_EQ(atomic_load(&pool->held_too_long), 1);
  ASSERT_TRUE(pw__checkin(pool, handles[0], NULL, false), "checkin");
  ASSERT_TRUE(pw__checkin(pool, handles[1], NULL, false), "checkin");
  ASSERT_EQ(pw__detect_held_too_long(1.0, found, 4), 0);
  ASSERT_EQ(atomic_load(&pool->held_too_long), 0);
}

/* A checkout another thread made after the scan read its clock is newer
 * than the scan's "now": it is zero seconds old. Unsigned subtraction made
 * it 18446744073.71 s, and hot loops reported it as held too long. */
static void test_checkout_newer_than_the_scan_is_not_held(void **state) {
  pw__pool *pool = pw__pool_find(&keys[4], PW__POOL_API, "racing");
  uint64_t later = pw__now_ns() + 2 * second;
  pw__checkout_done(pool, handles[7], NULL, later, later);
  pw__held_crossing found[4];
  ASSERT_EQ(pw__detect_held_too_long(0.001, found, 4), 0);
  ASSERT_EQ(atomic_load(&pool->held_too_long), 0);
  ASSERT_EQ(findings_of(pool, PW__FINDING_HELD_TOO_LONG), 0);
  ASSERT_TRUE(pw__checkin(pool, handles[7], NULL, false), "checkin");
}

static void test_held_alert_names_pool_age_and_threshold(void **state) {
  pw__pool *pool = pw__pool_find(&keys[1], PW__POOL_API, "alerts");
  pw__held_crossing crossing = {pool, handles[2], NULL, 2.5};
  stderr_capture capture;
  stderr_capture_begin(&capture);
  pw__alert_held(&crossing, 1.0);
  char *said = stderr_capture_end(&capture);
  ASSERT_EQ(count_lines_with(said, "from pool alerts held for 2.5 s (POOLWATCH_LEAK_THRESHOLD 1 s), taken at:"), 1);
  ASSERT_EQ(count_lines_with(said, "    (no stack)"), 1);
  free(said);
}

/* A pool whose checkouts rose and never fell is reported once, with the
 * stacks holding it. */
static void test_growth_is_reported_once(void **state) {
  pw__pool *pool = pw__pool_find(&keys[2], PW__POOL_API, "growing");
  pw__growth_alert alerts[4];
  check_out(pool, handles[3], 0);
  pw__detect_growth(0, alerts, 4); /* the first look starts the window */
  check_out(pool, handles[4], 0);
  size_t n = pw__detect_growth(0, alerts, 4);
  size_t mine = 0;
  for (size_t i = 0; i < n; i++)
    if (alerts[i].pool == pool) {
      mine++;
      ASSERT_EQ(alerts[i].from, 1);
      ASSERT_EQ(alerts[i].to, 2);
    }
  ASSERT_EQ(mine, 1);
  check_out(pool, handles[5], 0);
  n = pw__detect_growth(0, alerts, 4);
  for (size_t i = 0; i < n; i++) ASSERT_TRUE(alerts[i].pool != pool, "growth said twice");
  stderr_capture capture;
  stderr_capture_begin(&capture);
  pw__alert_growth(&(pw__growth_alert){pool, 300, 1, 3});
  char *said = stderr_capture_end(&capture);
  ASSERT_EQ(count_lines_with(said, "pool growing: pool.checkedout has only grown for 5m00s, from 1 to 3"), 1);
  ASSERT_EQ(count_lines_with(said, "3 held, taken at:"), 1);
  free(said);
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* The thread starts when the configuration asks for it, says a crossing
 * on stderr and keeps the Prometheus file fresh, until stopped, which
 * removes the file. */
static void test_thread_checks_and_exports(void **state) {
  char dir[] = "/tmp/poolwatch-monitor-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp");
  char prom[64];
  snprintf(prom, sizeof(prom), "%s/poolwatch.prom", dir);
  pw__config.leak_threshold = 0.05;
  pw__config.prometheus = prom;
  pw__config.interval = 0.05;
  pw__pool *pool = pw__pool_find(&keys[3], PW__POOL_API, "watched");
  check_out(pool, handles[6], 2 * second);
  stderr_capture capture;
  stderr_capture_begin(&capture);
  pw__monitor_ensure();
  /* Waits for the thread, not for a duration: it has done its work when
   * the finding is recorded and the file written. */
  struct timespec pause = {0, 10000000};
  for (int i = 0; i < 1000 && !(exists(prom) && findings_of(pool, PW__FINDING_HELD_TOO_LONG)); i++)
    nanosleep(&pause, NULL);
  bool written = exists(prom);
  pw__monitor_stop();
  char *said = stderr_capture_end(&capture);
  ASSERT_TRUE(written, "no Prometheus file at %s", prom);
  /* The process's series go with it. */
  ASSERT_TRUE(!exists(prom), "the Prometheus file %s is still there after stop", prom);
  ASSERT_EQ(findings_of(pool, PW__FINDING_HELD_TOO_LONG), 1);
  ASSERT_EQ(count_lines_with(said, "from pool watched held for"), 1);
  unlink(prom);
  rmdir(dir);
  free(said);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_held_too_long_is_found_once),
    cmocka_unit_test(test_checkout_newer_than_the_scan_is_not_held),
    cmocka_unit_test(test_held_alert_names_pool_age_and_threshold),
    cmocka_unit_test(test_growth_is_reported_once),
    cmocka_unit_test(test_thread_checks_and_exports),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

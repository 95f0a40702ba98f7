/* The event log (POOLWATCH_EVENT_LOG) and the notice of a held checkout's
 * return, driven through the registry without any preloading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "core/config.h"
#include "core/pool.h"
#include "core/registry.h"
#include "export/event_log.h"
#include "stderr_capture.h"
#include "unit_assert.h"

static char log_path[] = "/tmp/poolwatch-event-log-XXXXXX";
static char keys[8], handles[8][16], conns[8][16];

static char *read_log(void) {
  FILE *f = fopen(log_path, "r");
  static char text[16384];
  size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
  text[n] = '\0';
  if (f) fclose(f);
  return text;
}

static int open_log(void **state) {
  int fd = mkstemp(log_path);
  if (fd < 0) return -1;
  close(fd);
  pw__config.event_log = log_path;
  pw__event_log_start();
  return 0;
}

static int remove_log(void **state) {
  unlink(log_path);
  return 0;
}

static void test_one_line_per_event(void **state) {
  uint64_t now = pw__now_ns();
  pw__conn_opened(pw__pool_libpq(), conns[0], NULL, NULL, PW__CONNECTED, true, now - 1000, now);
  ASSERT_TRUE(pw__conn_finishing(conns[0], NULL), "the finish was not forwarded");
  char *log = read_log();
  char id[32];
  snprintf(id, sizeof(id), "id=%p", (void *)conns[0]);
  ASSERT_EQ(count_lines_with(log, " connect pool=libpq"), 1);
  ASSERT_EQ(count_lines_with(log, " close pool=libpq"), 1);
  ASSERT_EQ(count_lines_with(log, id), 2);
  char pid[32];
  snprintf(pid, sizeof(pid), " poolwatch[%d] thread=", (int)getpid());
  ASSERT_EQ(count_lines_with(log, pid), count_lines_with(log, ""));
}

static void test_findings_are_logged_with_their_detail(void **state) {
  pw__pool *pool = pw__pool_find(&keys[0], PW__POOL_API, "orders");
  uint64_t now = pw__now_ns();
  pw__checkout_done(pool, handles[0], NULL, now, now);
  ASSERT_TRUE(pw__checkin(pool, handles[0], NULL, false), "first checkin");
  ASSERT_TRUE(!pw__checkin(pool, handles[0], NULL, false), "second checkin was not refused");
  char *log = read_log();
  ASSERT_EQ(count_lines_with(log, " checkout pool=orders"), 1);
  ASSERT_EQ(count_lines_with(log, " checkin pool=orders"), 1);
  ASSERT_EQ(count_lines_with(log, " double_checkin pool=orders"), 1);
  ASSERT_EQ(count_lines_with(log, "checkin of a connection that is not checked out"), 1);
}

/* A checkout crosses the threshold (the monitor marks it), then comes
 * back: the log has the return, and stderr says it once more. */
static void test_return_of_a_held_checkout_is_said(void **state) {
  pw__pool *pool = pw__pool_find(&keys[1], PW__POOL_API, "reports");
  uint64_t now = pw__now_ns();
  pw__checkout_done(pool, handles[1], NULL, now, now);
  pw__checkout_record taken;
  ASSERT_TRUE(pw__checkin_take(handles[1], &taken, NULL), "the checkout is not there");
  taken.reported_held = true;
  stderr_capture capture;
  stderr_capture_begin(&capture);
  pw__checkin_account(pool, handles[1], &taken, NULL, false);
  char *said = stderr_capture_end(&capture);
  ASSERT_EQ(count_lines_with(read_log(), " held_too_long_returned pool=reports"), 1);
  ASSERT_EQ(count_lines_with(said, "from pool reports, reported as held too long, was returned after"), 1);
  free(said);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_one_line_per_event),
    cmocka_unit_test(test_findings_are_logged_with_their_detail),
    cmocka_unit_test(test_return_of_a_held_checkout_is_said),
  };
  return cmocka_run_group_tests(tests, open_log, remove_log);
}

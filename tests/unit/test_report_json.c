/* The JSON report, parsed as scripts parse it: the contract keys of
 * README and the right counts, for one process's worth of events made
 * directly through the registry. The events are made once, by the group
 * setup, from real call sites, so stacks symbolize to this file's
 * functions; every test builds its own report of that state. */
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/clock.h"
#include "core/pool.h"
#include "core/redact.h"
#include "core/registry.h"
#include "report/report.h"
#include "report/suppress.h"
#include "unit_assert.h"

#define SECRET "Xy7secret"
#define CONNINFO "host=db.example port=5432 dbname=shop user=app password=" SECRET
/* The process runs with this argument, as `psql URI` does; the report
 * lists argv, so it must come out redacted. */
#define ARGUMENT "postgresql://app:" SECRET "@db.example/shop"

static const uint64_t ms = 1000000;
static double started_at;
static pw__pool *orders;
static char orders_key;
static char conns[4][64], handles[3][64];

/* ---- the program under report ------------------------------------------ */

/* Call sites kept out of line, and not ending in a tail call, so each
 * keeps its frame in the stacks the report symbolizes. */
#define CALL_SITE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

CALL_SITE static void connect_here(const void *conn, pw__connect_state state) {
  const pw__stack *stack = pw__stack_capture(32);
  uint64_t now = pw__now_ns();
  pw__conn_opened(pw__pool_libpq(), conn, stack, pw__redact_conninfo(CONNINFO), state, true,
                  now - 5 * ms, now);
  KEEP_FRAME();
}

CALL_SITE static bool finish_here(const void *conn) {
  bool forwarded = pw__conn_finishing(conn, pw__stack_capture(32));
  KEEP_FRAME();
  return forwarded;
}

CALL_SITE static void checkout_here(const void *handle) {
  uint64_t now = pw__now_ns();
  pw__checkout_done(orders, handle, pw__stack_capture(32), now - ms, now);
  KEEP_FRAME();
}

CALL_SITE static void checkout_fails_here(void) {
  uint64_t now = pw__now_ns();
  pw__checkout_failed(orders, pw__stack_capture(32), now - 2 * ms, now);
  KEEP_FRAME();
}

/* Read at run time, so the compiler cannot unroll a loop of two calls
 * into two call sites with two different stacks. */
static volatile int two = 2;

static int make_events(void **state) {
  started_at = (double)pw__wall_ns() / 1e9;
  /* libpq: two connections leaked from one call site, a failed connect
   * never finished, and one finished twice. */
  for (int i = 0; i < two; i++) connect_here(conns[i], PW__CONNECTED);
  connect_here(conns[2], PW__FAILED);
  connect_here(conns[3], PW__CONNECTED);
  if (!finish_here(conns[3])) return -1;
  if (finish_here(conns[3])) return -1; /* a double finish */

  /* orders: an annotated pool of configured size 2 running 3 connections,
   * never stopped; two checkouts leaked, one returned, one failed. */
  orders = pw__pool_find(&orders_key, PW__POOL_API, "orders");
  atomic_store(&orders->configured_size, 2);
  atomic_store(&orders->max_size, 5);
  atomic_store(&orders->started, true);
  uint64_t now = pw__now_ns();
  for (int i = 0; i < 3; i++) pw__pool_conn_opened(orders, true, now - 2 * ms, now);
  for (int i = 0; i < two; i++) checkout_here(handles[i]);
  checkout_here(handles[2]);
  if (!pw__checkin(orders, handles[2], NULL, false)) return -1;
  checkout_fails_here();
  return 0;
}

/* ---- reading the report ------------------------------------------------- */

static char *report_text(const pw__suppressions *suppressions, bool json) {
  pw__report r;
  ASSERT_TRUE(pw__report_build(&r, suppressions, started_at), "pw__report_build failed");
  pw__buf out;
  pw__buf_init(&out);
  if (json)
    pw__report_json(&r, &out);
  else
    pw__report_text(&r, &out);
  pw__report_free(&r);
  ASSERT_TRUE(!out.failed && out.data, "the report writer ran out of memory");
  return out.data;
}

static json_t *report_json(const pw__suppressions *suppressions) {
  char *text = report_text(suppressions, true);
  json_error_t error;
  json_t *report = json_loads(text, 0, &error);
  if (!report) fail_msg("the report is not JSON (line %d: %s):\n%s", error.line, error.text, text);
  free(text);
  return report;
}

static json_t *get(json_t *object, const char *key) {
  json_t *value = json_object_get(object, key);
  if (!value) fail_msg("key \"%s\" is missing", key);
  return value;
}

static long long get_int(json_t *object, const char *key) {
  json_t *value = get(object, key);
  ASSERT_TRUE(json_is_integer(value), "\"%s\" is not an integer", key);
  return json_integer_value(value);
}

static const char *get_string(json_t *object, const char *key) {
  json_t *value = get(object, key);
  ASSERT_TRUE(json_is_string(value), "\"%s\" is not a string", key);
  return json_string_value(value);
}

static json_t *get_array(json_t *object, const char *key) {
  json_t *value = get(object, key);
  ASSERT_TRUE(json_is_array(value), "\"%s\" is not an array", key);
  return value;
}

/* The element of ARRAY whose KEY is VALUE, or NULL. */
static json_t *find_by(json_t *array, const char *key, const char *value) {
  size_t i;
  json_t *item;
  json_array_foreach(array, i, item) {
    const char *s = json_string_value(json_object_get(item, key));
    if (s && strcmp(s, value) == 0) return item;
  }
  return NULL;
}

/* YYYY-MM-DDTHH:MM:SS.mmmZ */
static bool is_rfc3339(const char *s) {
  static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (!s || strlen(s) != sizeof(shape) - 1) return false;
  for (size_t i = 0; shape[i]; i++)
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return false;
  return true;
}

/* Checks every frame's keys; returns whether a frame's function starts
 * with PREFIX (compilers may suffix clones, as in "f.constprop.0"). */
static bool stack_has_function(json_t *stack, const char *prefix) {
  ASSERT_TRUE(json_is_array(stack) && json_array_size(stack) > 0, "a stack is empty");
  bool found = false;
  size_t i;
  json_t *frame;
  json_array_foreach(stack, i, frame) {
    json_t *function = get(frame, "function"), *file = get(frame, "file");
    ASSERT_TRUE(json_is_string(function) || json_is_null(function), "function is neither string nor null");
    ASSERT_TRUE(json_is_string(file) || json_is_null(file), "file is neither string nor null");
    get_int(frame, "line");
    ASSERT_TRUE(*get_string(frame, "module"), "a frame has an empty module");
    ASSERT_TRUE(strncmp(get_string(frame, "offset"), "0x", 2) == 0, "offset is not hexadecimal");
    const char *name = json_string_value(function);
    if (name && strncmp(name, prefix, strlen(prefix)) == 0) found = true;
  }
  return found;
}

/* ---- tests -------------------------------------------------------------- */

static void test_process_keys(void **state) {
  json_t *r = report_json(NULL);
  ASSERT_STR_EQ(get_string(r, "tool"), "poolwatch");
  ASSERT_STR_EQ(get_string(r, "version"), POOLWATCH_VERSION);
  ASSERT_EQ(get_int(r, "schema"), 1);
  ASSERT_EQ(get_int(r, "pid"), getpid());
  ASSERT_EQ(get_int(r, "ppid"), getppid());
  ASSERT_CONTAINS(get_string(r, "program"), "unit_report_json");
  json_t *argv = get_array(r, "argv");
  ASSERT_EQ(json_array_size(argv), 2);
  ASSERT_CONTAINS(json_string_value(json_array_get(argv, 0)), "unit_report_json");
  ASSERT_STR_EQ(json_string_value(json_array_get(argv, 1)), "postgresql://app:***@db.example/shop");
  ASSERT_TRUE(is_rfc3339(get_string(r, "started_at")), "started_at is \"%s\"",
              get_string(r, "started_at"));
  ASSERT_TRUE(is_rfc3339(get_string(r, "ended_at")), "ended_at is \"%s\"",
              get_string(r, "ended_at"));
  ASSERT_TRUE(strcmp(get_string(r, "started_at"), get_string(r, "ended_at")) <= 0,
              "the process ended before it started");
  json_decref(r);
}

static void test_summary_counts(void **state) {
  json_t *r = report_json(NULL);
  json_t *summary = get(r, "summary");
  ASSERT_EQ(get_int(summary, "leaked_connections"), 3);
  ASSERT_EQ(get_int(summary, "leaked_checkouts"), 2);
  ASSERT_EQ(get_int(summary, "leak_groups"), 3);
  ASSERT_EQ(get_int(summary, "suppressed"), 0);
  /* double_finish, pool_exhausted and pool_not_closed */
  ASSERT_EQ(get_int(summary, "findings"), 3);
  json_decref(r);
}

static void check_distribution(json_t *pool, const char *name, long long count) {
  json_t *d = get(pool, name);
  ASSERT_TRUE(get_int(d, "count") == count, "%s.count is %lld, expected %lld", name,
              get_int(d, "count"), count);
  static const char *const keys[] = {"mean", "max", "p50", "p95", "p99"};
  for (size_t i = 0; i < 5; i++)
    ASSERT_TRUE(json_is_number(get(d, keys[i])), "%s.%s is not a number", name, keys[i]);
  ASSERT_TRUE(json_number_value(get(d, "p50")) <= json_number_value(get(d, "max")),
              "%s: p50 is above max", name);
}

static void test_pool_metrics(void **state) {
  json_t *r = report_json(NULL);
  json_t *pools = get_array(r, "pools");
  ASSERT_EQ(json_array_size(pools), 2); /* only pools this process used */

  json_t *libpq = find_by(pools, "name", "libpq");
  ASSERT_TRUE(libpq != NULL, "no pool named libpq");
  ASSERT_STR_EQ(get_string(libpq, "kind"), "libpq");
  ASSERT_TRUE(json_is_null(get(libpq, "configured_size")), "libpq has a configured size");
  json_t *m = get(libpq, "metrics");
  ASSERT_EQ(get_int(m, "pool.size"), 2); /* the failed connect holds no connection */
  ASSERT_EQ(get_int(m, "pool.checkedout"), 2);
  ASSERT_EQ(get_int(m, "pool.checkedin"), 0);
  ASSERT_EQ(get_int(m, "pool.overflow"), 0);
  ASSERT_NEAR(json_number_value(get(m, "pool.wait_time")), 0.005, 1e-6);
  json_t *c = get(libpq, "counters");
  ASSERT_EQ(get_int(c, "connects"), 4);
  ASSERT_EQ(get_int(c, "failed_connects"), 1);
  ASSERT_EQ(get_int(c, "closes"), 1);
  ASSERT_EQ(get_int(get(libpq, "peaks"), "max_size"), 3);
  check_distribution(libpq, "wait_time", 4);
  check_distribution(libpq, "hold_time", 0);
  check_distribution(libpq, "connect_time", 3);

  json_t *pool = find_by(pools, "name", "orders");
  ASSERT_TRUE(pool != NULL, "no pool named orders");
  ASSERT_STR_EQ(get_string(pool, "kind"), "api");
  ASSERT_EQ(get_int(pool, "configured_size"), 2);
  ASSERT_EQ(get_int(pool, "max_size"), 5);
  m = get(pool, "metrics");
  ASSERT_EQ(get_int(m, "pool.size"), 3);
  ASSERT_EQ(get_int(m, "pool.checkedout"), 2);
  ASSERT_EQ(get_int(m, "pool.checkedin"), 1);
  ASSERT_EQ(get_int(m, "pool.overflow"), 1);
  c = get(pool, "counters");
  ASSERT_EQ(get_int(c, "connects"), 3);
  ASSERT_EQ(get_int(c, "checkouts"), 3);
  ASSERT_EQ(get_int(c, "failed_checkouts"), 1);
  ASSERT_EQ(get_int(c, "checkins"), 1);
  json_t *peaks = get(pool, "peaks");
  ASSERT_EQ(get_int(peaks, "max_size"), 3);
  ASSERT_EQ(get_int(peaks, "max_checkedout"), 3);
  check_distribution(pool, "wait_time", 4);
  check_distribution(pool, "hold_time", 1);
  check_distribution(pool, "connect_time", 3);
  json_decref(r);
}

static void test_leaks_grouped_by_stack(void **state) {
  json_t *r = report_json(NULL);
  json_t *leaks = get_array(r, "leaks");
  ASSERT_EQ(json_array_size(leaks), 3);
  /* Largest group first. */
  for (size_t i = 1; i < json_array_size(leaks); i++)
    ASSERT_TRUE(get_int(json_array_get(leaks, i - 1), "count") >=
                    get_int(json_array_get(leaks, i), "count"),
                "leak group %zu is larger than the one before it", i);

  json_t *checkouts = find_by(leaks, "kind", "checkout");
  ASSERT_TRUE(checkouts != NULL, "no leaked checkout group");
  ASSERT_STR_EQ(get_string(checkouts, "pool"), "orders");
  ASSERT_EQ(get_int(checkouts, "count"), 2);
  ASSERT_EQ(json_array_size(get_array(checkouts, "items")), 2);
  ASSERT_TRUE(json_number_value(get(checkouts, "oldest_age_s")) >= 0, "oldest_age_s is negative");
  ASSERT_TRUE(stack_has_function(get(checkouts, "stack"), "checkout_here"),
              "the checkout stack does not name checkout_here");

  size_t connection_groups = 0, open = 0, failed = 0;
  size_t i;
  json_t *group;
  json_array_foreach(leaks, i, group) {
    if (strcmp(get_string(group, "kind"), "connection") != 0) continue;
    connection_groups++;
    ASSERT_STR_EQ(get_string(group, "pool"), "libpq");
    ASSERT_TRUE(stack_has_function(get(group, "stack"), "connect_here"),
                "a connection stack does not name connect_here");
    size_t j;
    json_t *item;
    json_array_foreach(get_array(group, "items"), j, item) {
      ASSERT_TRUE(is_rfc3339(get_string(item, "opened_at")), "opened_at is \"%s\"",
                  get_string(item, "opened_at"));
      ASSERT_TRUE(get_int(item, "thread") > 0, "thread is not a thread id");
      ASSERT_STR_EQ(get_string(item, "conninfo"),
                    "host=db.example port=5432 dbname=shop user=app password=***");
      if (json_is_true(get(item, "connected")))
        open++;
      else
        failed++;
    }
  }
  ASSERT_EQ(connection_groups, 2);
  ASSERT_EQ(open, 2);
  ASSERT_EQ(failed, 1);
  json_decref(r);
}

static void test_findings(void **state) {
  json_t *r = report_json(NULL);
  json_t *findings = get_array(r, "findings");
  ASSERT_EQ(json_array_size(findings), 3);

  json_t *f = find_by(findings, "kind", "double_finish");
  ASSERT_TRUE(f != NULL, "no double_finish finding");
  ASSERT_EQ(get_int(f, "count"), 1);
  ASSERT_TRUE(stack_has_function(get(f, "stack"), "finish_here"),
              "the second finish's stack does not name finish_here");
  ASSERT_TRUE(stack_has_function(get(f, "other_stack"), "finish_here"),
              "the first finish's stack does not name finish_here");
  ASSERT_TRUE(!json_equal(get(f, "stack"), get(f, "other_stack")),
              "both finishes show the same stack");

  f = find_by(findings, "kind", "pool_exhausted");
  ASSERT_TRUE(f != NULL, "no pool_exhausted finding");
  ASSERT_STR_EQ(get_string(f, "pool"), "orders");
  ASSERT_TRUE(stack_has_function(get(f, "stack"), "checkout_fails_here"),
              "the failed checkout's stack does not name checkout_fails_here");
  json_t *holders = get_array(f, "holders");
  ASSERT_EQ(json_array_size(holders), 1); /* two checkouts from one call site */
  ASSERT_EQ(get_int(json_array_get(holders, 0), "count"), 2);
  ASSERT_TRUE(stack_has_function(get(json_array_get(holders, 0), "stack"), "checkout_here"),
              "the holder's stack does not name checkout_here");

  f = find_by(findings, "kind", "pool_not_closed");
  ASSERT_TRUE(f != NULL, "no pool_not_closed finding");
  ASSERT_STR_EQ(get_string(f, "pool"), "orders");
  json_decref(r);
}

static void test_suppressed_leaks_leave_the_summary(void **state) {
  pw__suppressions *s = pw__suppressions_parse("leak:checkout_here\n", "test.supp");
  json_t *r = report_json(s);
  json_t *summary = get(r, "summary");
  ASSERT_EQ(get_int(summary, "leaked_checkouts"), 0);
  ASSERT_EQ(get_int(summary, "leaked_connections"), 3);
  ASSERT_EQ(get_int(summary, "suppressed"), 2);
  ASSERT_EQ(get_int(summary, "leak_groups"), 2);
  /* Still listed, marked, so a reader sees what was hidden. */
  json_t *checkouts = find_by(get_array(r, "leaks"), "kind", "checkout");
  ASSERT_TRUE(checkouts != NULL, "the suppressed group is gone from leaks");
  ASSERT_TRUE(json_is_true(get(checkouts, "suppressed")), "the group is not marked suppressed");
  json_decref(r);
  pw__suppressions_free(s);
}

static void test_password_never_reaches_a_report(void **state) {
  char *json = report_text(NULL, true);
  char *text = report_text(NULL, false);
  ASSERT_NOT_CONTAINS(json, SECRET);
  ASSERT_NOT_CONTAINS(text, SECRET);
  ASSERT_CONTAINS(text, "password=***");
  free(json);
  free(text);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    execl("/proc/self/exe", argv[0], ARGUMENT, (char *)NULL);
    return 1;
  }
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_process_keys),
    cmocka_unit_test(test_summary_counts),
    cmocka_unit_test(test_pool_metrics),
    cmocka_unit_test(test_leaks_grouped_by_stack),
    cmocka_unit_test(test_findings),
    cmocka_unit_test(test_suppressed_leaks_leave_the_summary),
    cmocka_unit_test(test_password_never_reaches_a_report),
  };
  return cmocka_run_group_tests(tests, make_events, NULL);
}

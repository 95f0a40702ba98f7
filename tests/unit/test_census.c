/* The census: what is open when a program's own code has finished is
 * leaked, even when the runtime's shutdown closes it afterwards (Python's
 * finalizers close every psycopg2 connection a script left open). Driven
 * through the registry as the hooks and the Python support drive it. The
 * census is process-wide, so this is one executable and the tests run in
 * order: everything before the census, then the census, then shutdown. */
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "core/pool.h"
#include "core/redact.h"
#include "core/registry.h"
#include "report/report.h"
#include "unit_assert.h"

static const uint64_t ms = 1000000;
static char pool_keys[4];
static char conns[8][64];
static pw__pool *sqlalchemy;

static const pw__stack *fake_stack(uintptr_t tag) {
  uintptr_t frames[2] = {0x400000 + tag * 0x100, 0x500000 + tag};
  return pw__stack_intern(frames, 2);
}

static void open_conn(pw__pool *pool, const void *conn, uintptr_t tag) {
  uint64_t now = pw__now_ns();
  pw__conn_opened(pw__pool_libpq(), conn, fake_stack(tag), pw__redact_conninfo("dbname=app"), PW__CONNECTED,
                  true, now - ms, now);
  if (pool != pw__pool_libpq()) pw__conn_adopt(conn, pool);
}

static void checkout(pw__pool *pool, const void *handle, uintptr_t tag) {
  uint64_t now = pw__now_ns();
  pw__checkout_done(pool, handle, fake_stack(tag), now - ms, now);
}

static json_t *report(void) {
  pw__report r;
  ASSERT_TRUE(pw__report_build(&r, NULL, 0), "pw__report_build failed");
  pw__buf out;
  pw__buf_init(&out);
  pw__report_json(&r, &out);
  pw__report_free(&r);
  json_error_t error;
  json_t *root = json_loads(out.data, 0, &error);
  ASSERT_TRUE(root != NULL, "the report is not JSON: %s", error.text);
  pw__buf_free(&out);
  return root;
}

/* Counts the leaked items of KIND ("connection", "checkout") in POOL, and
 * how many of them carry "closed_by": "shutdown". */
static void count_items(json_t *root, const char *kind, const char *pool, size_t *items,
                        size_t *at_shutdown) {
  *items = *at_shutdown = 0;
  size_t i, j;
  json_t *group, *item;
  json_array_foreach(json_object_get(root, "leaks"), i, group) {
    if (strcmp(json_string_value(json_object_get(group, "kind")), kind) != 0) continue;
    if (strcmp(json_string_value(json_object_get(group, "pool")), pool) != 0) continue;
    json_array_foreach(json_object_get(group, "items"), j, item) {
      (*items)++;
      json_t *by = json_object_get(item, "closed_by");
      if (by) {
        ASSERT_STR_EQ(json_string_value(by), "shutdown");
        (*at_shutdown)++;
      }
    }
  }
}

/* The program: two connections of its own, one closed before the census;
 * a SQLAlchemy-like pool with two idle connections and one checkout; a
 * checkout returned before the census. */
static int program_runs(void **state) {
  sqlalchemy = pw__pool_find(&pool_keys[0], PW__POOL_SQLALCHEMY, "postgresql://app@db/shop");
  for (int i = 0; i < 2; i++) open_conn(pw__pool_libpq(), conns[i], 1);
  ASSERT_TRUE(pw__conn_finishing(conns[1], NULL), "finish refused");
  for (int i = 2; i < 5; i++) open_conn(sqlalchemy, conns[i], 2);
  checkout(sqlalchemy, conns[2], 3);
  checkout(sqlalchemy, conns[3], 4);
  ASSERT_TRUE(pw__checkin(sqlalchemy, conns[3], NULL, false), "checkin refused");
  return 0;
}

static void test_census_counts_only_what_leaks(void **state) {
  /* conns[0] (the program's own) and the checkout of conns[2]; not the
   * pool's idle connections, not what was closed or returned. */
  ASSERT_EQ(pw__census_take(), 2);
  /* A second census marks nothing new. */
  ASSERT_EQ(pw__census_take(), 0);
}

static void test_closed_by_shutdown_stays_a_leak(void **state) {
  /* The runtime finalizes: the pool returns and closes everything. */
  ASSERT_TRUE(pw__checkin(sqlalchemy, conns[2], NULL, false), "checkin refused");
  for (int i = 0; i < 5; i++)
    if (i != 1) ASSERT_TRUE(pw__conn_finishing(conns[i], NULL), "finish refused");
  json_t *root = report();
  size_t items, at_shutdown;
  count_items(root, "connection", "libpq", &items, &at_shutdown);
  ASSERT_EQ(items, 1);
  ASSERT_EQ(at_shutdown, 1);
  count_items(root, "checkout", "postgresql://app@db/shop", &items, &at_shutdown);
  ASSERT_EQ(items, 1);
  ASSERT_EQ(at_shutdown, 1);
  /* The pool's idle connections were its own: not leaked connections. */
  count_items(root, "connection", "postgresql://app@db/shop", &items, &at_shutdown);
  ASSERT_EQ(items, 0);
  json_t *summary = json_object_get(root, "summary");
  ASSERT_EQ(json_integer_value(json_object_get(summary, "leaked_connections")), 1);
  ASSERT_EQ(json_integer_value(json_object_get(summary, "leaked_checkouts")), 1);
  /* Nobody disposes a SQLAlchemy engine at exit: no pool_not_closed. */
  size_t i;
  json_t *finding;
  json_array_foreach(json_object_get(root, "findings"), i, finding)
    ASSERT_TRUE(strcmp(json_string_value(json_object_get(finding, "kind")), "pool_not_closed") != 0,
                "a sqlalchemy pool open at exit was reported as pool_not_closed");
  json_decref(root);
}

static void test_opened_after_the_census_and_left_open_leaks(void **state) {
  /* A finalizer opens a connection during shutdown and never closes it:
   * an ordinary leak, without closed_by. One it closes is not a leak. */
  open_conn(pw__pool_libpq(), conns[5], 5);
  open_conn(pw__pool_libpq(), conns[6], 6);
  ASSERT_TRUE(pw__conn_finishing(conns[6], NULL), "finish refused");
  json_t *root = report();
  size_t items, at_shutdown;
  count_items(root, "connection", "libpq", &items, &at_shutdown);
  ASSERT_EQ(items, 2);
  ASSERT_EQ(at_shutdown, 1);
  json_decref(root);
}

static void test_library_overflow_is_reported_as_is(void **state) {
  pw__pool_metrics m;
  pw__pool_metrics_get(sqlalchemy, &m);
  ASSERT_EQ(m.overflow, 0);
  atomic_store(&sqlalchemy->library_overflow, -3);
  atomic_store(&sqlalchemy->has_library_overflow, true);
  pw__pool_metrics_get(sqlalchemy, &m);
  ASSERT_EQ(m.overflow, -3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_census_counts_only_what_leaks),
    cmocka_unit_test(test_closed_by_shutdown_stays_a_leak),
    cmocka_unit_test(test_opened_after_the_census_and_left_open_leaks),
    cmocka_unit_test(test_library_overflow_is_reported_as_is),
  };
  return cmocka_run_group_tests(tests, program_runs, NULL);
}

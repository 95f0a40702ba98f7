/* The live state `poolwatch top` reads, parsed as the command parses it:
 * pools, the oldest live checkouts and the call sites holding the most. */
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "core/pool.h"
#include "core/registry.h"
#include "export/live.h"
#include "unit_assert.h"

static char key, handles[4][16];

#define CALL_SITE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

CALL_SITE static void check_out_here(pw__pool *pool, const void *handle, uint64_t ago_ns) {
  uint64_t now = pw__now_ns();
  pw__checkout_done(pool, handle, pw__stack_capture(8), now - ago_ns, now - ago_ns);
  KEEP_FRAME();
}

static json_t *live_state(void) {
  pw__buf out;
  pw__buf_init(&out);
  pw__live_format(&out);
  ASSERT_TRUE(!out.failed, "formatting the live state failed");
  json_error_t error;
  json_t *state = json_loads(out.data, 0, &error);
  ASSERT_TRUE(state != NULL, "the live state is not JSON: %s\n%s", error.text, out.data);
  pw__buf_free(&out);
  return state;
}

/* A pool created, nothing taken from it yet: what a monitor tick can see
 * before the program's first checkout completes. Under the sanitizer
 * build this once sorted a NULL array. */
static void test_live_state_of_an_unused_pool(void **state) {
  pw__pool *pool = pw__pool_find(&key, PW__POOL_API, "orders");
  atomic_store(&pool->used, true);
  json_t *live = live_state();
  ASSERT_EQ(json_array_size(json_object_get(live, "pools")), 1);
  ASSERT_EQ(json_array_size(json_object_get(live, "oldest")), 0);
  ASSERT_EQ(json_array_size(json_object_get(live, "call_sites")), 0);
  json_decref(live);
}

static void test_live_state_lists_pools_and_oldest_checkouts(void **state) {
  pw__pool *pool = pw__pool_find(&key, PW__POOL_API, "orders");
  static const uint64_t ages[] = {3000000000ull, 1000000000ull};
  for (int i = 0; i < 2; i++) check_out_here(pool, handles[i], ages[i]);
  json_t *live = live_state();
  ASSERT_EQ(json_integer_value(json_object_get(live, "pid")), getpid());
  json_t *pools = json_object_get(live, "pools");
  ASSERT_EQ(json_array_size(pools), 1);
  ASSERT_TRUE(strcmp(json_string_value(json_object_get(json_array_get(pools, 0), "name")), "orders") == 0,
              "the pool is not named orders");
  json_t *oldest = json_object_get(live, "oldest");
  ASSERT_EQ(json_array_size(oldest), 2);
  double first = json_number_value(json_object_get(json_array_get(oldest, 0), "age_s"));
  double second = json_number_value(json_object_get(json_array_get(oldest, 1), "age_s"));
  ASSERT_TRUE(first >= 3 && second >= 1 && first > second, "ages %f, %f are not oldest first",
              first, second);
  json_t *frames = json_object_get(json_array_get(oldest, 0), "frames");
  ASSERT_TRUE(json_array_size(frames) >= 1 &&
                  strcmp(json_string_value(json_array_get(frames, 0)), "check_out_here") == 0,
              "the top frame is not check_out_here");
  json_decref(live);
}

/* Completed holds count for their call site, live ones too. */
static void test_call_sites_add_completed_and_live_holds(void **state) {
  pw__pool *pool = pw__pool_find(&key, PW__POOL_API, "orders");
  ASSERT_TRUE(pw__checkin(pool, handles[1], NULL, false), "checkin");
  json_t *live = live_state();
  json_t *sites = json_object_get(live, "call_sites");
  /* Summed over the sites in check_out_here: the compiler may still copy
   * the loop's call into two. */
  long long holds = 0;
  double seconds = 0;
  size_t i;
  json_t *site;
  json_array_foreach(sites, i, site) {
    const char *top = json_string_value(json_array_get(json_object_get(site, "frames"), 0));
    if (!top || strcmp(top, "check_out_here") != 0) continue;
    holds += json_integer_value(json_object_get(site, "holds"));
    seconds += json_number_value(json_object_get(site, "hold_seconds"));
  }
  ASSERT_EQ(holds, 2);
  ASSERT_TRUE(seconds >= 4, "hold_seconds %f leaves a hold out", seconds);
  json_decref(live);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_live_state_of_an_unused_pool),
    cmocka_unit_test(test_live_state_lists_pools_and_oldest_checkouts),
    cmocka_unit_test(test_call_sites_add_completed_and_live_holds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

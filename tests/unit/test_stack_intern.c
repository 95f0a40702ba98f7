/* Stack interning: identical stacks share one record (records and leak
 * groups compare stacks by pointer), distinct ones never do. */
#include <pthread.h>
#include <stdlib.h>

#include "core/stack.h"
#include "unit_assert.h"

static void test_identical_frames_share_one_record(void **state) {
  uintptr_t frames[4] = {0x1000, 0x2000, 0x3000, 0x4000};
  uint32_t before = pw__stack_count();
  const pw__stack *a = pw__stack_intern(frames, 4);
  const pw__stack *b = pw__stack_intern(frames, 4);
  ASSERT_TRUE(a != NULL, "pw__stack_intern returned NULL");
  ASSERT_TRUE(a == b, "the same frames were interned twice");
  ASSERT_EQ(pw__stack_count(), before + 1);
  ASSERT_EQ(a->depth, 4);
  ASSERT_EQ(a->frames[3], 0x4000);

  /* The record keeps its own copy: callers pass stack buffers. */
  frames[0] = 0x9999;
  ASSERT_EQ(a->frames[0], 0x1000);
  frames[0] = 0x1000;
  ASSERT_TRUE(pw__stack_intern(frames, 4) == a, "an equal copy of the frames found another record");
}

static void test_distinct_frames_get_distinct_records(void **state) {
  uintptr_t frames[3] = {0x11000, 0x12000, 0x13000};
  const pw__stack *full = pw__stack_intern(frames, 3);
  const pw__stack *prefix = pw__stack_intern(frames, 2);
  uintptr_t swapped[3] = {0x12000, 0x11000, 0x13000};
  const pw__stack *other = pw__stack_intern(swapped, 3);
  ASSERT_TRUE(full != prefix, "a stack and its prefix share a record");
  ASSERT_TRUE(full != other, "stacks with frames in another order share a record");
  ASSERT_TRUE(prefix->id != full->id && other->id != full->id, "distinct stacks share an id");
  ASSERT_EQ(prefix->depth, 2);
}

static void test_empty_stack_is_a_stack(void **state) {
  /* unw_backtrace can return nothing; that is still a valid key. */
  const pw__stack *a = pw__stack_intern(NULL, 0);
  ASSERT_TRUE(a != NULL, "an empty stack was not interned");
  ASSERT_TRUE(pw__stack_intern(NULL, 0) == a, "the empty stack was interned twice");
  ASSERT_EQ(a->depth, 0);
}

static void test_many_stacks_stay_distinct(void **state) {
  /* Enough stacks to fill every shard's buckets and evict the per-thread
   * cache many times over. */
  enum { COUNT = 20000 };
  const pw__stack **seen = calloc(COUNT, sizeof(*seen));
  ASSERT_TRUE(seen != NULL, "out of memory");
  uint32_t before = pw__stack_count();
  for (int i = 0; i < COUNT; i++) {
    uintptr_t frames[2] = {0x7f0000000000u + (uintptr_t)i * 16, 0x401000};
    seen[i] = pw__stack_intern(frames, 2);
  }
  ASSERT_EQ(pw__stack_count(), before + COUNT);
  for (int i = 0; i < COUNT; i++) {
    uintptr_t frames[2] = {0x7f0000000000u + (uintptr_t)i * 16, 0x401000};
    if (pw__stack_intern(frames, 2) != seen[i])
      fail_msg("stack %d interned again gave another record", i);
  }
  ASSERT_EQ(pw__stack_count(), before + COUNT);
  free(seen);
}

static void count_stack(const pw__stack *s, void *arg) { ++*(uint32_t *)arg; }

static void test_foreach_visits_every_stack(void **state) {
  uint32_t visited = 0;
  pw__stack_foreach(count_stack, &visited);
  ASSERT_EQ(visited, pw__stack_count());
}

/* Two call sites, kept out of line so each has its own return address. */
__attribute__((noinline, noclone)) static const pw__stack *capture_here(void) {
  const pw__stack *s = pw__stack_capture(8);
  __asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
  return s;
}

__attribute__((noinline, noclone)) static const pw__stack *capture_there(void) {
  const pw__stack *s = pw__stack_capture(8);
  __asm__ volatile("" ::: "memory");
  return s;
}

static void test_capture_interns_by_call_site(void **state) {
  const pw__stack *first = NULL;
  for (int i = 0; i < 3; i++) {
    const pw__stack *s = capture_here();
    ASSERT_TRUE(s != NULL, "pw__stack_capture returned NULL");
    if (!first) first = s;
    ASSERT_TRUE(s == first, "the same call site gave another stack on pass %d", i);
  }
  ASSERT_TRUE(capture_there() != first, "two call sites gave the same stack");
  ASSERT_TRUE(first->depth >= 2 && first->depth <= 8, "captured depth %u is not in 2..8",
              (unsigned)first->depth);
}

static void test_capture_depth_is_bounded(void **state) {
  ASSERT_TRUE(pw__stack_capture(1)->depth <= 1, "depth 1 kept more than one frame");
  /* Out of range depths are clamped, not trusted. */
  ASSERT_TRUE(pw__stack_capture(0)->depth <= 1, "depth 0 was not clamped to 1");
  ASSERT_TRUE(pw__stack_capture(100000)->depth <= 128, "depth 100000 was not clamped to 128");
}

/* A thread-exit destructor that runs after the stack cache's own (a
 * program's pthread key, created later) and checks out again: the cache
 * was freed, and the capture must start a new one, not read freed
 * memory (the sanitizer run would see it). */
static pthread_key_t late_key;
static const pw__stack *captured_late[2];

/* Volatile, so the loop stays a loop: one call site, twice. */
static volatile int late_captures = 2;

static void capture_at_exit(void *slot) {
  const pw__stack **out = slot;
  for (int i = 0; i < late_captures; i++) out[i] = capture_here();
}

static void *thread_that_captures_at_exit(void *unused) {
  (void)unused;
  capture_here(); /* the cache and its thread-exit destructor exist from here */
  pthread_setspecific(late_key, captured_late);
  return NULL;
}

static void test_capture_after_the_cache_is_freed(void **state) {
  ASSERT_EQ(pthread_key_create(&late_key, capture_at_exit), 0);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, thread_that_captures_at_exit, NULL), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_TRUE(captured_late[0] != NULL && captured_late[0] == captured_late[1],
              "a capture in a late thread-exit destructor failed or gave two stacks (%p, %p)",
              (const void *)captured_late[0], (const void *)captured_late[1]);
  pthread_key_delete(late_key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_identical_frames_share_one_record),
    cmocka_unit_test(test_distinct_frames_get_distinct_records),
    cmocka_unit_test(test_empty_stack_is_a_stack),
    cmocka_unit_test(test_many_stacks_stay_distinct),
    cmocka_unit_test(test_foreach_visits_every_stack),
    cmocka_unit_test(test_capture_interns_by_call_site),
    cmocka_unit_test(test_capture_depth_is_bounded),
    cmocka_unit_test(test_capture_after_the_cache_is_freed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

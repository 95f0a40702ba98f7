/* Unit tests of what the language walkers share: the merge of source
 * frames into a native stack, with and without eval runs, and the module
 * a source file is shown in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/source_walk.h"
#include "unit_assert.h"

/* An interpreter whose code is [0x1000, 0x2000), its eval function
 * [0x1100, 0x1200); source words are small made-up tags here. */
static const pw__interpreter_code code = {0x1100, 0x1200, 0x1000, 0x2000, "interp"};
#define EVAL 0x1150   /* a return address into the eval function */
#define INTERP 0x1800 /* into the interpreter's other code */
#define S(n) ((uintptr_t)1 << 63 | (n))

static int merge(const pw__source_stack *s, const uintptr_t *native, int n, uintptr_t *out) {
  return pw__source_merge(&code, s, native, n, out, 32);
}

/* Python and PHP: each eval call gives way to the frames it ran, and a
 * C extension between two eval calls (a callback) keeps its place. */
static void test_runs_keep_native_frames_in_place(void **state) {
  pw__source_stack s = {.by_run = true};
  pw__source_push(&s, S(1));
  pw__source_end_run(&s); /* the callback, run by the inner eval call */
  pw__source_push(&s, S(2));
  pw__source_push(&s, S(3));
  pw__source_end_run(&s);
  uintptr_t native[] = {0x7000, EVAL, INTERP, 0x8000, EVAL, INTERP, 0x9000};
  uintptr_t out[32];
  int n = merge(&s, native, 7, out);
  uintptr_t want[] = {0x7000, S(1), 0x8000, S(2), S(3), 0x9000};
  ASSERT_EQ(n, 6);
  ASSERT_TRUE(memcmp(out, want, sizeof(want)) == 0, "frames out of place");
}

/* Ruby and Perl: no sign of which call ran which frames, so all stand at
 * the innermost interpreter frame, and a native frame between two
 * interpreter frames is left out rather than shown out of order. */
static void test_without_runs_frames_stand_at_the_innermost(void **state) {
  pw__source_stack s = {.by_run = false};
  pw__source_push(&s, S(1));
  pw__source_push(&s, PW__SOURCE_HIDDEN);
  pw__source_push(&s, S(2));
  uintptr_t native[] = {0x7000, INTERP, 0x8000, INTERP, 0x9000};
  uintptr_t out[32];
  int n = merge(&s, native, 5, out);
  uintptr_t want[] = {0x7000, S(1), S(2), 0x9000};
  ASSERT_EQ(n, 4);
  ASSERT_TRUE(memcmp(out, want, sizeof(want)) == 0, "frames out of place");
}

/* A stack cut at its depth still ends with the outer source frames. */
static void test_outer_frames_beyond_the_native_depth(void **state) {
  pw__source_stack s = {.by_run = true};
  pw__source_push(&s, S(1));
  pw__source_push(&s, S(2));
  uintptr_t native[] = {0x7000};
  uintptr_t out[32];
  ASSERT_EQ(merge(&s, native, 1, out), 3);
  ASSERT_TRUE(out[1] == S(1) && out[2] == S(2), "outer frames lost");
}

static void test_module_rules(void **state) {
  char out[256];
  static const char *const ruby[] = {"/gems/", "/vendor_ruby/"};
  pw__source_module("/usr/share/rubygems-integration/all/gems/activerecord-6.1.7.10/lib/a.rb", ruby, 2,
                    "/usr/lib/libruby.so", out, sizeof(out));
  ASSERT_STR_EQ(out, "/usr/share/rubygems-integration/all/gems/activerecord-6.1.7.10");
  pw__source_module("/usr/lib/ruby/vendor_ruby/pg.rb", ruby, 2, "/usr/lib/libruby.so", out, sizeof(out));
  ASSERT_STR_EQ(out, "/usr/lib/ruby/vendor_ruby/pg.rb");
  pw__source_module("/srv/app/app.rb", ruby, 2, "/usr/lib/libruby.so", out, sizeof(out));
  ASSERT_STR_EQ(out, "/usr/lib/libruby.so");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_runs_keep_native_frames_in_place),
    cmocka_unit_test(test_without_runs_frames_stand_at_the_innermost),
    cmocka_unit_test(test_outer_frames_beyond_the_native_depth),
    cmocka_unit_test(test_module_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

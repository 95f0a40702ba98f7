/* Source frames: equal frames intern to one stack word, distinct ones
 * never share one, the table keeps its own copies, and the symbolizer and
 * suppressions read them as frames in their own language. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/source_frames.h"
#include "core/stack.h"
#include "report/suppress.h"
#include "report/symbolize.h"
#include "unit_assert.h"

static pw__source_frame python_frame(const char *function, const char *file, int line) {
  return (pw__source_frame){"python", function, file, line, "/usr/bin/python3.11"};
}

static void test_equal_frames_share_one_word(void **state) {
  pw__source_frame f = python_frame("open_report_db", "/app/myapp/db.py", 42);
  uint32_t before = pw__source_frame_count();
  uintptr_t a = pw__source_frame_intern(&f);
  uintptr_t b = pw__source_frame_intern(&f);
  ASSERT_TRUE(a != 0, "interning failed");
  ASSERT_TRUE(pw__is_source_frame(a), "the word is not tagged as a source frame");
  ASSERT_TRUE(a == b, "the same frame got two words");
  ASSERT_EQ(pw__source_frame_count(), before + 1);
}

static void test_distinct_frames_get_distinct_words(void **state) {
  pw__source_frame line42 = python_frame("leak_a", "/app/leaks.py", 42);
  pw__source_frame line43 = python_frame("leak_a", "/app/leaks.py", 43);
  pw__source_frame other = python_frame("leak_b", "/app/leaks.py", 42);
  pw__source_frame ruby = {"ruby", "leak_a", "/app/leaks.py", 42, "/usr/bin/python3.11"};
  /* Field boundaries count: "ab" + "c" is not "a" + "bc". */
  pw__source_frame shifted1 = {"python", "ab", "c", 1, NULL};
  pw__source_frame shifted2 = {"python", "a", "bc", 1, NULL};
  uintptr_t w[] = {pw__source_frame_intern(&line42), pw__source_frame_intern(&line43),
                   pw__source_frame_intern(&other), pw__source_frame_intern(&ruby),
                   pw__source_frame_intern(&shifted1), pw__source_frame_intern(&shifted2)};
  for (size_t i = 0; i < 6; i++)
    for (size_t j = i + 1; j < 6; j++) ASSERT_TRUE(w[i] != w[j], "frames %zu and %zu share a word", i, j);
}

static void test_table_keeps_its_own_copy(void **state) {
  /* Python frees code objects before the exit report is written. */
  char function[32], file[32];
  snprintf(function, sizeof(function), "handler");
  snprintf(file, sizeof(file), "/srv/app.py");
  pw__source_frame f = python_frame(function, file, 7);
  uintptr_t word = pw__source_frame_intern(&f);
  snprintf(function, sizeof(function), "XXXXXXX");
  snprintf(file, sizeof(file), "YYYYYYYYYYY");
  const pw__source_frame *back = pw__source_frame_lookup(word);
  ASSERT_TRUE(back != NULL, "lookup of an interned word failed");
  ASSERT_STR_EQ(back->function, "handler");
  ASSERT_STR_EQ(back->file, "/srv/app.py");
  ASSERT_STR_EQ(back->language, "python");
  ASSERT_STR_EQ(back->module, "/usr/bin/python3.11");
  ASSERT_EQ(back->line, 7);
  pw__source_frame no_module = {"python", "f", NULL, 0, NULL};
  back = pw__source_frame_lookup(pw__source_frame_intern(&no_module));
  ASSERT_TRUE(back && back->file == NULL && back->module == NULL, "NULL strings did not stay NULL");
}

static void test_lookup_rejects_other_words(void **state) {
  ASSERT_TRUE(pw__source_frame_lookup(0x401000) == NULL, "a native address was taken for a source frame");
  ASSERT_TRUE(pw__source_frame_lookup(PW__SOURCE_FRAME_TAG) == NULL, "id 0 was found");
  ASSERT_TRUE(pw__source_frame_lookup(PW__SOURCE_FRAME_TAG | 0xFFFFFF) == NULL, "an id never handed out was found");
}

#define THREADS 4
#define FRAMES_PER_THREAD 2000

static uintptr_t words[THREADS][FRAMES_PER_THREAD];

static void *intern_many(void *arg) {
  uintptr_t *out = arg;
  char function[32];
  for (int i = 0; i < FRAMES_PER_THREAD; i++) {
    snprintf(function, sizeof(function), "f%d", i);
    pw__source_frame f = python_frame(function, "/app/many.py", i);
    out[i] = pw__source_frame_intern(&f);
  }
  return NULL;
}

static void test_threads_intern_one_word_per_frame(void **state) {
  /* More frames than one chunk of the table holds, from several threads
   * at once: every thread must get the same word for the same frame. */
  uint32_t before = pw__source_frame_count();
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, intern_many, words[i]);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  ASSERT_EQ(pw__source_frame_count(), before + FRAMES_PER_THREAD);
  for (int i = 0; i < FRAMES_PER_THREAD; i++) {
    for (int k = 1; k < THREADS; k++) ASSERT_TRUE(words[k][i] == words[0][i], "frame %d has two words", i);
    const pw__source_frame *f = pw__source_frame_lookup(words[0][i]);
    ASSERT_TRUE(f && f->line == i, "frame %d reads back wrong", i);
  }
}

static void test_stacks_of_two_functions_differ(void **state) {
  /* Two Python functions leaking through the same native code are two
   * stacks, so two leak groups. */
  pw__source_frame a = python_frame("leak_a", "/app/leaks.py", 10);
  pw__source_frame b = python_frame("leak_b", "/app/leaks.py", 20);
  uintptr_t stack_a[] = {0x5000, pw__source_frame_intern(&a)};
  uintptr_t stack_b[] = {0x5000, pw__source_frame_intern(&b)};
  ASSERT_TRUE(pw__stack_intern(stack_a, 2) != pw__stack_intern(stack_b, 2),
              "two Python call sites share one stack");
}

static void test_symbolized_and_suppressed_as_python(void **state) {
  pw__source_frame f = {"python", "open_report_db", "/srv/myapp/db.py", 42,
                        "/usr/lib/python3/dist-packages/myapp"};
  uintptr_t words_in[] = {pw__source_frame_intern(&f)};
  pw__frame out[2];
  ASSERT_EQ(pw__symbolize(NULL, words_in, 1, out, 2), 1);
  ASSERT_STR_EQ(out[0].function, "open_report_db");
  ASSERT_STR_EQ(out[0].file, "/srv/myapp/db.py");
  ASSERT_STR_EQ(out[0].language, "python");
  ASSERT_EQ(out[0].line, 42);
  ASSERT_TRUE(out[0].interpreted, "a Python frame was given an offset");

  const char *rules[] = {"leak:myapp/db.py\n", "leak:open_report_db\n", "leak:dist-packages/myapp\n"};
  for (size_t i = 0; i < 3; i++) {
    pw__suppressions *s = pw__suppressions_parse(rules[i], "test");
    ASSERT_TRUE(pw__suppressions_match(s, out, 1), "rule %s did not match the Python frame", rules[i]);
    pw__suppressions_free(s);
  }
  pw__suppressions *other = pw__suppressions_parse("leak:close_report_db\nleak:other/db.py\n", "test");
  ASSERT_TRUE(!pw__suppressions_match(other, out, 1), "an unrelated rule matched the Python frame");
  pw__suppressions_free(other);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_equal_frames_share_one_word),
    cmocka_unit_test(test_distinct_frames_get_distinct_words),
    cmocka_unit_test(test_table_keeps_its_own_copy),
    cmocka_unit_test(test_lookup_rejects_other_words),
    cmocka_unit_test(test_threads_intern_one_word_per_frame),
    cmocka_unit_test(test_stacks_of_two_functions_differ),
    cmocka_unit_test(test_symbolized_and_suppressed_as_python),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

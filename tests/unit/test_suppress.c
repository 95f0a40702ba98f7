/* Suppressions: `leak:PATTERN` lines, PATTERN a substring of a function,
 * file or module name in the stack, `*` matching any run, `#` comments. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stderr_capture.h"
#include "report/suppress.h"
#include "unit_assert.h"

#define ASSERT_MATCH(pattern, text) \
  ASSERT_TRUE(pw__pattern_match(pattern, text), "'%s' does not match \"%s\"", pattern, text)
#define ASSERT_NO_MATCH(pattern, text) \
  ASSERT_TRUE(!pw__pattern_match(pattern, text), "'%s' matches \"%s\"", pattern, text)

/* A leak's stack, innermost first, as the symbolizer gives it. */
static const pw__frame stack[] = {
  {"pw_checkout_begin", NULL, 0, "/usr/lib/libpoolwatch.so", 0x1200, "c", false},
  {"OrderRepository_load", "src/legacy/orders.c", 88, "/opt/shop/bin/shop", 0x4321, "c", false},
  {NULL, NULL, 0, "/usr/lib/x86_64-linux-gnu/libzdb.so.13", 0x777, "c", false},
  {"main", "src/main.c", 12, "/opt/shop/bin/shop", 0x1000, "c", false},
};
static const size_t depth = sizeof(stack) / sizeof(stack[0]);

static void test_pattern_is_a_substring(void **state) {
  ASSERT_MATCH("Repository", "OrderRepository_load");
  ASSERT_MATCH("OrderRepository_load", "OrderRepository_load");
  ASSERT_NO_MATCH("repository", "OrderRepository_load"); /* case matters */
  ASSERT_NO_MATCH("OrderRepository_loader", "OrderRepository_load");
  ASSERT_NO_MATCH("x", "");
  ASSERT_NO_MATCH("x", NULL);
}

static void test_star_matches_any_run(void **state) {
  ASSERT_MATCH("Order*_load", "OrderRepository_load");
  ASSERT_MATCH("Order*load", "Orderload"); /* an empty run too */
  ASSERT_MATCH("*", "");
  ASSERT_MATCH("**", "anything");
  ASSERT_MATCH("legacy/*.c", "src/legacy/orders.c");
  ASSERT_MATCH("a*b*c", "xxaYYbZZcxx");
  ASSERT_NO_MATCH("a*b*c", "xxaYYcZZbxx");
  ASSERT_NO_MATCH("Order*_save", "OrderRepository_load");
}

static void test_rules_match_function_file_or_module(void **state) {
  static const char *const matching[] = {
    "leak:OrderRepository_*\n",   /* function */
    "leak:legacy/*.c\n",          /* file */
    "leak:libzdb.so\n",           /* module, of a frame without a function */
    "leak:/opt/shop/bin/*\n",     /* module path */
  };
  for (size_t i = 0; i < sizeof(matching) / sizeof(matching[0]); i++) {
    pw__suppressions *s = pw__suppressions_parse(matching[i], "test.supp");
    ASSERT_TRUE(s != NULL, "parsing failed");
    ASSERT_TRUE(pw__suppressions_match(s, stack, depth), "%s did not suppress the stack",
                matching[i]);
    pw__suppressions_free(s);
  }
  pw__suppressions *s = pw__suppressions_parse("leak:Customer*\nleak:libpq.so\n", "test.supp");
  ASSERT_TRUE(!pw__suppressions_match(s, stack, depth), "unrelated rules suppressed the stack");
  pw__suppressions_free(s);
  ASSERT_TRUE(!pw__suppressions_match(NULL, stack, depth), "no suppressions suppressed the stack");
}

static void test_comments_and_blank_lines(void **state) {
  const char *text =
      "# known leaks in the legacy code\n"
      "\n"
      "   \t\n"
      "leak:Customer_*   # trailing comment\r\n"
      "# leak:OrderRepository_load is commented out\n";
  stderr_capture capture;
  stderr_capture_begin(&capture);
  pw__suppressions *s = pw__suppressions_parse(text, "test.supp");
  char *warnings = stderr_capture_end(&capture);
  ASSERT_STR_EQ(warnings, ""); /* comments and blanks are not mistakes */
  ASSERT_TRUE(!pw__suppressions_match(s, stack, depth), "a commented-out rule suppressed the stack");
  static const pw__frame customer[] = {{"Customer_find", NULL, 0, "/opt/shop/bin/shop", 0, "c", false}};
  ASSERT_TRUE(pw__suppressions_match(s, customer, 1),
              "a rule followed by a comment and CRLF did not match");
  pw__suppressions_free(s);
  free(warnings);
}

static void test_malformed_lines_warn_and_are_skipped(void **state) {
  stderr_capture capture;
  stderr_capture_begin(&capture);
  pw__suppressions *s =
      pw__suppressions_parse("race:Order*\nleak:\nleak:libzdb.so\n", "shop.supp");
  char *warnings = stderr_capture_end(&capture);
  ASSERT_TRUE(s != NULL, "a file with a bad line was rejected whole");
  ASSERT_TRUE(pw__suppressions_match(s, stack, depth), "the good rule after bad lines was lost");
  /* Named with file and line, so the user can find it. */
  ASSERT_TRUE(count_lines_with(warnings, "shop.supp:1") == 1, "no warning names shop.supp:1: %s",
              warnings);
  ASSERT_CONTAINS(warnings, "race:Order*");
  pw__suppressions_free(s);
  free(warnings);
}

static void test_load_from_file(void **state) {
  char path[] = "/tmp/poolwatch-supp-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_TRUE(fd >= 0, "mkstemp failed");
  const char *text = "# shop\nleak:OrderRepository_load\n";
  ASSERT_EQ(write(fd, text, strlen(text)), (long)strlen(text));
  close(fd);
  pw__suppressions *s = pw__suppressions_load(path);
  unlink(path);
  ASSERT_TRUE(s != NULL, "loading %s failed", path);
  ASSERT_TRUE(pw__suppressions_match(s, stack, depth), "the rule from the file did not match");
  pw__suppressions_free(s);
}

static void test_missing_file_warns_and_suppresses_nothing(void **state) {
  stderr_capture capture;
  stderr_capture_begin(&capture);
  pw__suppressions *s = pw__suppressions_load("/nonexistent/poolwatch.supp");
  char *warnings = stderr_capture_end(&capture);
  ASSERT_TRUE(s == NULL, "a missing file gave suppressions");
  ASSERT_EQ(count_lines_with(warnings, ""), 1);
  ASSERT_CONTAINS(warnings, "POOLWATCH_SUPPRESSIONS");
  ASSERT_CONTAINS(warnings, "/nonexistent/poolwatch.supp");
  ASSERT_TRUE(!pw__suppressions_match(s, stack, depth), "NULL suppressions matched");
  free(warnings);
}

/* Matching never blows up: a pattern of many stars against a long name that
 * almost matches was exponential (seven stars delayed an exit by 45 s);
 * forty would not finish in the test's time limit. */
static void test_many_stars_match_without_backtracking(void **state) {
  char pattern[128] = "", text[4096];
  for (int i = 0; i < 40; i++) strcat(pattern, "a*");
  strcat(pattern, "b");
  memset(text, 'a', sizeof(text) - 1);
  text[sizeof(text) - 1] = '\0';
  for (int round = 0; round < 100; round++) ASSERT_NO_MATCH(pattern, text);
  text[sizeof(text) - 2] = 'b';
  ASSERT_MATCH(pattern, text);
  ASSERT_MATCH("*a*b*c*d*e*f*g*", "xaxbxcxdxexfxgx");
  ASSERT_NO_MATCH("*a*b*c*d*e*f*g*", "xaxbxcxdxexgxfx");
}

/* Special files are refused with one warning: a FIFO blocked the exit
 * for ever, /dev/zero spun at 100% CPU, a directory was taken silently. */
static void test_special_files_are_refused(void **state) {
  char fifo[] = "/tmp/poolwatch-unit-fifo-XXXXXX";
  ASSERT_TRUE(mkdtemp(fifo) != NULL, "mkdtemp");
  char path[64];
  snprintf(path, sizeof(path), "%s/supp", fifo);
  ASSERT_TRUE(mkfifo(path, 0600) == 0, "mkfifo");
  const char *files[] = {path, "/dev/zero", "/tmp"};
  for (size_t i = 0; i < 3; i++) {
    stderr_capture capture;
    stderr_capture_begin(&capture);
    pw__suppressions *s = pw__suppressions_load(files[i]);
    char *warnings = stderr_capture_end(&capture);
    ASSERT_TRUE(s == NULL, "%s gave suppressions", files[i]);
    /* The warning is printed once per process, and the missing-file test
     * already had it; test_bad_config checks it for each kind of file. */
    free(warnings);
  }
  unlink(path);
  rmdir(fifo);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pattern_is_a_substring),
    cmocka_unit_test(test_star_matches_any_run),
    cmocka_unit_test(test_rules_match_function_file_or_module),
    cmocka_unit_test(test_comments_and_blank_lines),
    cmocka_unit_test(test_malformed_lines_warn_and_are_skipped),
    cmocka_unit_test(test_load_from_file),
    cmocka_unit_test(test_many_stars_match_without_backtracking),
    cmocka_unit_test(test_missing_file_warns_and_suppresses_nothing),
    cmocka_unit_test(test_special_files_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* POOLWATCH_* parsing. A bad value never stops the program: it gets one
 * warning naming the variable, and the default stays. Warnings are printed
 * once per variable per process, so each variable is given a bad value in
 * one test only. */
#include <stdlib.h>

#include "common/options.h"
#include "stderr_capture.h"
#include "unit_assert.h"

/* The environment the loader sees: NAME, VALUE pairs, NULL-terminated. */
static const char *const *fake_environment;

static char *fake_getenv(const char *name) {
  for (const char *const *e = fake_environment; e && e[0]; e += 2)
    if (strcmp(e[0], name) == 0) return (char *)e[1];
  return NULL;
}

/* Loads options from ENVIRONMENT and returns what went to stderr. */
static char *load(pw__options *o, const char *const *environment) {
  fake_environment = environment;
  stderr_capture capture;
  stderr_capture_begin(&capture);
  pw__options_load(o, fake_getenv);
  return stderr_capture_end(&capture);
}

static void test_defaults_without_environment(void **state) {
  pw__options o;
  char *warnings = load(&o, NULL);
  ASSERT_STR_EQ(warnings, "");
  ASSERT_TRUE(o.output_dir == NULL, "output_dir is set by default");
  ASSERT_TRUE(o.suppressions == NULL, "suppressions are set by default");
  ASSERT_TRUE(o.event_log == NULL, "the event log is on by default");
  ASSERT_EQ(o.exitcode, -1);
  ASSERT_EQ(o.pool_size, -1);
  ASSERT_EQ(o.stack_depth, 32);
  ASSERT_NEAR(o.leak_threshold, 0, 0);
  ASSERT_NEAR(o.interval, 5.0, 0);
  ASSERT_TRUE(!o.quiet, "quiet is on by default");
  free(warnings);
}

static void test_durations(void **state) {
  static const struct {
    const char *text;
    double seconds;
  } good[] = {
    {"250ms", 0.25}, {"30s", 30}, {"5m", 300}, {"1h", 3600}, {"2", 2}, {"1.5s", 1.5},
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    double seconds = -1;
    ASSERT_TRUE(pw__parse_duration(good[i].text, &seconds), "\"%s\" was refused", good[i].text);
    ASSERT_NEAR(seconds, good[i].seconds, 1e-12);
  }
  static const char *const bad[] = {
    "", "0", "0s", "-5s", "soon", "5x", "5 m", "ms", "30 ", "nan", "inf", "1e999",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    double seconds = 42;
    ASSERT_TRUE(!pw__parse_duration(bad[i], &seconds), "\"%s\" was accepted as %g s", bad[i],
                seconds);
    ASSERT_NEAR(seconds, 42, 0); /* untouched on failure */
  }
  ASSERT_TRUE(!pw__parse_duration(NULL, NULL), "NULL was accepted");
}

static void test_whole_numbers(void **state) {
  long v = 7;
  ASSERT_TRUE(pw__parse_long("128", 1, 128, &v), "128 was refused in 1..128");
  ASSERT_EQ(v, 128);
  static const char *const bad[] = {"", "129", "0", "12abc", "1.5", "ten", "99999999999999999999"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    v = 7;
    ASSERT_TRUE(!pw__parse_long(bad[i], 1, 128, &v), "\"%s\" was accepted in 1..128", bad[i]);
    ASSERT_EQ(v, 7);
  }
}

static void test_valid_values_are_taken_silently(void **state) {
  static const char *const environment[] = {
    "POOLWATCH_OUTPUT_DIR", "/tmp/reports",      "POOLWATCH_EXITCODE", "3",
    "POOLWATCH_SUPPRESSIONS", "/etc/pw.supp",    "POOLWATCH_LEAK_THRESHOLD", "250ms",
    "POOLWATCH_POOL_SIZE", "10",                 "POOLWATCH_STACK_DEPTH", "64",
    "POOLWATCH_EVENT_LOG", "stderr",             "POOLWATCH_QUIET", "1",
    "POOLWATCH_INTERVAL", "30s",                 "POOLWATCH_GROWTH_WINDOW", "5m",
    NULL,
  };
  pw__options o;
  char *warnings = load(&o, environment);
  ASSERT_STR_EQ(warnings, "");
  ASSERT_STR_EQ(o.output_dir, "/tmp/reports");
  ASSERT_STR_EQ(o.suppressions, "/etc/pw.supp");
  ASSERT_STR_EQ(o.event_log, "stderr");
  ASSERT_EQ(o.exitcode, 3);
  ASSERT_EQ(o.pool_size, 10);
  ASSERT_EQ(o.stack_depth, 64);
  ASSERT_NEAR(o.leak_threshold, 0.25, 1e-12);
  ASSERT_NEAR(o.interval, 30, 1e-12);
  ASSERT_NEAR(o.growth_window, 300, 1e-12);
  ASSERT_TRUE(o.quiet, "POOLWATCH_QUIET=1 did not set quiet");
  free(warnings);
}

/* Each bad value: the option keeps its default, and exactly one line of
 * stderr, a poolwatch warning, names the variable and the value. */
static void test_bad_values_warn_once_and_keep_defaults(void **state) {
  static const char *const cases[][2] = {
    {"POOLWATCH_EXITCODE", "256"},        {"POOLWATCH_LEAK_THRESHOLD", "soon"},
    {"POOLWATCH_POOL_SIZE", "-3"},        {"POOLWATCH_STACK_DEPTH", "500"},
    {"POOLWATCH_QUIET", "maybe"},         {"POOLWATCH_INTERVAL", "0"},
    {"POOLWATCH_GROWTH_WINDOW", "5 min"}, {"POOLWATCH_OUTPUT_DIR", ""},
  };
  pw__options defaults;
  pw__options_defaults(&defaults);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *name = cases[i][0], *value = cases[i][1];
    const char *environment[] = {name, value, NULL};
    pw__options o;
    char *warnings = load(&o, environment);
    ASSERT_TRUE(memcmp(&o, &defaults, sizeof(o)) == 0, "%s='%s' changed the options", name,
                value);
    ASSERT_TRUE(count_lines_with(warnings, "") == 1, "%s='%s' printed %d lines: %s", name, value,
                count_lines_with(warnings, ""), warnings);
    ASSERT_TRUE(strncmp(warnings, "poolwatch: warning: ", 20) == 0,
                "%s='%s' printed something other than a warning: %s", name, value, warnings);
    ASSERT_CONTAINS(warnings, name);
    if (*value) {
      char quoted[64];
      snprintf(quoted, sizeof(quoted), "'%s'", value);
      ASSERT_CONTAINS(warnings, quoted);
    }
    free(warnings);

    /* The same bad value again (a second read) warns no more. */
    warnings = load(&o, environment);
    ASSERT_TRUE(*warnings == 0, "%s='%s' warned twice: %s", name, value, warnings);
    free(warnings);
  }
}

static void test_a_bad_value_does_not_spoil_the_others(void **state) {
  static const char *const environment[] = {
    "POOLWATCH_SUPPRESSIONS", "", "POOLWATCH_EVENT_LOG", "/tmp/events.log", NULL,
  };
  pw__options o;
  char *warnings = load(&o, environment);
  ASSERT_EQ(count_lines_with(warnings, "POOLWATCH_SUPPRESSIONS"), 1);
  ASSERT_EQ(count_lines_with(warnings, ""), 1);
  ASSERT_TRUE(o.suppressions == NULL, "an empty POOLWATCH_SUPPRESSIONS was taken");
  ASSERT_STR_EQ(o.event_log, "/tmp/events.log");
  free(warnings);
}

static void test_option_table_is_complete(void **state) {
  /* The table drives --help and README: every entry must say what it is. */
  for (size_t i = 0; i < pw__option_count; i++) {
    const pw__option *opt = &pw__option_table[i];
    ASSERT_TRUE(strncmp(opt->name, "POOLWATCH_", 10) == 0, "option %zu is named %s", i, opt->name);
    ASSERT_TRUE(opt->description && *opt->description, "%s has no description", opt->name);
    ASSERT_TRUE(opt->default_text && *opt->default_text, "%s has no default text", opt->name);
    for (size_t j = 0; j < i; j++)
      ASSERT_TRUE(strcmp(opt->name, pw__option_table[j].name) != 0, "%s is listed twice",
                  opt->name);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults_without_environment),
    cmocka_unit_test(test_durations),
    cmocka_unit_test(test_whole_numbers),
    cmocka_unit_test(test_valid_values_are_taken_silently),
    cmocka_unit_test(test_bad_values_warn_once_and_keep_defaults),
    cmocka_unit_test(test_a_bad_value_does_not_spoil_the_others),
    cmocka_unit_test(test_option_table_is_complete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

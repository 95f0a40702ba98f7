/* Output valid for any bytes: JSON strings are valid UTF-8 (invalid bytes
 * become U+FFFD), text shows control characters as \xNN so no name can
 * forge a report line, and Prometheus label values are escaped as the
 * exposition format says. */
#include <jansson.h>
#include <stdlib.h>

#include "common/buf.h"
#include "export/prometheus.h"
#include "unit_assert.h"

#define FFFD "\xef\xbf\xbd"

static char *json_of(const char *s) {
  pw__buf b;
  pw__buf_init(&b);
  pw__buf_json_string(&b, s);
  return b.data;
}

/* S written as a JSON string parses back (jansson refuses invalid UTF-8)
 * to EXPECTED. */
static void check_json(const char *s, const char *expected) {
  char *text = json_of(s);
  json_error_t error;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &error);
  ASSERT_TRUE(v != NULL, "%s is not valid JSON: %s", text, error.text);
  ASSERT_STR_EQ(json_string_value(v), expected);
  json_decref(v);
  free(text);
}

static void test_json_keeps_valid_utf8(void **state) {
  check_json("r\xc3\xa9sum\xc3\xa9.csv", "r\xc3\xa9sum\xc3\xa9.csv");
  check_json("\xe2\x82\xac \xf0\x9f\x90\x98", "\xe2\x82\xac \xf0\x9f\x90\x98");
  check_json("tab\there \"quoted\" back\\slash\nnew\x01", "tab\there \"quoted\" back\\slash\nnew\x01");
}

static void test_json_replaces_invalid_bytes(void **state) {
  /* "résumé.csv" in Latin-1, as a program's argument once held it. */
  check_json("r\xe9sum\xe9.csv", "r" FFFD "sum" FFFD ".csv");
  check_json("\xff\xfe", FFFD FFFD);
  check_json("\xc0\xaf", FFFD FFFD);          /* overlong '/' */
  check_json("\xed\xa0\x80", FFFD FFFD FFFD); /* a UTF-16 surrogate */
  check_json("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* past U+10FFFF */
  check_json("cut \xe2\x82", "cut " FFFD FFFD);            /* truncated at the end */
  check_json("\xe2\x82x", FFFD FFFD "x");
}

static void test_json_every_byte(void **state) {
  /* Every byte value in every position of a short string. */
  for (int a = 1; a < 256; a++)
    for (int b = 0; b < 256; b += 3) {
      char s[4] = {(char)a, (char)b, (char)(b ? 0x80 : 0), 0};
      char *text = json_of(s);
      json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
      ASSERT_TRUE(v != NULL, "bytes %02x %02x gave invalid JSON", a, b);
      json_decref(v);
      free(text);
    }
}

static char *text_of(const char *s) {
  pw__buf b;
  pw__buf_init(&b);
  pw__buf_puts(&b, "");
  pw__buf_text(&b, s);
  return b.data;
}

static void test_text_escapes_controls(void **state) {
  char *t = text_of("pool\npoolwatch: no leaks\x1b[2J\r\x7f\xc2\x9b" "caf\xc3\xa9 \xe9");
  ASSERT_STR_EQ(t, "pool\\x0apoolwatch: no leaks\\x1b[2J\\x0d\\x7f\\xc2\\x9b" "caf\xc3\xa9 \\xe9");
  free(t);
  char out[16];
  ASSERT_STR_EQ(pw__text_escape("a\tb", out, sizeof(out)), "a\\x09b");
  ASSERT_STR_EQ(pw__text_escape("0123456789abcdefghij", out, sizeof(out)), "0123456789ab...");
  ASSERT_STR_EQ(pw__text_escape("\n\n\n\n\n", out, sizeof(out)), "\\x0a\\x0a\\x0a...");
  ASSERT_TRUE(pw__text_escape(NULL, out, sizeof(out)) == NULL, "NULL stays NULL");
}

static char *label_of(const char *s) {
  pw__buf b;
  pw__buf_init(&b);
  pw__prometheus_label_value(&b, s);
  return b.data;
}

static void test_prometheus_label_values(void **state) {
  char *t = label_of("a\\b\"c\nd\te\x01\xff" "\xc3\xa9");
  ASSERT_STR_EQ(t, "\"a\\\\b\\\"c\\nd" FFFD "e" FFFD FFFD "\xc3\xa9\"");
  free(t);
  t = label_of(NULL);
  ASSERT_STR_EQ(t, "\"\"");
  free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_json_keeps_valid_utf8),
    cmocka_unit_test(test_json_replaces_invalid_bytes),
    cmocka_unit_test(test_json_every_byte),
    cmocka_unit_test(test_text_escapes_controls),
    cmocka_unit_test(test_prometheus_label_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

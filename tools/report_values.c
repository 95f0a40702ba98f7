/* Reading values out of a loaded report: numbers saturated, strings
 * made safe to print, frames in the common formatter's form. */
#include "report_load.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

long long report_int(const json_t *object, const char *key, long long fallback) {
  return report_value_int(json_object_get(object, key), fallback);
}

long long report_value_int(const json_t *v, long long fallback) {
  if (json_is_integer(v)) return json_integer_value(v);
  if (json_is_real(v)) {
    /* A hand-edited "count": 1e300 must not become undefined behaviour:
     * out-of-range reals saturate, NaN counts as absent. */
    double d = json_real_value(v);
    if (d != d) return fallback;
    if (d >= 9.2e18) return LLONG_MAX;
    if (d <= -9.2e18) return LLONG_MIN;
    return (long long)d;
  }
  return fallback;
}

long long report_add(long long a, long long b) {
  long long sum;
  if (__builtin_add_overflow(a, b, &sum)) return a > 0 ? LLONG_MAX : LLONG_MIN;
  return sum;
}

const char *report_string(const json_t *object, const char *key) {
  return json_string_value(json_object_get(object, key));
}

pw__frame report_frame(const json_t *frame) {
  const char *offset = report_string(frame, "offset");
  const char *language = report_string(frame, "language");
  bool native = !language || strcmp(language, "c") == 0 || strcmp(language, "c++") == 0;
  return (pw__frame){
      .function = report_string(frame, "function"), .file = report_string(frame, "file"),
      .line = (int)report_int(frame, "line", 0), .module = report_string(frame, "module"),
      .offset = offset ? (uintptr_t)strtoull(offset, NULL, 16) : 0,
      .language = language, .interpreted = !native,
  };
}

/* jansson limits nesting to 2048 levels, which bounds the recursion. */
json_t *report_text_safe(json_t *v) {
  if (json_is_string(v)) {
    const char *text = json_string_value(v);
    if (!pw__text_needs_escape(text)) return v;
    pw__buf safe;
    pw__buf_init(&safe);
    pw__buf_text(&safe, text);
    if (!safe.failed && safe.len != strlen(text)) json_string_set(v, safe.data);
    pw__buf_free(&safe);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) report_text_safe(item);
  } else if (json_is_object(v)) {
    const char *key;
    json_t *item;
    void *tmp;
    json_object_foreach_safe(v, tmp, key, item) {
      report_text_safe(item);
      if (!pw__text_needs_escape(key)) continue;
      pw__buf safe;
      pw__buf_init(&safe);
      pw__buf_text(&safe, key);
      if (!safe.failed && safe.data && safe.len != strlen(key)) {
        json_object_set(v, safe.data, item);
        json_object_del(v, key);
      }
      pw__buf_free(&safe);
    }
  }
  return v;
}

/* Growable text buffers, with JSON string and number escaping. */
#include "common/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pw__buf_init(pw__buf *b) { memset(b, 0, sizeof(*b)); }

void pw__buf_free(pw__buf *b) {
  free(b->data);
  pw__buf_init(b);
}

static bool reserve(pw__buf *b, size_t extra) {
  if (b->failed) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *data = realloc(b->data, cap);
  if (!data) {
    b->failed = true;
    return false;
  }
  b->data = data;
  b->cap = cap;
  return true;
}

void pw__buf_append(pw__buf *b, const char *s, size_t n) {
  if (!reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void pw__buf_puts(pw__buf *b, const char *s) { pw__buf_append(b, s, strlen(s)); }

void pw__buf_vprintf(pw__buf *b, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0 || !reserve(b, (size_t)n)) return;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void pw__buf_printf(pw__buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pw__buf_vprintf(b, fmt, ap);
  va_end(ap);
}

void pw__buf_json_string(pw__buf *b, const char *s) {
  if (!s) {
    pw__buf_puts(b, "null");
    return;
  }
  pw__buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': pw__buf_puts(b, "\\\""); break;
      case '\\': pw__buf_puts(b, "\\\\"); break;
      case '\n': pw__buf_puts(b, "\\n"); break;
      case '\r': pw__buf_puts(b, "\\r"); break;
      case '\t': pw__buf_puts(b, "\\t"); break;
      default:
        if (*p < 0x20)
          pw__buf_printf(b, "\\u%04x", *p);
        else
          pw__buf_append(b, (const char *)p, 1);
    }
  }
  pw__buf_append(b, "\"", 1);
}

void pw__buf_json_double(pw__buf *b, double v) {
  if (!isfinite(v)) v = 0;
  pw__buf_printf(b, "%.6g", v);
}

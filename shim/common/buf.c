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

size_t pw__utf8_sequence(const unsigned char *p) {
  /* RFC 3629's table: no overlong forms, no surrogates, nothing past
   * U+10FFFF. A NUL ends the text, so it is never a continuation byte. */
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  unsigned char lo = 0x80, hi = 0xbf;
  size_t n;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return n;
}

#define REPLACEMENT_CHARACTER "\xef\xbf\xbd" /* U+FFFD */

void pw__buf_json_string(pw__buf *b, const char *s) {
  if (!s) {
    pw__buf_puts(b, "null");
    return;
  }
  pw__buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    switch (*p) {
      case '"': pw__buf_puts(b, "\\\""); break;
      case '\\': pw__buf_puts(b, "\\\\"); break;
      case '\n': pw__buf_puts(b, "\\n"); break;
      case '\r': pw__buf_puts(b, "\\r"); break;
      case '\t': pw__buf_puts(b, "\\t"); break;
      default:
        if (*p < 0x20) {
          pw__buf_printf(b, "\\u%04x", *p);
        } else {
          /* A Latin-1 "résumé.csv" in a program's argv once made the whole
           * report unreadable by any JSON parser; invalid bytes become
           * U+FFFD, one per byte, as WHATWG's decoder does. */
          size_t n = pw__utf8_sequence(p);
          if (n) {
            pw__buf_append(b, (const char *)p, n);
            p += n;
            continue;
          }
          pw__buf_puts(b, REPLACEMENT_CHARACTER);
        }
    }
    p++;
  }
  pw__buf_append(b, "\"", 1);
}

/* Whether the sequence of N bytes at P is shown escaped in text: C0
 * controls, DEL, C1 controls (U+0080..U+009F, CSI among them) and invalid
 * bytes (N == 0). A newline in a pool name could forge a report line, an
 * escape code could rewrite the terminal. */
static bool shown_escaped(const unsigned char *p, size_t n) {
  if (n == 0) return true;
  if (n == 1) return *p < 0x20 || *p == 0x7f;
  return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

bool pw__text_needs_escape(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; p && *p;) {
    if (*p < 0x80) {
      if (*p < 0x20 || *p == 0x7f) return true;
      p++;
      continue;
    }
    size_t n = pw__utf8_sequence(p);
    if (shown_escaped(p, n)) return true;
    p += n;
  }
  return false;
}

void pw__buf_text(pw__buf *b, const char *s) {
  if (!s) return;
  /* Most names need nothing: one append, not one per character. */
  if (!pw__text_needs_escape(s)) {
    pw__buf_puts(b, s);
    return;
  }
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    size_t n = pw__utf8_sequence(p);
    if (!shown_escaped(p, n)) {
      pw__buf_append(b, (const char *)p, n);
      p += n;
    } else {
      pw__buf_printf(b, "\\x%02x", *p); /* a C1 control's second byte follows */
      p++;
    }
  }
}

const char *pw__text_escape(const char *s, char *out, size_t cap) {
  if (!s || !cap) return s;
  /* No allocation: the event log and warnings call this inside the host. */
  size_t len = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t n = pw__utf8_sequence(p);
    bool escaped = shown_escaped(p, n);
    size_t width = escaped ? 4 : n;
    if (len + width + 1 > cap) {
      /* Cut at a character boundary and say so. */
      while (len > 0 && len + 4 > cap) {
        len--;
        while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80) len--;
      }
      snprintf(out + len, cap - len, "%s", "...");
      return out;
    }
    if (escaped) {
      snprintf(out + len, cap - len, "\\x%02x", *p);
      p++;
    } else {
      memcpy(out + len, p, n);
      p += n;
    }
    len += width;
  }
  out[len] = '\0';
  return out;
}

void pw__buf_json_double(pw__buf *b, double v) {
  if (!isfinite(v)) v = 0;
  pw__buf_printf(b, "%.6g", v);
}

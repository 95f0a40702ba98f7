/* A growable text buffer: every report writer formats into one, so the
 * same code produces stderr text, files and the tool's output. */
#ifndef POOLWATCH_BUF_H
#define POOLWATCH_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pw__buf {
  char *data;    /* NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
  bool failed;   /* an allocation failed; contents are truncated */
} pw__buf;

void pw__buf_init(pw__buf *b);
void pw__buf_free(pw__buf *b);
void pw__buf_append(pw__buf *b, const char *s, size_t n);
void pw__buf_puts(pw__buf *b, const char *s);
void pw__buf_printf(pw__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pw__buf_vprintf(pw__buf *b, const char *fmt, va_list ap);
/* Appends S as a JSON string literal, quotes included; NULL becomes null. */
void pw__buf_json_string(pw__buf *b, const char *s);
/* Appends a JSON number; non-finite values become 0. */
void pw__buf_json_double(pw__buf *b, double v);

#endif

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
/* Length of the valid UTF-8 sequence at P (1 to 4), or 0 if P starts an
 * invalid one. */
size_t pw__utf8_sequence(const unsigned char *p);
/* Appends S as a JSON string literal, quotes included; NULL becomes null.
 * Invalid UTF-8 becomes U+FFFD, so the result is always valid JSON. */
void pw__buf_json_string(pw__buf *b, const char *s);
/* Appends S for a text report or a terminal: control characters (C0, DEL,
 * C1) and invalid UTF-8 bytes become \xNN, so no name or argument can
 * start a line of its own or send an escape code. */
void pw__buf_text(pw__buf *b, const char *s);
/* Whether pw__buf_text would change S. */
bool pw__text_needs_escape(const char *s);
/* S escaped as pw__buf_text does, into OUT (CAP bytes; cut with "..." if
 * longer). Returns OUT, or S when S is NULL. */
const char *pw__text_escape(const char *s, char *out, size_t cap);
/* Appends a JSON number; non-finite values become 0. */
void pw__buf_json_double(pw__buf *b, double v);

#endif

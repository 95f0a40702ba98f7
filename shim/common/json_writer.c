/* A small indenting JSON writer, for the shim, which has no JSON library. */
#include "common/json_writer.h"

#include <stdarg.h>

static bool in_inline(const pw__json_writer *w) {
  return w->inline_depth && w->depth >= w->inline_depth;
}

static void newline(pw__json_writer *w) {
  pw__buf_puts(w->out, "\n");
  for (int i = 0; i < w->depth; i++) pw__buf_puts(w->out, "  ");
}

static void begin_value(pw__json_writer *w, const char *key) {
  if (!w->first) pw__buf_puts(w->out, in_inline(w) ? ", " : ",");
  if (!in_inline(w) && w->depth > 0) newline(w);
  w->first = false;
  if (key) {
    pw__buf_json_string(w->out, key);
    pw__buf_puts(w->out, ": ");
  }
}

static void open_container(pw__json_writer *w, const char *key, const char *bracket,
                           bool is_inline) {
  begin_value(w, key);
  pw__buf_puts(w->out, bracket);
  w->depth++;
  if (is_inline && !w->inline_depth) w->inline_depth = w->depth;
  w->first = true;
}

static void close_container(pw__json_writer *w, const char *bracket) {
  bool was_inline = in_inline(w);
  bool empty = w->first;
  if (w->inline_depth == w->depth) w->inline_depth = 0;
  w->depth--;
  if (!empty && !was_inline) newline(w);
  pw__buf_puts(w->out, bracket);
  w->first = false;
  if (w->depth == 0) pw__buf_puts(w->out, "\n");
}

void pw__json_open_object(pw__json_writer *w, const char *key) {
  open_container(w, key, "{", false);
}

void pw__json_open_inline_object(pw__json_writer *w, const char *key) {
  open_container(w, key, "{", true);
}

void pw__json_close_object(pw__json_writer *w) { close_container(w, "}"); }

void pw__json_open_array(pw__json_writer *w, const char *key) {
  open_container(w, key, "[", false);
}

void pw__json_open_inline_array(pw__json_writer *w, const char *key) {
  open_container(w, key, "[", true);
}

void pw__json_close_array(pw__json_writer *w) { close_container(w, "]"); }

void pw__json_put_string(pw__json_writer *w, const char *key, const char *value) {
  begin_value(w, key);
  pw__buf_json_string(w->out, value);
}

void pw__json_put_int(pw__json_writer *w, const char *key, long value) {
  begin_value(w, key);
  pw__buf_printf(w->out, "%ld", value);
}

/* For true, false and null. */
void pw__json_put_literal(pw__json_writer *w, const char *key, const char *literal) {
  begin_value(w, key);
  pw__buf_puts(w->out, literal);
}

pw__json_writer pw__json_writer_for(pw__buf *out) {
  pw__json_writer w = {out, 0, 0, true};
  return w;
}

void pw__json_put_stringf(pw__json_writer *w, const char *key, const char *fmt, ...) {
  pw__buf text;
  pw__buf_init(&text);
  va_list ap;
  va_start(ap, fmt);
  pw__buf_vprintf(&text, fmt, ap);
  va_end(ap);
  pw__json_put_string(w, key, text.data ? text.data : "");
  pw__buf_free(&text);
}

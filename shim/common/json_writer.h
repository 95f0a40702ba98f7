/* A small JSON writer for the shim, which cannot depend on a JSON library.
 * People read and diff the files it writes, so they are indented like
 * Python's json.dumps(indent=2), except that containers opened "inline"
 * (a panel of the dashboard seed, a gridPos) stay on one line. */
#ifndef POOLWATCH_JSON_WRITER_H
#define POOLWATCH_JSON_WRITER_H

#include <stdbool.h>

#include "common/buf.h"

typedef struct pw__json_writer {
  pw__buf *out;
  int depth;
  int inline_depth; /* depth of the outermost inline container; 0: none */
  bool first;       /* nothing written yet in the current container */
} pw__json_writer;

pw__json_writer pw__json_writer_for(pw__buf *out);
/* KEY is NULL inside an array. */
void pw__json_open_object(pw__json_writer *w, const char *key);
void pw__json_open_inline_object(pw__json_writer *w, const char *key);
void pw__json_close_object(pw__json_writer *w);
void pw__json_open_array(pw__json_writer *w, const char *key);
void pw__json_open_inline_array(pw__json_writer *w, const char *key);
void pw__json_close_array(pw__json_writer *w);
void pw__json_put_string(pw__json_writer *w, const char *key, const char *value);
void pw__json_put_stringf(pw__json_writer *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pw__json_put_int(pw__json_writer *w, const char *key, long value);
/* For true, false and null. */
void pw__json_put_literal(pw__json_writer *w, const char *key, const char *literal);

#endif

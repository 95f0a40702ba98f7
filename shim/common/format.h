/* How poolwatch words a frame, a stack, an age and a leak group's
 * headline, in the shim's reports, its messages and the `poolwatch`
 * command alike, so the same leak reads the same everywhere. */
#ifndef POOLWATCH_FORMAT_H
#define POOLWATCH_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* One frame of a stack, symbolized (or read back from a report). */
typedef struct pw__frame {
  const char *function; /* NULL when unknown */
  const char *file;     /* NULL without debug info */
  int line;             /* 0 without debug info */
  const char *module;   /* path of the executable or library */
  uintptr_t offset;     /* of the call instruction in MODULE, for addr2line; 0: unknown */
  const char *language; /* "c", "c++" (FUNCTION demangled), "python", ...; NULL: unknown */
  bool interpreted;     /* a source frame of an interpreted language: no OFFSET */
} pw__frame;

/* "#INDEX function file:line (module+0xoffset)", leaving out what is
 * unknown, and a newline. A source frame of an interpreted language reads
 * "#INDEX function file:line (python)": its module is in the JSON report;
 * its language is what a reader needs here. */
void pw__format_frame(pw__buf *out, const char *indent, size_t index, const pw__frame *f);
/* COUNT frames, one a line, or "(no stack)". */
void pw__format_stack(pw__buf *out, const char *indent, const pw__frame *frames, size_t count);
/* The first SHOWN frames on one line, innermost first:
 * "function (file.c:12) < caller (main.c:40)"; "??" for no frames. */
void pw__format_call_chain(pw__buf *out, const pw__frame *frames, size_t count, size_t shown);

/* An age or duration as people read it: "850 us", "12.3 ms", "4.2 s",
 * "3m05s", "2h01m". Returns OUT. */
const char *pw__format_age(double seconds, char *out, size_t cap);
/* RFC 3339 UTC with milliseconds: "2024-05-01T12:00:00.123Z". */
void pw__format_time(double seconds, char *out, size_t cap);

/* A leak group's headline: "3 leaked connections in pool libpq, oldest
 * 8.5 s" (checkouts: "... from pool ..."); OLDEST below 0 leaves the age
 * out. What follows (processes, "opened at:") is the caller's. */
void pw__format_leak_headline(pw__buf *out, bool checkout, long long count, const char *pool,
                              double oldest);
/* What a leak group's stack shows: "opened" or "checked out". */
const char *pw__leak_origin(bool checkout);

/* ONE when N is 1, else MANY. */
static inline const char *pw__plural(long long n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

#endif

/* GitHub Actions workflow commands: one "::error" line per leak group and
 * one "::warning" line per other finding, with file= and line= at the
 * user's own frame so the annotation lands on that line of the diff, and a
 * short stack in the message. */
#include <stdlib.h>
#include <string.h>

#include "ci_location.h"
#include "common/buf.h"
#include "report_ci.h"
#include "report_load.h"

/* Frames shown in an annotation's message; the rest are in the reports. */
#define GITHUB_FRAMES 6

/* GitHub's escaping of a command's message ('%', CR and LF) and, for
 * property values, also ':' and ','. */
static void escape(pw__buf *b, const char *s, bool property) {
  for (; s && *s; s++) {
    switch (*s) {
      case '%': pw__buf_puts(b, "%25"); break;
      case '\r': pw__buf_puts(b, "%0D"); break;
      case '\n': pw__buf_puts(b, "%0A"); break;
      case ':': pw__buf_puts(b, property ? "%3A" : ":"); break;
      case ',': pw__buf_puts(b, property ? "%2C" : ","); break;
      default: pw__buf_append(b, s, 1);
    }
  }
}

static void short_stack(pw__buf *message, const json_t *stack) {
  size_t n = json_array_size(stack), i;
  json_t *frame;
  json_array_foreach(stack, i, frame) {
    if (i == GITHUB_FRAMES) {
      pw__buf_printf(message, "\n  ... %zu more frames", n - i);
      break;
    }
    char *brief = ci_frame_brief(frame, true);
    pw__buf_printf(message, "\n  #%zu %s", i, brief ? brief : "??");
    free(brief);
  }
}

static void annotation(pw__buf *line, const json_t *g, bool leak, const char *root) {
  const char *kind = report_string(g, "kind");
  const char *pool = report_string(g, "pool");
  const char *detail = report_string(g, "detail");
  long long count = report_int(g, "count", 0);
  const json_t *stack = json_object_get(g, "stack");
  const json_t *frame = ci_group_frame(g);
  const char *file = frame ? report_string(frame, "file") : NULL;
  long long lineno = frame ? report_int(frame, "line", 0) : 0;
  bool checkout = kind && strcmp(kind, "checkout") == 0;

  pw__buf title, message;
  pw__buf_init(&title);
  pw__buf_init(&message);
  if (leak) {
    pw__buf_printf(&title, "poolwatch: leaked %s", checkout ? "checkout" : "connection");
    pw__buf_printf(&message, "%lld %s%s leaked from pool %s, %s at:", count,
                   checkout ? "checkout" : "connection", count == 1 ? "" : "s", pool ? pool : "?",
                   checkout ? "checked out" : "opened");
  } else {
    pw__buf_printf(&title, "poolwatch: %s", kind ? kind : "finding");
    pw__buf_printf(&message, "%s in pool %s (%lld time%s)", kind ? kind : "?", pool ? pool : "?",
                   count, count == 1 ? "" : "s");
    if (detail && *detail) pw__buf_printf(&message, ": %s", detail);
    pw__buf_puts(&message, ", at:");
  }
  short_stack(&message, stack);

  pw__buf_puts(line, leak ? "::error " : "::warning ");
  if (file) {
    pw__buf_puts(line, "file=");
    escape(line, ci_relative_path(file, root), true);
    if (lineno > 0) pw__buf_printf(line, ",line=%lld", lineno);
    pw__buf_puts(line, ",");
  }
  pw__buf_puts(line, "title=");
  escape(line, title.data, true);
  pw__buf_puts(line, "::");
  escape(line, message.data, false);
  pw__buf_puts(line, "\n");
  pw__buf_free(&title);
  pw__buf_free(&message);
}

bool report_write_github(FILE *out, const json_t *merged, const char *source_root) {
  static const struct {
    const char *key;
    bool leak;
  } lists[] = {{"leaks", true}, {"findings", false}};
  bool ok = true;
  for (size_t l = 0; l < 2; l++) {
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(merged, lists[l].key), i, g) {
      pw__buf line;
      pw__buf_init(&line);
      annotation(&line, g, lists[l].leak, source_root);
      ok = ok && !line.failed && fputs(line.data, out) != EOF;
      pw__buf_free(&line);
    }
  }
  return ok && !ferror(out);
}

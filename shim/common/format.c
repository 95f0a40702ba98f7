/* The one wording of frames, stacks, ages and leak headlines. */
#include "common/format.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Names come from the program's own debug info, paths and arguments: they
 * are escaped wherever they are printed, so none can forge a report line. */
void pw__format_frame(pw__buf *out, const char *indent, size_t index, const pw__frame *f) {
  pw__buf_printf(out, "%s#%zu ", indent, index);
  pw__buf_text(out, f->function ? f->function : "??");
  if (f->file) {
    pw__buf_puts(out, " ");
    pw__buf_text(out, f->file);
    if (f->line > 0) pw__buf_printf(out, ":%d", f->line);
  }
  if (f->interpreted) {
    pw__buf_printf(out, " (%s)\n", f->language ? f->language : "?");
    return;
  }
  if (f->module || f->offset) {
    pw__buf_puts(out, " (");
    pw__buf_text(out, f->module ? f->module : "??");
    if (f->offset) pw__buf_printf(out, "+0x%zx", (size_t)f->offset);
    pw__buf_puts(out, ")");
  }
  pw__buf_puts(out, "\n");
}

void pw__format_stack(pw__buf *out, const char *indent, const pw__frame *frames, size_t count) {
  if (!count) pw__buf_printf(out, "%s(no stack)\n", indent);
  for (size_t i = 0; i < count; i++) pw__format_frame(out, indent, i, &frames[i]);
}

void pw__format_call_chain(pw__buf *out, const pw__frame *frames, size_t count, size_t shown) {
  if (!count) pw__buf_puts(out, "??");
  for (size_t k = 0; k < count && k < shown; k++) {
    const pw__frame *f = &frames[k];
    pw__buf_puts(out, k ? " < " : "");
    pw__buf_text(out, f->function ? f->function : "??");
    if (f->file) {
      const char *slash = strrchr(f->file, '/');
      pw__buf_puts(out, " (");
      pw__buf_text(out, slash ? slash + 1 : f->file);
      pw__buf_printf(out, ":%d)", f->line);
    }
  }
}

const char *pw__format_age(double s, char *out, size_t cap) {
  /* A report read back may hold any number: past a thousand years, or not
   * a number at all, an age is only shown as such. */
  if (!(s >= 0) || s > 3.2e10) {
    snprintf(out, cap, "%s", s > 0 ? "over 1000 years" : "?");
    return out;
  }
  if (s < 1e-3)
    snprintf(out, cap, "%.0f us", s * 1e6);
  else if (s < 0.1)
    snprintf(out, cap, "%.3g ms", s * 1e3);
  else if (s < 1)
    snprintf(out, cap, "%.0f ms", s * 1e3);
  else if (s < 60)
    snprintf(out, cap, "%.3g s", s);
  else if (s < 3600)
    snprintf(out, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
  else
    snprintf(out, cap, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
  return out;
}

void pw__format_time(double seconds, char *out, size_t cap) {
  time_t whole = (time_t)seconds;
  struct tm tm;
  gmtime_r(&whole, &tm);
  char date[32];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, cap, "%s.%03dZ", date, (int)((seconds - (double)whole) * 1000));
}

const char *pw__leak_origin(bool checkout) { return checkout ? "checked out" : "opened"; }

void pw__format_leak_headline(pw__buf *out, bool checkout, long long count, const char *pool,
                              double oldest) {
  pw__buf_printf(out, "%lld leaked %s %s pool ", count,
                 checkout ? pw__plural(count, "checkout", "checkouts")
                          : pw__plural(count, "connection", "connections"),
                 checkout ? "from" : "in");
  pw__buf_text(out, pool ? pool : "?");
  char age[32];
  if (oldest >= 0) pw__buf_printf(out, ", oldest %s", pw__format_age(oldest, age, sizeof(age)));
}

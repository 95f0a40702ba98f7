/* The one wording of frames, stacks, ages and leak headlines. */
#include "common/format.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* UTC calendar arithmetic of poolwatch's own (days since 1970-01-01 to a
 * civil date, the proleptic Gregorian calendar). gmtime_r takes glibc's
 * time-zone lock: a child forked while another thread of the parent held
 * it inside gmtime_r inherited the lock held and hung at its first event
 * or at exit (2 of 400 forks in threaded parents). */
static void civil_from_days(int64_t days, int64_t *year, int *month, int *day) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;                                  /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                                   /* [0, 11] */
  *day = (int)(doy - (153 * mp + 2) / 5 + 1);
  *month = (int)(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2);
}

void pw__format_time(double seconds, char *out, size_t cap) {
  /* Out-of-range times (a corrupt report) print as the epoch. */
  if (!(seconds >= -1e15 && seconds <= 1e15)) seconds = 0;
  double floor_seconds = seconds < 0 && (double)(int64_t)seconds != seconds
                             ? (double)((int64_t)seconds - 1) : (double)(int64_t)seconds;
  int64_t whole = (int64_t)floor_seconds;
  int millis = (int)((seconds - floor_seconds) * 1000);
  if (millis > 999) millis = 999;
  int64_t days = whole >= 0 ? whole / 86400 : -((-whole + 86399) / 86400);
  int64_t rest = whole - days * 86400;
  int64_t year;
  int month, day;
  civil_from_days(days, &year, &month, &day);
  snprintf(out, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)year, month, day,
           (int)(rest / 3600), (int)(rest / 60 % 60), (int)(rest % 60), millis);
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

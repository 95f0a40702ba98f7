/* The text form of a merged report, worded as the library's own. */
#include "report_text.h"

#include <stdlib.h>
#include <string.h>

#include "common/format.h"

#include "report_load.h"

#define MAX_CONNINFO_SHOWN 3

void report_print_count(FILE *out, long long n, const char *singular, const char *plural) {
  fprintf(out, "%lld %s", n, n == 1 ? singular : plural);
}

/* Prints a scalar as people read it: null as "-", reals briefly. */
static void print_value(FILE *out, const json_t *v) {
  if (json_is_integer(v))
    fprintf(out, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    fprintf(out, "%.6g", json_real_value(v));
  else if (json_is_string(v))
    fputs(json_string_value(v), out);
  else if (json_is_true(v))
    fputs("yes", out);
  else if (json_is_false(v))
    fputs("no", out);
  else
    fputs("-", out);
}

static void print_buf(FILE *out, pw__buf *text) {
  if (text->data) fputs(text->data, out);
  pw__buf_free(text);
}

/* A stack as the library's own text report prints it, read back from the
 * report's frames (the offset is written as "0x..."). */
static void print_stack(FILE *out, const json_t *stack, const char *indent) {
  size_t n = json_array_size(stack);
  pw__frame *frames = calloc(n ? n : 1, sizeof(*frames));
  if (!frames) return;
  size_t i;
  json_t *frame;
  json_array_foreach(stack, i, frame) frames[i] = report_frame(frame);
  pw__buf text;
  pw__buf_init(&text);
  pw__format_stack(&text, indent, frames, n);
  print_buf(out, &text);
  free(frames);
}

static void print_pids(FILE *out, const json_t *pids) {
  size_t n = json_array_size(pids);
  if (n == 0) return;
  fputs(n == 1 ? ", in process " : ", in processes ", out);
  size_t i;
  json_t *pid;
  json_array_foreach(pids, i, pid) {
    if (i == 8 && n > 9) {
      fprintf(out, " and %zu more", n - i);
      break;
    }
    fprintf(out, "%s", i ? ", " : "");
    print_value(out, pid);
  }
}

static void print_summary(FILE *out, const json_t *merged) {
  const json_t *s = json_object_get(merged, "summary");
  long long connections = report_int(s, "leaked_connections", 0);
  long long checkouts = report_int(s, "leaked_checkouts", 0);
  fputs("poolwatch: ", out);
  report_print_count(out, report_int(s, "processes", 0), "process", "processes");
  fputs(": ", out);
  report_print_count(out, connections, "leaked connection", "leaked connections");
  fputs(", ", out);
  report_print_count(out, checkouts, "leaked checkout", "leaked checkouts");
  if (report_add(connections, checkouts) > 0) {
    fputs(" in ", out);
    report_print_count(out, report_int(s, "leak_groups", 0), "group", "groups");
  }
  fputs(", ", out);
  report_print_count(out, report_int(s, "findings", 0), "finding", "findings");
  fprintf(out, ", %lld suppressed\n", report_int(s, "suppressed", 0));
  const json_t *baseline = json_object_get(merged, "baseline");
  if (baseline) {
    fprintf(out, "poolwatch: not shown: ");
    report_print_count(out, report_int(baseline, "known_leaks", 0), "leak", "leaks");
    fputs(" and ", out);
    report_print_count(out, report_int(baseline, "known_findings", 0), "finding", "findings");
    fprintf(out, " already in the baseline %s\n", report_string(baseline, "path"));
  }
}

static void print_processes(FILE *out, const json_t *processes) {
  fputs("\nProcesses:\n", out);
  size_t i;
  json_t *p;
  json_array_foreach(processes, i, p) {
    const json_t *s = json_object_get(p, "summary");
    fprintf(out, "  %lld", report_int(p, "pid", -1));
    const char *program = report_string(p, "program");
    fprintf(out, " %s", program ? program : "?");
    json_t *ppid = json_object_get(p, "ppid");
    if (ppid) {
      fputs(" (parent ", out);
      print_value(out, ppid);
      fputs(")", out);
    }
    fputs(": ", out);
    report_print_count(out, report_int(s, "leaked_connections", 0), "leaked connection",
                       "leaked connections");
    fputs(", ", out);
    report_print_count(out, report_int(s, "leaked_checkouts", 0), "leaked checkout",
                       "leaked checkouts");
    fputs(", ", out);
    report_print_count(out, report_int(s, "findings", 0), "finding", "findings");
    const char *file = report_string(p, "file");
    if (file) fprintf(out, " [%s]", file);
    fputs("\n", out);
  }
}

/* A few of a connection group's conninfo strings (passwords are already
 * masked by the library), as its own text report shows them. */
static void print_conninfo(FILE *out, const json_t *items) {
  size_t i, shown = 0, n = json_array_size(items);
  json_t *item;
  json_array_foreach(items, i, item) {
    const char *conninfo = report_string(item, "conninfo");
    if (!conninfo) continue;
    if (shown == MAX_CONNINFO_SHOWN) {
      fprintf(out, "    ... and %zu more\n", n - i);
      break;
    }
    shown++;
    fprintf(out, "    conninfo: %s%s\n", *conninfo ? conninfo : "(defaults)",
            json_is_false(json_object_get(item, "connected")) ? " (not connected)" : "");
  }
}

static void print_leaks(FILE *out, const json_t *leaks) {
  if (json_array_size(leaks) == 0) return;
  fputs("\nLeaks, largest group first:\n", out);
  size_t i;
  json_t *g;
  json_array_foreach(leaks, i, g) {
    const char *kind = report_string(g, "kind");
    bool checkout = kind && strcmp(kind, "checkout") == 0;
    json_t *age = json_object_get(g, "oldest_age_s");
    pw__buf headline;
    pw__buf_init(&headline);
    pw__buf_puts(&headline, "  ");
    pw__format_leak_headline(&headline, checkout, report_int(g, "count", 0),
                             report_string(g, "pool"),
                             json_is_number(age) ? json_number_value(age) : -1);
    print_buf(out, &headline);
    print_pids(out, json_object_get(g, "pids"));
    fprintf(out, ", %s at:\n", pw__leak_origin(checkout));
    print_stack(out, json_object_get(g, "stack"), "    ");
    print_conninfo(out, json_object_get(g, "items"));
  }
}

/* Holders are whoever held an exhausted pool's connections at that moment:
 * {"count": N, "stack": [...]} each, as the library writes them. */
static void print_holders(FILE *out, const json_t *holders) {
  size_t i;
  json_t *h;
  json_array_foreach(holders, i, h) {
    fprintf(out, "    %lld held, checked out at:\n", report_int(h, "count", 1));
    print_stack(out, json_object_get(h, "stack"), "      ");
  }
}

/* The second stack of a finding: where the connection was first finished,
 * or checked out, depending on the kind (the library's text says the same). */
static void print_other_stack(FILE *out, const char *kind, const json_t *stack) {
  if (json_array_size(stack) == 0) return;
  const char *label = "checked out at";
  if (kind && strcmp(kind, "double_finish") == 0) label = "first finished at";
  if (kind && strcmp(kind, "double_checkin") == 0) label = "previously checked out at";
  fprintf(out, "    %s:\n", label);
  print_stack(out, stack, "      ");
}

static void print_findings(FILE *out, const json_t *findings) {
  if (json_array_size(findings) == 0) return;
  fputs("\nFindings:\n", out);
  size_t i;
  json_t *g;
  json_array_foreach(findings, i, g) {
    const char *kind = report_string(g, "kind");
    const char *pool = report_string(g, "pool");
    const char *detail = report_string(g, "detail");
    fprintf(out, "  %lld %s", report_int(g, "count", 0), kind ? kind : "?");
    if (pool) fprintf(out, " in pool %s", pool);
    print_pids(out, json_object_get(g, "pids"));
    if (detail && *detail) fprintf(out, ": %s", detail);
    fputs(", at:\n", out);
    print_stack(out, json_object_get(g, "stack"), "    ");
    print_other_stack(out, kind, json_object_get(g, "other_stack"));
    print_holders(out, json_object_get(g, "holders"));
  }
}

/* Prints every "key value" pair of an object of scalars on one line. */
static void print_pairs(FILE *out, const char *label, const json_t *object) {
  if (!json_is_object(object) || json_object_size(object) == 0) return;
  fprintf(out, "    %s:", label);
  const char *key;
  json_t *v;
  const char *sep = " ";
  json_object_foreach((json_t *)object, key, v) {
    fprintf(out, "%s%s ", sep, key);
    print_value(out, v);
    sep = ", ";
  }
  fputs("\n", out);
}

static void print_distribution(FILE *out, const char *label, const json_t *d) {
  long long count = report_int(d, "count", 0);
  if (!json_is_object(d) || count == 0) return;
  fprintf(out, "    %s: count %lld", label, count);
  static const char *const stats[] = {"mean", "max", "p50", "p95", "p99"};
  for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
    json_t *v = json_object_get(d, stats[i]);
    if (json_is_number(v)) fprintf(out, ", %s %.3g s", stats[i], json_number_value(v));
  }
  fputs("\n", out);
}

static void print_pools(FILE *out, const json_t *pools) {
  if (json_array_size(pools) == 0) return;
  fputs("\nPools:\n", out);
  size_t i;
  json_t *p;
  json_array_foreach(pools, i, p) {
    const char *name = report_string(p, "name");
    const char *kind = report_string(p, "kind");
    fprintf(out, "  %s (%s) in process %lld, configured size ", name ? name : "?",
            kind ? kind : "?", report_int(p, "pid", -1));
    print_value(out, json_object_get(p, "configured_size"));
    fputs(":\n", out);
    print_pairs(out, "metrics", json_object_get(p, "metrics"));
    print_pairs(out, "peaks", json_object_get(p, "peaks"));
    print_pairs(out, "counters", json_object_get(p, "counters"));
    print_distribution(out, "wait time", json_object_get(p, "wait_time"));
    print_distribution(out, "hold time", json_object_get(p, "hold_time"));
    print_distribution(out, "connect time", json_object_get(p, "connect_time"));
  }
}

void report_print_text(FILE *out, const json_t *merged) {
  print_summary(out, merged);
  print_processes(out, json_object_get(merged, "processes"));
  print_leaks(out, json_object_get(merged, "leaks"));
  print_findings(out, json_object_get(merged, "findings"));
  print_pools(out, json_object_get(merged, "pools"));
}

/* Loading poolwatch-PID.json reports and merging them into one set.
 *
 * A single process's report and a merged one (`poolwatch report --format
 * json`) load the same way, so merged output can be merged again or serve
 * as a baseline. Leaks and findings are grouped as they are added: entries
 * with the same kind, pool and stack (each frame's function, file, line and
 * module) become one group whose count is the sum. */
#ifndef POOLWATCH_REPORT_LOAD_H
#define POOLWATCH_REPORT_LOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/format.h"

typedef struct report_set {
  json_t *processes;     /* {pid, ppid, program, argv, started_at, ended_at, summary, file} */
  json_t *pools;         /* each report's pool objects, with "pid" added */
  json_t *leaks;         /* groups: kind, pool, count, oldest_age_s, stack, pids, items */
  json_t *findings;      /* groups: kind, pool, count, stack, holders, pids */
  json_t *suppressed;    /* leak groups a suppression matched, grouped apart */
  json_t *leak_index;    /* group key -> position in leaks */
  json_t *finding_index; /* group key -> position in findings */
  json_t *suppressed_index;
  json_t *process_index; /* process key -> true, for processes read already */
  json_t *leak_pids;     /* per leak group, its pids as object keys */
  json_t *suppressed_pids; /* per suppressed group, likewise */
  json_t *finding_pids;  /* per finding group, its pids as object keys */
} report_set;

/* Sums over the processes' own summaries. */
typedef struct report_totals {
  long long processes;
  long long leaked_connections;
  long long leaked_checkouts;
  long long leak_groups;
  long long suppressed;
  long long findings;
} report_totals;

bool report_set_init(report_set *set);
void report_set_free(report_set *set);

/* Adds a report file, or every poolwatch-PID.json in a directory. On
 * failure prints "poolwatch: PATH: why" and returns false. */
bool report_set_add_path(report_set *set, const char *path);
bool report_set_add_file(report_set *set, const char *path);

/* Whether NAME is a report file name, poolwatch-PID.json (not the
 * .dashboard.json written beside it). */
bool report_is_file_name(const char *name);

/* Sets *NAMES to DIR's report file names, sorted, and returns how many, or
 * -1 (errno set) when DIR cannot be read. Free with report_free_names. */
long report_list_dir(const char *dir, char ***names);
void report_free_names(char **names, long count);

void report_set_totals(const report_set *set, report_totals *totals);

/* A group's identity across runs and builds, for --baseline: kind, pool, and
 * each frame's function and the base names of its file and module. Line
 * numbers, offsets and directories are left out, so an unrelated edit or
 * another checkout directory does not make an old leak look new. Returns a
 * string to free. */
char *report_group_signature(const json_t *group);

/* Integer value of KEY in OBJECT, or FALLBACK when absent or not a number. */
long long report_int(const json_t *object, const char *key, long long fallback);
/* The same for a value itself: integers as they are, reals saturated to
 * the range of long long, FALLBACK for anything else. */
long long report_value_int(const json_t *v, long long fallback);
/* A + B, saturating instead of overflowing: counts come from files anyone
 * may have edited. */
long long report_add(long long a, long long b);
/* Replaces every string (and object key) in V by its text-safe form (see
 * pw__buf_text) and returns V: a report is a file anyone may have edited,
 * and a pool name holding a newline or an escape code must not forge lines
 * of what the command prints. Reports are made safe as they are read. */
json_t *report_text_safe(json_t *v);
/* String value of KEY in OBJECT, or NULL. */
const char *report_string(const json_t *object, const char *key);

/* One frame of a report's stack as the common formatter takes it (strings
 * point into FRAME). A frame of an interpreted language has no offset. */
pw__frame report_frame(const json_t *frame);

#endif

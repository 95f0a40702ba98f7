/* A report: the registry's snapshot, grouped and symbolized, ready for the
 * writers (text, JSON, dashboard). Built at exit, or on demand. */
#ifndef POOLWATCH_REPORT_H
#define POOLWATCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/format.h"
#include "core/pool.h"
#include "core/registry.h"
#include "report/suppress.h"
#include "report/symbolize.h"

typedef struct pw__symbolized {
  const pw__stack *stack;
  pw__frame *frames;
  size_t count;
} pw__symbolized;

/* Leaks made from one stack, of one kind, in one pool. */
typedef struct pw__leak_group {
  bool checkout;             /* a leaked checkout, else a leaked connection */
  pw__pool *pool;
  const pw__symbolized *where;
  size_t count;
  double oldest_age;         /* seconds */
  bool suppressed;
  size_t first, item_count;  /* range in conns[] or checkouts[] of the snapshot */
} pw__leak_group;

typedef struct pw__pool_report {
  pw__pool *pool;
  pw__pool_metrics metrics;
  size_t leaked_connections, leaked_checkouts; /* unsuppressed, at report time */
  pw__distribution wait, hold, connect;
} pw__pool_report;

/* A call site's completed checkouts: how many, and how long they held
 * their connections in all (connection-seconds). */
typedef struct pw__call_site {
  const pw__stack *stack;
  const pw__symbolized *where;
  uint64_t holds;
  double hold_seconds;
} pw__call_site;

#define PW__CALL_SITES_SHOWN 10

typedef struct pw__report {
  pw__snapshot snapshot;
  pw__symbolizer *symbolizer;
  pw__symbolized *stacks;     /* one per distinct stack in the report */
  size_t stack_count;
  pw__leak_group *groups;     /* largest first */
  size_t group_count;
  pw__pool_report *pools;     /* pools this process used */
  size_t pool_count;
  pw__call_site call_sites[PW__CALL_SITES_SHOWN]; /* most connection-seconds first */
  size_t call_site_count;
  size_t leaked_connections, leaked_checkouts, suppressed, findings, leak_groups;
  /* Why the report was written: "exit", or "exec" when the process image
   * was about to be replaced (what is open then is left open at exec);
   * NULL for a report made on demand. */
  const char *reason;
  int pid, ppid;
  double started_at, ended_at;   /* seconds since the epoch */

} pw__report;

/* Builds a report of the current state. SUPPRESSIONS may be NULL.
 * Returns false when memory runs out. */
bool pw__report_build(pw__report *r, const pw__suppressions *suppressions,
                      double started_at);
void pw__report_free(pw__report *r);
/* The symbolized form of STACK (which must be in the report), or NULL. */
const pw__symbolized *pw__report_stack(const pw__report *r, const pw__stack *stack);

/* One pool's metrics and distributions, as the report shows them. */
void pw__pool_report_fill(pw__pool_report *pr, pw__pool *pool);
/* POOL's counters, "OPENnameCLOSEvalue" each, joined by ", ": the JSON
 * report's "counters" and the text report's line alike. */
void pw__report_counters(pw__buf *out, const pw__pool *pool, const char *open, const char *close);
/* The JSON object of one pool, as in the report's "pools". */
void pw__report_pool_json(pw__buf *out, const pw__pool_report *p);

void pw__report_text(const pw__report *r, pw__buf *out);
void pw__report_json(const pw__report *r, pw__buf *out);
/* One line: how a clean process ended. */
void pw__report_summary_line(const pw__report *r, pw__buf *out);

#endif

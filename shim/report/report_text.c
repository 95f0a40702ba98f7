/* The report people read: leaks, findings, then a block of metrics per pool.
 * Leaks read like LeakSanitizer's ("N leaked connections in pool P, oldest
 * AGE, opened at:" and the stack), in common/format.h's words. */
#include <stdio.h>
#include <string.h>

#include "report/report.h"

#define MAX_CONNINFO_SHOWN 3

static void frames_text(pw__buf *out, const pw__symbolized *where, const char *indent) {
  pw__format_stack(out, indent, where ? where->frames : NULL, where ? where->count : 0);
}

/* Room for a pool name or conninfo escaped for text. */
#define TEXT_FIELD 1024

static void leak_text(const pw__report *r, const pw__leak_group *g, pw__buf *out) {
  bool at_exec = r->reason && strcmp(r->reason, "exec") == 0;
  pw__buf_puts(out, "poolwatch: ");
  pw__format_leak_headline(out, g->checkout, (long long)g->count, g->pool->name, g->oldest_age);
  pw__buf_printf(out, "%s%s, %s at:\n", at_exec ? ", open at exec" : "",
                 g->suppressed ? " [suppressed]" : "", pw__leak_origin(g->checkout));
  frames_text(out, g->where, "    ");
  size_t at_shutdown = 0;
  for (size_t i = 0; i < g->item_count; i++)
    at_shutdown += g->checkout ? r->snapshot.checkouts[g->first + i].closed_at_shutdown
                               : r->snapshot.conns[g->first + i].closed_at_shutdown;
  if (at_shutdown)
    pw__buf_printf(out, "    %zu of them still open when the program's code had finished, "
                        "closed by the runtime's shutdown\n", at_shutdown);
  if (g->checkout) return;
  char conninfo[TEXT_FIELD];
  size_t shown = 0;
  for (size_t i = 0; i < g->item_count && shown < MAX_CONNINFO_SHOWN; i++, shown++) {
    const pw__conn_record *c = &r->snapshot.conns[g->first + i];
    pw__buf_printf(out, "    conninfo: %s%s\n",
                   c->conninfo && *c->conninfo ? pw__text_escape(c->conninfo, conninfo, sizeof(conninfo))
                                               : "(defaults)",
                   c->state == PW__FAILED ? " (connect failed, never finished)"
                   : c->state == PW__CONNECTING ? " (connect in progress)" : "");
  }
  if (g->item_count > shown) pw__buf_printf(out, "    ... and %zu more\n", g->item_count - shown);
}

static void finding_text(const pw__report *r, const pw__finding_record *f, pw__buf *out) {
  char pool[TEXT_FIELD], detail[TEXT_FIELD];
  pw__buf_printf(out, "poolwatch: %s in pool %s (%llu %s): %s\n", pw__finding_kind_name(f->kind),
                 f->pool ? pw__text_escape(f->pool->name, pool, sizeof(pool)) : "?",
                 (unsigned long long)f->count, pw__plural(f->count, "time", "times"),
                 pw__text_escape(f->detail, detail, sizeof(detail)));
  if (f->stack) frames_text(out, pw__report_stack(r, f->stack), "    ");
  if (f->other) {
    pw__buf_puts(out, f->kind == PW__FINDING_DOUBLE_FINISH ? "  first finished at:\n"
                      : f->kind == PW__FINDING_DOUBLE_CHECKIN ? "  previously checked out at:\n"
                                                              : "  checked out at:\n");
    frames_text(out, pw__report_stack(r, f->other), "    ");
  }
  for (size_t h = 0; h < f->holder_count; h++) {
    pw__buf_printf(out, "  %zu held, checked out at:\n", f->holders[h].count);
    frames_text(out, pw__report_stack(r, f->holders[h].stack), "    ");
  }
}

static void distribution_text(pw__buf *out, const char *name, const pw__distribution *d) {
  if (!d->count) return;
  pw__buf_printf(out, "    %-8s n=%llu mean %.6f s  p50 %.6f  p95 %.6f  p99 %.6f  max %.6f\n", name,
                 (unsigned long long)d->count, d->mean, d->p50, d->p95, d->p99, d->max);
}

static void pool_text(const pw__pool_report *p, pw__buf *out) {
  const pw__pool_metrics *m = &p->metrics;
  const pw__pool *pool = p->pool;
  char name[TEXT_FIELD];
  pw__buf_printf(out,
                 "poolwatch: pool %s (%s): size %ld (peak %ld), checkedout %ld (peak %ld), "
                 "checkedin %ld, overflow %ld, wait_time %.6f s\n",
                 pw__text_escape(pool->name, name, sizeof(name)), pw__pool_kind_name(pool->kind), m->size, m->peak_size,
                 m->checked_out, m->peak_checked_out, m->checked_in, m->overflow, m->wait_time);
  /* As `poolwatch report` prints them. */
  pw__buf_puts(out, "    counters: ");
  pw__report_counters(out, pool, "", " ");
  pw__buf_puts(out, "\n");
  distribution_text(out, "wait", &p->wait);
  distribution_text(out, "hold", &p->hold);
  distribution_text(out, "connect", &p->connect);
}

/* Which code paths held connections longest, one line each. */
static void call_sites_text(const pw__report *r, pw__buf *out) {
  if (!r->call_site_count) return;
  pw__buf_puts(out, "poolwatch: call sites by connection-seconds held (completed checkouts):\n");
  for (size_t i = 0; i < r->call_site_count; i++) {
    const pw__call_site *c = &r->call_sites[i];
    pw__buf_printf(out, "    %10.3f s in %llu %s  ", c->hold_seconds, (unsigned long long)c->holds,
                   pw__plural(c->holds, "hold", "holds"));
    /* The first few callers tell apart sites that share a wrapper. */
    pw__format_call_chain(out, c->where ? c->where->frames : NULL, c->where ? c->where->count : 0, 3);
    pw__buf_puts(out, "\n");
  }
}

void pw__report_summary_line(const pw__report *r, pw__buf *out) {
  unsigned long long connects = 0, checkouts = 0;
  for (size_t i = 0; i < r->pool_count; i++) {
    connects += r->pools[i].pool->connects;
    checkouts += pw__counter_get(&r->pools[i].pool->checkouts);
  }
  if (r->leaked_connections + r->leaked_checkouts == 0)
    pw__buf_printf(out, "poolwatch: no leaks (pid %d: %llu %s, %llu %s, %zu %s, %zu suppressed)\n",
                   r->pid, connects, pw__plural(connects, "connect", "connects"), checkouts,
                   pw__plural(checkouts, "checkout", "checkouts"), r->findings,
                   pw__plural(r->findings, "finding", "findings"), r->suppressed);
  else
    pw__buf_printf(out,
                   "poolwatch: %zu leaked %s and %zu leaked %s in %zu %s (pid %d; %zu %s, %zu suppressed)\n",
                   r->leaked_connections, pw__plural(r->leaked_connections, "connection", "connections"),
                   r->leaked_checkouts, pw__plural(r->leaked_checkouts, "checkout", "checkouts"),
                   r->leak_groups, pw__plural(r->leak_groups, "group", "groups"), r->pid, r->findings,
                   pw__plural(r->findings, "finding", "findings"), r->suppressed);
}

/* The last line of every text report, in one fixed form that log scrapers
 * match, as they match LeakSanitizer's "SUMMARY: AddressSanitizer: ...";
 * `poolwatch report` ends with the same line for merged reports. */
static void scrape_line(const pw__report *r, pw__buf *out) {
  pw__buf_printf(out,
                 "SUMMARY: poolwatch: %zu leaked connections, %zu leaked checkouts in %zu groups, "
                 "%zu findings (%zu suppressed)\n",
                 r->leaked_connections, r->leaked_checkouts, r->leak_groups, r->findings,
                 r->suppressed);
}

void pw__report_text(const pw__report *r, pw__buf *out) {
  bool clean = r->leaked_connections + r->leaked_checkouts == 0;
  if (clean && r->findings == 0 && r->suppressed == 0) {
    pw__report_summary_line(r, out);
    scrape_line(r, out);
    return;
  }
  for (size_t i = 0; i < r->group_count; i++) {
    leak_text(r, &r->groups[i], out);
    pw__buf_puts(out, "\n");
  }
  for (size_t i = 0; i < r->snapshot.finding_count; i++) {
    finding_text(r, &r->snapshot.findings[i], out);
    pw__buf_puts(out, "\n");
  }
  for (size_t i = 0; i < r->pool_count; i++) pool_text(&r->pools[i], out);
  call_sites_text(r, out);
  pw__report_summary_line(r, out);
  scrape_line(r, out);
}

/* The machine-readable report. Its keys are a contract (README):
 * scripts and `poolwatch report` read them; add keys, never rename. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/redact.h"
#include "report/report.h"

#define POOLWATCH_SCHEMA 1

static void key(pw__buf *out, const char *name) {
  pw__buf_json_string(out, name);
  pw__buf_puts(out, ": ");
}

static void stack_json(pw__buf *out, const pw__symbolized *where) {
  pw__buf_puts(out, "[");
  for (size_t i = 0; where && i < where->count; i++) {
    const pw__frame *f = &where->frames[i];
    pw__buf_puts(out, i ? ", {" : "{");
    key(out, "function");
    pw__buf_json_string(out, f->function);
    pw__buf_puts(out, ", ");
    key(out, "file");
    pw__buf_json_string(out, f->file);
    pw__buf_printf(out, ", \"line\": %d, ", f->line);
    key(out, "module");
    pw__buf_json_string(out, f->module);
    /* A source frame (Python, ...) has no machine code to point into. */
    if (f->interpreted)
      pw__buf_puts(out, ", \"offset\": null, ");
    else
      pw__buf_printf(out, ", \"offset\": \"0x%zx\", ", (size_t)f->offset);
    key(out, "language");
    pw__buf_json_string(out, f->language ? f->language : "c");
    pw__buf_puts(out, "}");
  }
  pw__buf_puts(out, "]");
}

static void distribution_json(pw__buf *out, const char *name, const pw__distribution *d) {
  pw__buf_printf(out, ", \"%s\": {\"count\": %llu, \"mean\": ", name, (unsigned long long)d->count);
  pw__buf_json_double(out, d->mean);
  pw__buf_puts(out, ", \"max\": ");
  pw__buf_json_double(out, d->max);
  pw__buf_puts(out, ", \"p50\": ");
  pw__buf_json_double(out, d->p50);
  pw__buf_puts(out, ", \"p95\": ");
  pw__buf_json_double(out, d->p95);
  pw__buf_puts(out, ", \"p99\": ");
  pw__buf_json_double(out, d->p99);
  pw__buf_puts(out, "}");
}

static void optional_long(pw__buf *out, long v) {
  if (v < 0)
    pw__buf_puts(out, "null");
  else
    pw__buf_printf(out, "%ld", v);
}

void pw__report_pool_json(pw__buf *out, const pw__pool_report *p) {
  const pw__pool_metrics *m = &p->metrics;
  const pw__pool *pool = p->pool;
  pw__buf_puts(out, "{\"name\": ");
  pw__buf_json_string(out, pool->name);
  pw__buf_printf(out, ", \"kind\": \"%s\", \"configured_size\": ", pw__pool_kind_name(pool->kind));
  optional_long(out, m->configured_size);
  pw__buf_puts(out, ", \"max_size\": ");
  optional_long(out, m->max_size);
  pw__buf_printf(out,
                 ", \"metrics\": {\"pool.size\": %ld, \"pool.checkedout\": %ld, "
                 "\"pool.checkedin\": %ld, \"pool.overflow\": %ld, \"pool.wait_time\": ",
                 m->size, m->checked_out, m->checked_in, m->overflow);
  pw__buf_json_double(out, m->wait_time);
  pw__buf_printf(out, ", \"pool.leaked_connections\": %zu, \"pool.leaked_checkouts\": %zu",
                 p->leaked_connections, p->leaked_checkouts);
  pw__buf_printf(out, "}, \"peaks\": {\"max_size\": %ld, \"max_checkedout\": %ld}", m->peak_size,
                 m->peak_checked_out);
  pw__buf_puts(out, ", \"counters\": {");
  pw__report_counters(out, pool, "\"", "\": ");
  pw__buf_puts(out, "}");
  distribution_json(out, "wait_time", &p->wait);
  distribution_json(out, "hold_time", &p->hold);
  distribution_json(out, "connect_time", &p->connect);
  pw__buf_puts(out, "}");
}

static void time_json(pw__buf *out, double seconds) {
  char text[40];
  pw__format_time(seconds, text, sizeof(text));
  pw__buf_json_string(out, text);
}

/* Records keep only the monotonic time of an event (one clock read on the
 * hot path); the wall time is derived from when the snapshot was taken. */
static double wall_time(const pw__report *r, uint64_t monotonic_ns) {
  const pw__snapshot *s = &r->snapshot;
  return (double)s->taken_wall_ns / 1e9 - ((double)s->taken_ns - (double)monotonic_ns) / 1e9;
}

/* Ends a leaked item. One that the census found open and the language
 * runtime's shutdown closed afterwards says so; others have no key. */
static void closed_by_json(pw__buf *out, bool closed_at_shutdown) {
  pw__buf_puts(out, closed_at_shutdown ? ", \"closed_by\": \"shutdown\"}" : "}");
}

static void leak_json(pw__buf *out, const pw__report *r, const pw__leak_group *g) {
  pw__buf_printf(out, "{\"kind\": \"%s\", \"pool\": ", g->checkout ? "checkout" : "connection");
  pw__buf_json_string(out, g->pool->name);
  pw__buf_printf(out, ", \"count\": %zu, \"oldest_age_s\": ", g->count);
  pw__buf_json_double(out, g->oldest_age);
  pw__buf_printf(out, ", \"suppressed\": %s, \"stack\": ", g->suppressed ? "true" : "false");
  stack_json(out, g->where);
  pw__buf_puts(out, ", \"items\": [");
  for (size_t i = 0; i < g->item_count; i++) {
    pw__buf_puts(out, i ? ", {\"opened_at\": " : "{\"opened_at\": ");
    if (g->checkout) {
      const pw__checkout_record *c = &r->snapshot.checkouts[g->first + i];
      time_json(out, wall_time(r, c->at_ns));
      pw__buf_printf(out, ", \"thread\": %d", (int)c->thread);
      closed_by_json(out, c->closed_at_shutdown);
    } else {
      const pw__conn_record *c = &r->snapshot.conns[g->first + i];
      time_json(out, wall_time(r, c->opened_ns));
      pw__buf_printf(out, ", \"thread\": %d, \"conninfo\": ", (int)c->thread);
      pw__buf_json_string(out, c->conninfo ? c->conninfo : "");
      pw__buf_printf(out, ", \"connected\": %s", c->state == PW__CONNECTED ? "true" : "false");
      closed_by_json(out, c->closed_at_shutdown);
    }
  }
  pw__buf_puts(out, "]}");
}

static void finding_json(pw__buf *out, const pw__report *r, const pw__finding_record *f) {
  pw__buf_printf(out, "{\"kind\": \"%s\", \"pool\": ", pw__finding_kind_name(f->kind));
  pw__buf_json_string(out, f->pool ? f->pool->name : NULL);
  pw__buf_printf(out, ", \"count\": %llu, \"first_at\": ", (unsigned long long)f->count);
  if (f->first_wall_ns)
    time_json(out, (double)f->first_wall_ns / 1e9);
  else
    time_json(out, r->ended_at);
  pw__buf_puts(out, ", \"detail\": ");
  pw__buf_json_string(out, f->detail);
  pw__buf_puts(out, ", \"stack\": ");
  stack_json(out, pw__report_stack(r, f->stack));
  pw__buf_puts(out, ", \"other_stack\": ");
  stack_json(out, pw__report_stack(r, f->other));
  pw__buf_puts(out, ", \"holders\": [");
  for (size_t h = 0; h < f->holder_count; h++) {
    pw__buf_printf(out, "%s{\"count\": %zu, \"stack\": ", h ? ", " : "", f->holders[h].count);
    stack_json(out, pw__report_stack(r, f->holders[h].stack));
    pw__buf_puts(out, "}");
  }
  pw__buf_puts(out, "]}");
}

static void program_json(pw__buf *out) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  exe[n > 0 ? n : 0] = '\0';
  key(out, "program");
  pw__buf_json_string(out, exe);
  pw__buf_puts(out, ", \"argv\": [");
  /* /proc/self/cmdline holds argv as the kernel saw it, NUL-separated;
   * reading it needs no hook into main(). */
  FILE *f = fopen("/proc/self/cmdline", "re");
  if (f) {
    char arg[4096];
    size_t len = 0;
    int c, count = 0;
    bool secret_next = false;
    while ((c = fgetc(f)) != EOF) {
      if (c && len < sizeof(arg) - 1) {
        arg[len++] = (char)c;
        continue;
      }
      if (c) continue;
      arg[len] = '\0';
      pw__buf_puts(out, count++ ? ", " : "");
      /* psql "postgresql://user:secret@host" puts a password in argv, and
       * "--password VALUE" puts one in the argument after. */
      char *safe = secret_next ? NULL : pw__redact_text(arg);
      pw__buf_json_string(out, safe ? safe : "***");
      free(safe);
      secret_next = pw__redact_option_takes_secret(arg);
      len = 0;
    }
    fclose(f);
  }
  pw__buf_puts(out, "]");
}

void pw__report_json(const pw__report *r, pw__buf *out) {
  pw__buf_printf(out, "{\"tool\": \"poolwatch\", \"version\": \"%s\", \"schema\": %d, ",
                 POOLWATCH_VERSION, POOLWATCH_SCHEMA);
  pw__buf_printf(out, "\"pid\": %d, \"ppid\": %d, \"reason\": \"%s\", ", r->pid, r->ppid,
                 r->reason ? r->reason : "exit");
  program_json(out);
  pw__buf_puts(out, ", \"started_at\": ");
  time_json(out, r->started_at);
  pw__buf_puts(out, ", \"ended_at\": ");
  time_json(out, r->ended_at);
  pw__buf_printf(out,
                 ",\n \"summary\": {\"leaked_connections\": %zu, \"leaked_checkouts\": %zu, "
                 "\"leak_groups\": %zu, \"suppressed\": %zu, \"findings\": %zu},\n \"pools\": [",
                 r->leaked_connections, r->leaked_checkouts, r->leak_groups, r->suppressed,
                 r->findings);
  for (size_t i = 0; i < r->pool_count; i++) {
    pw__buf_puts(out, i ? ",\n  " : "\n  ");
    pw__report_pool_json(out, &r->pools[i]);
  }
  pw__buf_puts(out, "],\n \"leaks\": [");
  for (size_t i = 0; i < r->group_count; i++) {
    pw__buf_puts(out, i ? ",\n  " : "\n  ");
    leak_json(out, r, &r->groups[i]);
  }
  pw__buf_puts(out, "],\n \"call_sites\": [");
  for (size_t i = 0; i < r->call_site_count; i++) {
    const pw__call_site *c = &r->call_sites[i];
    pw__buf_printf(out, "%s{\"holds\": %llu, \"hold_seconds\": ", i ? ",\n  " : "\n  ",
                   (unsigned long long)c->holds);
    pw__buf_json_double(out, c->hold_seconds);
    pw__buf_puts(out, ", \"stack\": ");
    stack_json(out, c->where);
    pw__buf_puts(out, "}");
  }
  pw__buf_puts(out, "],\n \"findings\": [");
  for (size_t i = 0; i < r->snapshot.finding_count; i++) {
    pw__buf_puts(out, i ? ",\n  " : "\n  ");
    finding_json(out, r, &r->snapshot.findings[i]);
  }
  pw__buf_puts(out, "]}\n");
}

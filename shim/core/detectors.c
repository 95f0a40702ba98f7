/* The detectors that judge the registry's state: pool_not_closed, held too long, growth. */
#include "core/detectors.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "core/registry.h"

/* ---- pool_not_closed ------------------------------------------------------ */

bool pw__detect_pools_not_closed(pw__snapshot *s) {
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next)) {
    if (!pw__pool_kind_must_close(p->kind) || !pw__pool_has_events(p) || !atomic_load(&p->started) ||
        atomic_load(&p->stopped))
      continue;
    pw__finding_record *grown = realloc(s->findings, (s->finding_count + 1) * sizeof(*grown));
    if (!grown) return false;
    s->findings = grown;
    s->findings[s->finding_count++] = (pw__finding_record){
      .kind = PW__FINDING_POOL_NOT_CLOSED, .pool = p, .count = 1,
      .detail = "the pool was never stopped; its connections were still open at exit",
    };
  }
  return true;
}

/* ---- held too long -------------------------------------------------------- */

typedef struct threshold_scan {
  uint64_t now, limit_ns;
  pw__held_crossing *found;
  size_t count, cap;
} threshold_scan;

static void note(threshold_scan *scan, pw__pool *pool, const void *id, const pw__stack *stack,
                 uint64_t since, bool *reported) {
  uint64_t age = pw__elapsed_ns(scan->now, since);
  if (age < scan->limit_ns) return;
  atomic_fetch_add_explicit(&pool->held_too_long, 1, memory_order_relaxed);
  if (*reported || scan->count == scan->cap) return;
  *reported = true;
  scan->found[scan->count++] = (pw__held_crossing){pool, id, stack, pw__seconds(age)};
}

static void scan_checkout(pw__checkout_record *c, void *arg) {
  note(arg, c->pool, c->handle, c->stack, c->at_ns, &c->reported_held);
}

/* For the libpq pool every open connection is in use: one held past the
 * threshold is reported the same way. */
static void scan_connection(pw__conn_record *c, void *arg) {
  if (c->pool->kind == PW__POOL_LIBPQ)
    note(arg, c->pool, c->conn, c->stack, c->opened_ns, &c->reported_held);
}

size_t pw__detect_held_too_long(double limit, pw__held_crossing *out, size_t cap) {
  threshold_scan scan = {.now = pw__now_ns(), .limit_ns = (uint64_t)(limit * 1e9),
                         .found = out, .cap = cap};
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next))
    atomic_store(&p->held_too_long, 0);
  pw__checkouts_foreach(scan_checkout, &scan);
  pw__conns_foreach(scan_connection, &scan);
  return scan.count;
}

void pw__held_too_long_record(const pw__held_crossing *found, size_t n) {
  for (size_t i = 0; i < n; i++)
    pw__finding_add(PW__FINDING_HELD_TOO_LONG, found[i].pool, found[i].stack, NULL,
                    "held longer than POOLWATCH_LEAK_THRESHOLD");
}

/* ---- growth --------------------------------------------------------------- */

#define MAX_WATCHED_POOLS 64

typedef struct growth {
  pw__pool *pool;
  long low;           /* checked out when the current rise began */
  long last;
  uint64_t since_ns;
  bool reported;
} growth;

static growth growths[MAX_WATCHED_POOLS];

static growth *growth_of(pw__pool *p, long now_value, uint64_t now) {
  for (int i = 0; i < MAX_WATCHED_POOLS; i++) {
    if (growths[i].pool == p) return &growths[i];
    if (!growths[i].pool) {
      growths[i] = (growth){p, now_value, now_value, now, false};
      return &growths[i];
    }
  }
  return NULL;
}

size_t pw__detect_growth(double window, pw__growth_alert *out, size_t cap) {
  uint64_t now = pw__now_ns();
  size_t n = 0;
  for (pw__pool *p = pw__pool_first(); p && n < cap; p = atomic_load(&p->next)) {
    if (!atomic_load(&p->used)) continue;
    pw__pool_metrics m;
    pw__pool_metrics_get(p, &m);
    growth *g = growth_of(p, m.checked_out, now);
    if (!g) continue;
    if (m.checked_out < g->last) { /* it went down: a new window starts */
      g->low = m.checked_out;
      g->since_ns = now;
    }
    g->last = m.checked_out;
    if (g->reported || m.checked_out <= g->low || pw__seconds(now - g->since_ns) < window)
      continue;
    g->reported = true;
    out[n++] = (pw__growth_alert){p, pw__seconds(now - g->since_ns), g->low, m.checked_out};
  }
  return n;
}

void pw__detect_growth_forget(void) { memset(growths, 0, sizeof(growths)); }

#include "export/monitor.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "hooks/lifecycle.h"
#include "export/live.h"
#include "common/log.h"
#include "common/output.h"
#include "export/prometheus.h"
#include "core/registry.h"
#include "report/report.h"
#include "report/symbolize.h"

static _Atomic bool running, stopping;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static bool wanted(void) {
  return pw__config.leak_threshold > 0 || pw__config.growth_window > 0 ||
         pw__config.prometheus || pw__config.live;
}

/* ---- held too long ---------------------------------------------------- */

#define MAX_CROSSINGS 64

typedef struct crossing {
  pw__pool *pool;
  const void *id;
  const pw__stack *stack;
  double age;
} crossing;

typedef struct threshold_scan {
  uint64_t now, limit_ns;
  crossing found[MAX_CROSSINGS];
  int count;
} threshold_scan;

static void note(threshold_scan *scan, pw__pool *pool, const void *id, const pw__stack *stack,
                 uint64_t since, bool *reported) {
  uint64_t age = scan->now - since;
  if (age < scan->limit_ns) return;
  atomic_fetch_add_explicit(&pool->held_too_long, 1, memory_order_relaxed);
  if (*reported || scan->count == MAX_CROSSINGS) return;
  *reported = true;
  scan->found[scan->count++] = (crossing){pool, id, stack, pw__seconds(age)};
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

static void say_with_stack(const char *headline, const pw__stack *stack) {
  pw__buf text;
  pw__buf_init(&text);
  pw__buf_printf(&text, "poolwatch: %s\n", headline);
  pw__symbolizer *symbolizer = pw__symbolizer_new();
  pw__frame frames[PW__MAX_STACK_DEPTH * 2];
  size_t n = pw__symbolize(symbolizer, stack ? stack->frames : NULL, stack ? stack->depth : 0,
                           frames, PW__MAX_STACK_DEPTH * 2);
  pw__frames_text(&text, frames, n, "    ");
  if (!text.failed) pw__write_all(STDERR_FILENO, text.data, text.len);
  pw__symbolizer_free(symbolizer);
  pw__buf_free(&text);
}

static void check_threshold(void) {
  threshold_scan scan = {.now = pw__now_ns(),
                         .limit_ns = (uint64_t)(pw__config.leak_threshold * 1e9)};
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next))
    atomic_store(&p->held_too_long, 0);
  pw__checkouts_foreach(scan_checkout, &scan);
  pw__conns_foreach(scan_connection, &scan);
  for (int i = 0; i < scan.count; i++) {
    crossing *c = &scan.found[i];
    char headline[256];
    snprintf(headline, sizeof(headline),
             "%s %p from pool %s held for %.2f s (POOLWATCH_LEAK_THRESHOLD %.3f s), taken at:",
             c->pool->kind == PW__POOL_LIBPQ ? "connection" : "checkout", c->id, c->pool->name,
             c->age, pw__config.leak_threshold);
    pw__finding_add(PW__FINDING_HELD_TOO_LONG, c->pool, c->stack, NULL,
                    "held longer than POOLWATCH_LEAK_THRESHOLD");
    if (!pw__config.quiet) say_with_stack(headline, c->stack);
  }
}

/* ---- growth ------------------------------------------------------------- */

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

static void check_growth(void) {
  uint64_t now = pw__now_ns();
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next)) {
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
    if (g->reported || m.checked_out <= g->low ||
        pw__seconds(now - g->since_ns) < pw__config.growth_window)
      continue;
    g->reported = true;
    char headline[256];
    snprintf(headline, sizeof(headline),
             "pool %s: pool.checkedout has only grown for %.0f s, from %ld to %ld; "
             "the stacks holding the most:",
             p->name, pw__seconds(now - g->since_ns), g->low, m.checked_out);
    pw__say("%s", headline);
    pw__live_top_holders(p, say_with_stack);
  }
}

/* ---- exports ------------------------------------------------------------ */

static void split_path(const char *path, char *dir, size_t cap, const char **base) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, cap, ".");
    *base = path;
  } else {
    snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    if (!*dir) snprintf(dir, cap, "/");
    *base = slash + 1;
  }
}

static void write_prometheus(void) {
  pw__buf text;
  pw__buf_init(&text);
  pw__prometheus_format(&text);
  char dir[4096];
  const char *base;
  split_path(pw__config.prometheus, dir, sizeof(dir), &base);
  /* 0644: node_exporter reads it as its own user, and it holds no secret. */
  if (!text.failed && !atomic_load(&stopping))
    pw__write_file_mode(dir, base, text.data, text.len, 0644);
  pw__buf_free(&text);
}

static void write_live(void) {
  pw__buf json;
  pw__buf_init(&json);
  pw__live_format(&json);
  char name[64];
  snprintf(name, sizeof(name), "poolwatch-%d.live.json", (int)getpid());
  if (!json.failed && !atomic_load(&stopping)) pw__write_file(PW__LIVE_DIR, name, json.data, json.len);
  pw__buf_free(&json);
}

/* ---- the thread ----------------------------------------------------------- */

static double tick_seconds(void) {
  double tick = pw__config.interval;
  /* A threshold is checked four times per period, so a crossing is seen
   * within a quarter of it. */
  if (pw__config.leak_threshold > 0 && pw__config.leak_threshold / 4 < tick)
    tick = pw__config.leak_threshold / 4;
  if (pw__config.growth_window > 0 && pw__config.growth_window / 4 < tick)
    tick = pw__config.growth_window / 4;
  return tick < 0.01 ? 0.01 : tick;
}

static void *run(void *arg) {
  double tick = tick_seconds();
  struct timespec pause = {(time_t)tick, (long)((tick - (double)(time_t)tick) * 1e9)};
  while (!atomic_load(&stopping)) {
    if (pw__registry_used()) {
      if (pw__config.leak_threshold > 0) check_threshold();
      if (pw__config.growth_window > 0) check_growth();
      if (pw__config.prometheus) write_prometheus();
      if (pw__config.live) write_live();
    }
    nanosleep(&pause, NULL);
  }
  return NULL;
}

void pw__monitor_ensure(void) {
  if (atomic_load_explicit(&running, memory_order_relaxed) || !wanted()) return;
  int saved = errno;
  pthread_mutex_lock(&start_lock);
  if (!atomic_load(&running) && !atomic_load(&stopping)) {
    /* All signals blocked: the program's handlers must never run on
     * poolwatch's thread. Detached: it never keeps the process alive. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    /* One attempt per process: a failure is not retried on every event. */
    atomic_store(&running, true);
    if (pthread_create(&thread, &attr, run, NULL) != 0)
      pw__warn_once("monitor-thread", "cannot start the monitor thread; no live checks or exports");
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  pthread_mutex_unlock(&start_lock);
  errno = saved;
}

void pw__monitor_stop(void) {
  atomic_store(&stopping, true);
  if (pw__config.live) {
    char path[128];
    snprintf(path, sizeof(path), "%s/poolwatch-%d.live.json", PW__LIVE_DIR, (int)getpid());
    unlink(path);
  }
}

void pw__monitor_forget(void) {
  pthread_mutex_init(&start_lock, NULL);
  atomic_store(&running, false);
  memset(growths, 0, sizeof(growths));
}

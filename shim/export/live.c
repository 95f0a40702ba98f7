/* The live state file `poolwatch top` reads. */
#include "export/live.h"

#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/sort.h"
#include "core/config.h"
#include "core/registry.h"
#include "core/source_frames.h"
#include "report/report.h"
#include "report/symbolize.h"
#include "common/table.h"

#define TOP_COUNT 10
#define FRAMES_SHOWN 3

/* One row of the live view: a live checkout (or libpq connection), or a
 * call site's total. */
typedef struct held {
  pw__pool *pool;
  const pw__stack *stack;
  double seconds;     /* age, or connection-seconds for a call site */
  uint64_t count;
  int thread;
} held;

/* Where a stack's row is in held_set.sites: with thousands of call sites
 * and many live checkouts a scan per checkout would be quadratic. */
typedef struct site_index {
  const pw__stack *stack;
  size_t row;
  UT_hash_handle hh;
} site_index;

typedef struct held_set {
  uint64_t now;
  held oldest[TOP_COUNT];
  int oldest_count;
  held *sites;        /* per stack: completed holds plus live ages */
  size_t site_count, site_cap;
  site_index *index;
} held_set;

/* Keeps the TOP_COUNT rows with the largest SECONDS in ROWS. */
static void keep_top(held *rows, int *count, held row) {
  if (*count < TOP_COUNT) {
    rows[(*count)++] = row;
    return;
  }
  int smallest = 0;
  for (int i = 1; i < *count; i++)
    if (rows[i].seconds < rows[smallest].seconds) smallest = i;
  if (row.seconds > rows[smallest].seconds) rows[smallest] = row;
}

static held *site_of(held_set *set, const pw__stack *stack, pw__pool *pool) {
  site_index *found;
  HASH_FIND_PTR(set->index, &stack, found);
  if (found) return &set->sites[found->row];
  site_index *entry = malloc(sizeof(*entry));
  if (!entry) return NULL;
  if (set->site_count == set->site_cap) {
    size_t cap = set->site_cap ? set->site_cap * 2 : 32;
    held *grown = realloc(set->sites, cap * sizeof(*grown));
    if (!grown) {
      free(entry);
      return NULL;
    }
    set->sites = grown;
    set->site_cap = cap;
  }
  *entry = (site_index){.stack = stack, .row = set->site_count};
  HASH_ADD_PTR(set->index, stack, entry);
  held *site = &set->sites[set->site_count++];
  *site = (held){.pool = pool, .stack = stack};
  return site;
}

/* Frees the set's rows and index. */
static void held_set_free(held_set *set) {
  site_index *e, *tmp;
  HASH_ITER(hh, set->index, e, tmp) {
    HASH_DEL(set->index, e);
    free(e);
  }
  free(set->sites);
}

static void add_live(held_set *set, pw__pool *pool, const pw__stack *stack, uint64_t since,
                     int thread) {
  held row = {pool, stack, pw__seconds(pw__elapsed_ns(set->now, since)), 1, thread};
  keep_top(set->oldest, &set->oldest_count, row);
  held *site = site_of(set, stack, pool);
  if (site) {
    site->seconds += row.seconds;
    site->count++;
  }
}

static void live_checkout(pw__checkout_record *c, void *arg) {
  add_live(arg, c->pool, c->stack, c->at_ns, c->thread);
}

static void live_connection(pw__conn_record *c, void *arg) {
  if (c->pool->kind == PW__POOL_LIBPQ) add_live(arg, c->pool, c->stack, c->opened_ns, c->thread);
}

static void completed_holds(const pw__stack *s, void *arg) {
  uint64_t hold_ns, holds;
  pw__stack_hold_totals(s, &hold_ns, &holds);
  if (!holds) return;
  held *site = site_of(arg, s, NULL);
  if (!site) return;
  site->seconds += pw__seconds(hold_ns);
  site->count += holds;
}

/* One libdw session for every tick, so each address is looked up once
 * (the symbolizer caches them): opening a session reads the debug info of
 * every module again, and a session per tick at POOLWATCH_INTERVAL=250ms
 * cost the watched process a core's tenth and grew it by megabytes. It is
 * opened again only when a library is loaded or unloaded, which the
 * loader counts (dlpi_adds, dlpi_subs). */
static pthread_mutex_t session_lock = PTHREAD_MUTEX_INITIALIZER;
static pw__symbolizer *session;
static unsigned long long session_loads = ~0ull;

static int count_loads(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  *(unsigned long long *)arg = info->dlpi_adds * 1000003ull + info->dlpi_subs;
  return 1; /* every module carries the same counts: the first will do */
}

static pw__symbolizer *session_get(void) {
  unsigned long long loads = 0;
  dl_iterate_phdr(count_loads, &loads);
  if (session && loads == session_loads) return session;
  pw__symbolizer_free(session);
  session = pw__symbolizer_new();
  session_loads = loads;
  return session;
}

pw__symbolizer *pw__session_acquire(bool *shared) {
  /* Busy only in a forked child whose parent was in the middle of a
   * tick: that child makes a session of its own. */
  *shared = pthread_mutex_trylock(&session_lock) == 0;
  return *shared ? session_get() : pw__symbolizer_new();
}

void pw__session_release(pw__symbolizer *symbolizer, bool shared) {
  if (shared)
    pthread_mutex_unlock(&session_lock);
  else
    pw__symbolizer_free(symbolizer);
}

static int by_seconds(const void *a, const void *b) {
  double x = ((const held *)a)->seconds, y = ((const held *)b)->seconds;
  return x > y ? -1 : x < y;
}

static void frames_json(pw__buf *out, pw__symbolizer *symbolizer, const pw__stack *stack) {
  pw__frame frames[FRAMES_SHOWN];
  /* In a Python program the first frames are the driver's C code (psycopg2's
   * _psycopg.so, without symbols); the view starts at the program's own
   * language, its innermost source frame, when the stack has one. */
  size_t first = 0;
  while (stack && first < stack->depth && !pw__is_source_frame(stack->frames[first])) first++;
  if (!stack || first == stack->depth) first = 0;
  size_t depth = stack ? stack->depth - first : 0;
  if (depth > FRAMES_SHOWN) depth = FRAMES_SHOWN;
  size_t n = pw__symbolize(symbolizer, stack ? stack->frames + first : NULL, depth, frames,
                           FRAMES_SHOWN);
  pw__buf_puts(out, "[");
  for (size_t i = 0; i < n; i++) {
    pw__buf_puts(out, i ? ", " : "");
    pw__buf_json_string(out, frames[i].function ? frames[i].function : "??");
  }
  pw__buf_puts(out, "]");
}

static void rows_json(pw__buf *out, pw__symbolizer *symbolizer, const held *rows, size_t n,
                      bool sites) {
  for (size_t i = 0; i < n; i++) {
    pw__buf_puts(out, i ? ",\n  {" : "\n  {");
    if (rows[i].pool) {
      pw__buf_puts(out, "\"pool\": ");
      pw__buf_json_string(out, rows[i].pool->name);
      pw__buf_puts(out, ", ");
    }
    if (sites)
      pw__buf_printf(out, "\"holds\": %llu, \"hold_seconds\": ", (unsigned long long)rows[i].count);
    else
      pw__buf_printf(out, "\"thread\": %d, \"age_s\": ", rows[i].thread);
    pw__buf_json_double(out, rows[i].seconds);
    pw__buf_printf(out, ", \"stack_id\": %u, \"frames\": ", rows[i].stack ? rows[i].stack->id : 0);
    frames_json(out, symbolizer, rows[i].stack);
    pw__buf_puts(out, "}");
  }
}

void pw__live_format(pw__buf *out) {
  held_set set = {.now = pw__now_ns()};
  pw__checkouts_foreach(live_checkout, &set);
  pw__conns_foreach(live_connection, &set);
  pw__stack_foreach(completed_holds, &set);
  pw__sort(set.oldest, (size_t)set.oldest_count, sizeof(held), by_seconds);
  pw__sort(set.sites, set.site_count, sizeof(held), by_seconds);

  char when[40];
  pw__format_time((double)pw__wall_ns() / 1e9, when, sizeof(when));
  pw__buf_printf(out, "{\"tool\": \"poolwatch\", \"pid\": %d, \"updated_at\": ", (int)getpid());
  pw__buf_json_string(out, when);
  pw__buf_puts(out, ", \"interval\": ");
  pw__buf_json_double(out, pw__config.interval);
  pw__buf_puts(out, ", \"threshold\": ");
  pw__buf_json_double(out, pw__config.leak_threshold);
  pw__buf_puts(out, ",\n \"pools\": [");
  int n = 0;
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next)) {
    if (!atomic_load(&p->used)) continue;
    pw__pool_report pr;
    pw__pool_report_fill(&pr, p);
    pw__buf_puts(out, n++ ? ",\n  " : "\n  ");
    pw__report_pool_json(out, &pr);
  }
  bool shared;
  pw__symbolizer *symbolizer = pw__session_acquire(&shared);
  pw__buf_puts(out, "],\n \"oldest\": [");
  rows_json(out, symbolizer, set.oldest, (size_t)set.oldest_count, false);
  pw__buf_puts(out, "],\n \"call_sites\": [");
  rows_json(out, symbolizer, set.sites, set.site_count < TOP_COUNT ? set.site_count : TOP_COUNT,
            true);
  pw__buf_puts(out, "]}\n");
  pw__session_release(symbolizer, shared);
  held_set_free(&set);
}

/* Building a report: snapshot, symbolized stacks, leak groups, pools, call sites. */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/sort.h"
#include "common/table.h"
#include "core/detectors.h"


typedef struct stack_index {
  const pw__stack *stack;
  size_t index;
  UT_hash_handle hh;
} stack_index;

/* ---- stacks ---------------------------------------------------------- */

typedef struct stack_set {
  stack_index *by_stack;
  const pw__stack **list;
  size_t count, cap;
} stack_set;

static void add_stack(stack_set *set, const pw__stack *stack) {
  if (!stack) return;
  stack_index *found;
  HASH_FIND_PTR(set->by_stack, &stack, found);
  if (found) return;
  if (set->count == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    const pw__stack **grown = realloc(set->list, cap * sizeof(*grown));
    if (!grown) return;
    set->list = grown;
    set->cap = cap;
  }
  stack_index *entry = malloc(sizeof(*entry));
  if (!entry) return;
  entry->stack = stack;
  entry->index = set->count;
  set->list[set->count++] = stack;
  HASH_ADD_PTR(set->by_stack, stack, entry);
}

/* poolwatch.h's wrappers are static inline functions in the program;
 * unoptimized builds keep them as frames. The first frame shown should be
 * the program's own code that called them. */
static void trim_annotation_frames(pw__symbolized *s) {
  size_t skip = 0;
  while (skip + 1 < s->count && s->frames[skip].function &&
         strncmp(s->frames[skip].function, "pw_", 3) == 0)
    skip++;
  memmove(s->frames, s->frames + skip, (s->count - skip) * sizeof(*s->frames));
  s->count -= skip;
}

static void symbolize_all(pw__report *r, stack_set *set) {
  r->stacks = calloc(set->count ? set->count : 1, sizeof(*r->stacks));
  if (!r->stacks) return;
  for (size_t i = 0; i < set->count; i++) {
    const pw__stack *s = set->list[i];
    pw__symbolized *out = &r->stacks[r->stack_count++];
    out->stack = s;
    /* Room for functions inlined into the captured frames. */
    size_t cap = (size_t)s->depth * 4 + 1;
    out->frames = calloc(cap, sizeof(pw__frame));
    if (!out->frames) continue;
    out->count = pw__symbolize(r->symbolizer, s->frames, s->depth, out->frames, cap);
    trim_annotation_frames(out);
  }
}

const pw__symbolized *pw__report_stack(const pw__report *r, const pw__stack *stack) {
  if (!stack) return NULL;
  /* Stacks are few next to leaks; a sorted array would do, but reports
   * look stacks up once per group, so a scan of the set is enough. */
  for (size_t i = 0; i < r->stack_count; i++)
    if (r->stacks[i].stack == stack) return &r->stacks[i];
  return NULL;
}

/* ---- grouping -------------------------------------------------------- */

static int compare_pointers(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return x < y ? -1 : x > y;
}

static int compare_conns(const void *a, const void *b) {
  const pw__conn_record *x = a, *y = b;
  int c = compare_pointers(x->pool, y->pool);
  if (!c) c = compare_pointers(x->stack, y->stack);
  if (!c) c = x->opened_ns < y->opened_ns ? -1 : x->opened_ns > y->opened_ns;
  return c;
}

static int compare_checkouts(const void *a, const void *b) {
  const pw__checkout_record *x = a, *y = b;
  int c = compare_pointers(x->pool, y->pool);
  if (!c) c = compare_pointers(x->stack, y->stack);
  if (!c) c = x->at_ns < y->at_ns ? -1 : x->at_ns > y->at_ns;
  return c;
}

static int compare_groups(const void *a, const void *b) {
  const pw__leak_group *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  if (x->oldest_age != y->oldest_age) return x->oldest_age > y->oldest_age ? -1 : 1;
  return 0;
}

static int compare_handles(const void *a, const void *b) {
  return compare_pointers(((const pw__checkout_record *)a)->handle,
                          ((const pw__checkout_record *)b)->handle);
}

/* A pool's own idle connections are not leaks: a pool left running at
 * exit is one pool_not_closed finding instead. A connection that is itself
 * a leaked checkout (an annotated pool's PGconn) is reported once, as the
 * checkout, whose stack is the one that matters. BY_HANDLE is the
 * snapshot's checkouts sorted by handle. */
static bool counts_as_leak(const pw__conn_record *c, const pw__checkout_record *by_handle,
                           size_t n) {
  if (c->pool->kind != PW__POOL_LIBPQ && !atomic_load(&c->pool->stopped)) return false;
  pw__checkout_record key = {.handle = c->conn};
  return n == 0 || !bsearch(&key, by_handle, n, sizeof(key), compare_handles);
}

static bool add_group(pw__report *r, size_t *cap, pw__leak_group g) {
  if (r->group_count == *cap) {
    size_t n = *cap ? *cap * 2 : 16;
    pw__leak_group *grown = realloc(r->groups, n * sizeof(*grown));
    if (!grown) return false;
    r->groups = grown;
    *cap = n;
  }
  r->groups[r->group_count++] = g;
  return true;
}

static pw__pool_report *pool_report_of(pw__report *r, const pw__pool *pool) {
  for (size_t i = 0; i < r->pool_count; i++)
    if (r->pools[i].pool == pool) return &r->pools[i];
  return NULL;
}

static void group_leaks(pw__report *r, const pw__suppressions *suppressions) {
  pw__snapshot *s = &r->snapshot;
  size_t cap = 0;
  pw__sort(s->checkouts, s->checkout_count, sizeof(*s->checkouts), compare_handles);
  size_t kept = 0;
  for (size_t i = 0; i < s->conn_count; i++) {
    if (counts_as_leak(&s->conns[i], s->checkouts, s->checkout_count))
      s->conns[kept++] = s->conns[i];
    else
      free(s->conns[i].conninfo);
  }
  s->conn_count = kept;
  pw__sort(s->conns, s->conn_count, sizeof(*s->conns), compare_conns);
  pw__sort(s->checkouts, s->checkout_count, sizeof(*s->checkouts), compare_checkouts);
  for (size_t i = 0; i < s->conn_count;) {
    size_t j = i;
    while (j < s->conn_count && s->conns[j].pool == s->conns[i].pool &&
           s->conns[j].stack == s->conns[i].stack)
      j++;
    pw__leak_group g = {.pool = s->conns[i].pool, .first = i, .item_count = j - i,
                        .count = j - i, .where = pw__report_stack(r, s->conns[i].stack),
                        .oldest_age = pw__seconds(pw__elapsed_ns(s->taken_ns, s->conns[i].opened_ns))};
    add_group(r, &cap, g);
    i = j;
  }
  for (size_t i = 0; i < s->checkout_count;) {
    size_t j = i;
    while (j < s->checkout_count && s->checkouts[j].pool == s->checkouts[i].pool &&
           s->checkouts[j].stack == s->checkouts[i].stack)
      j++;
    pw__leak_group g = {.checkout = true, .pool = s->checkouts[i].pool, .first = i,
                        .item_count = j - i, .count = j - i,
                        .where = pw__report_stack(r, s->checkouts[i].stack),
                        .oldest_age = pw__seconds(pw__elapsed_ns(s->taken_ns, s->checkouts[i].at_ns))};
    add_group(r, &cap, g);
    i = j;
  }
  for (size_t i = 0; i < r->group_count; i++) {
    pw__leak_group *g = &r->groups[i];
    g->suppressed = g->where && pw__suppressions_match(suppressions, g->where->frames,
                                                       g->where->count);
    if (g->suppressed) {
      r->suppressed += g->count;
      continue;
    }
    r->leak_groups++;
    pw__pool_report *pr = pool_report_of(r, g->pool);
    if (g->checkout) {
      r->leaked_checkouts += g->count;
      if (pr) pr->leaked_checkouts += g->count;
    } else {
      r->leaked_connections += g->count;
      if (pr) pr->leaked_connections += g->count;
    }
  }
  pw__sort(r->groups, r->group_count, sizeof(*r->groups), compare_groups);
}

/* ---- pools ----------------------------------------------------------- */

void pw__pool_report_fill(pw__pool_report *pr, pw__pool *p) {
  memset(pr, 0, sizeof(*pr));
  pr->pool = p;
  pw__pool_metrics_get(p, &pr->metrics);
  pw__histogram_summarize(&p->wait, &pr->wait);
  pw__histogram_summarize(&p->hold, &pr->hold);
  pw__histogram_summarize(&p->connect, &pr->connect);
}

void pw__report_counters(pw__buf *out, const pw__pool *pool, const char *open, const char *close) {
  const char *separator = "";
#define PW__COUNTER_PAIR(name, kind)                                        \
  pw__buf_printf(out, "%s%s" #name "%s%llu", separator, open, close,      \
                 (unsigned long long)pw__counter_read_##kind(&pool->name)); \
  separator = ", ";
  PW__POOL_COUNTERS(PW__COUNTER_PAIR)
#undef PW__COUNTER_PAIR
}

static void collect_pools(pw__report *r) {
  size_t n = 0;
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next)) n++;
  r->pools = calloc(n ? n : 1, sizeof(*r->pools));
  if (!r->pools) return;
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next)) {
    if (pw__pool_has_events(p)) pw__pool_report_fill(&r->pools[r->pool_count++], p);
  }
}

/* ---- call sites -------------------------------------------------------- */

static int by_hold_seconds(const void *a, const void *b) {
  double x = ((const pw__call_site *)a)->hold_seconds, y = ((const pw__call_site *)b)->hold_seconds;
  return x > y ? -1 : x < y;
}

/* Keeps the stacks whose completed checkouts held the most, largest first. */
static void keep_call_site(const pw__stack *stack, void *arg) {
  pw__report *r = arg;
  uint64_t hold_ns, holds;
  pw__stack_hold_totals(stack, &hold_ns, &holds);
  if (!holds) return;
  pw__call_site site = {.stack = stack, .holds = holds, .hold_seconds = (double)hold_ns / 1e9};
  if (r->call_site_count < PW__CALL_SITES_SHOWN) {
    r->call_sites[r->call_site_count++] = site;
  } else if (site.hold_seconds > r->call_sites[PW__CALL_SITES_SHOWN - 1].hold_seconds) {
    r->call_sites[PW__CALL_SITES_SHOWN - 1] = site;
  } else {
    return;
  }
  pw__sort(r->call_sites, r->call_site_count, sizeof(pw__call_site), by_hold_seconds);
}

bool pw__report_build(pw__report *r, const pw__suppressions *suppressions,
                      double started_at) {
  memset(r, 0, sizeof(*r));
  if (!pw__snapshot_take(&r->snapshot)) return false;
  /* Best effort, as before: without memory the finding is left out. */
  pw__detect_pools_not_closed(&r->snapshot);
  pw__snapshot *s = &r->snapshot;
  r->pid = getpid();
  r->ppid = getppid();
  r->started_at = started_at;
  r->ended_at = (double)s->taken_wall_ns / 1e9;
  collect_pools(r);

  pw__stack_foreach(keep_call_site, r);
  if (!pw__stacks_complete()) r->snapshot.incomplete = true;
  stack_set set = {0};
  for (size_t i = 0; i < r->call_site_count; i++) add_stack(&set, r->call_sites[i].stack);
  for (size_t i = 0; i < s->conn_count; i++) add_stack(&set, s->conns[i].stack);
  for (size_t i = 0; i < s->checkout_count; i++) add_stack(&set, s->checkouts[i].stack);
  for (size_t i = 0; i < s->finding_count; i++) {
    add_stack(&set, s->findings[i].stack);
    add_stack(&set, s->findings[i].other);
    for (size_t h = 0; h < s->findings[i].holder_count; h++)
      add_stack(&set, s->findings[i].holders[h].stack);
  }
  /* A clean process has no stack to show: it need not load libdw. */
  r->symbolizer = set.count ? pw__symbolizer_new() : NULL;
  symbolize_all(r, &set);
  stack_index *e, *tmp;
  HASH_ITER(hh, set.by_stack, e, tmp) {
    HASH_DEL(set.by_stack, e);
    free(e);
  }
  free(set.list);

  for (size_t i = 0; i < r->call_site_count; i++)
    r->call_sites[i].where = pw__report_stack(r, r->call_sites[i].stack);
  group_leaks(r, suppressions);
  for (size_t i = 0; i < s->finding_count; i++) r->findings += s->findings[i].count;
  return true;
}

void pw__report_free(pw__report *r) {
  for (size_t i = 0; i < r->stack_count; i++) free(r->stacks[i].frames);
  free(r->stacks);
  free(r->groups);
  free(r->pools);
  pw__symbolizer_free(r->symbolizer);
  pw__snapshot_free(&r->snapshot);
  memset(r, 0, sizeof(*r));
}

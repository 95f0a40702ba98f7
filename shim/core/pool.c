/* Pools: found or created by key, their metrics and counters. */
#include "core/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"

static pw__pool libpq_pool = {
  .name = "libpq", .kind = PW__POOL_LIBPQ, .configured_size = -1, .max_size = -1,
};
static pw__pool *_Atomic pools_head = &libpq_pool;
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;

pw__pool *pw__pool_libpq(void) { return &libpq_pool; }
pw__pool *pw__pool_first(void) { return atomic_load(&pools_head); }

bool pw__pool_has_events(const pw__pool *p) {
  return atomic_load(&p->used) &&
         (p->connects || pw__counter_get(&p->checkouts) || p->failed_checkouts || p->size);
}

const char *pw__pool_kind_name(pw__pool_kind kind) {
  switch (kind) {
    case PW__POOL_LIBPQ: return "libpq";
    case PW__POOL_LIBZDB: return "libzdb";
    case PW__POOL_API: return "api";
    case PW__POOL_SQLALCHEMY: return "sqlalchemy";
    case PW__POOL_PSYCOPG2: return "psycopg2.pool";
    case PW__POOL_PSYCOPG_POOL: return "psycopg_pool";
    case PW__POOL_ACTIVERECORD: return "activerecord";
    case PW__POOL_DBI: return "dbi";
  }
  return "unknown";
}

bool pw__pool_kind_parse(const char *name, pw__pool_kind *kind) {
  for (pw__pool_kind k = PW__POOL_LIBPQ; k <= PW__POOL_DBI; k++) {
    if (name && strcmp(name, pw__pool_kind_name(k)) == 0) {
      *kind = k;
      return true;
    }
  }
  return false;
}

bool pw__pool_kind_is_library(pw__pool_kind kind) { return kind > PW__POOL_API; }

bool pw__pool_kind_must_close(pw__pool_kind kind) {
  return kind == PW__POOL_LIBZDB || kind == PW__POOL_API;
}

static pw__pool *lookup(const void *key) {
  for (pw__pool *p = atomic_load(&pools_head); p; p = atomic_load(&p->next))
    if (p->key == key && p != &libpq_pool) return p;
  return NULL;
}

pw__pool *pw__pool_find_existing(const void *key) { return lookup(key); }

void pw__pool_retire(pw__pool *pool) {
  static const char retired;
  pool->key = &retired;
}

pw__pool *pw__pool_find(const void *key, pw__pool_kind kind, const char *name) {
  /* Pools are few and never removed: readers walk the list without a lock
   * and only creation is serialized. */
  pw__pool *p = lookup(key);
  if (p) return p;
  pthread_mutex_lock(&create_lock);
  p = lookup(key);
  if (!p && (p = aligned_alloc(_Alignof(pw__pool), sizeof(*p)))) {
    memset(p, 0, sizeof(*p));
    p->key = key;
    p->kind = kind;
    /* A pool named by its URL ("postgresql://app:secret@db/shop") would
     * carry the password into every report, log line and metric label. */
    char *safe = pw__redact_text(name ? name : "");
    snprintf(p->name, sizeof(p->name), "%s", safe ? safe : "***");
    free(safe);
    atomic_init(&p->configured_size, -1);
    atomic_init(&p->max_size, -1);
    /* Append, so reports list pools in the order the program made them. */
    pw__pool *tail = &libpq_pool;
    while (atomic_load(&tail->next)) tail = atomic_load(&tail->next);
    atomic_store(&tail->next, p);
  }
  pthread_mutex_unlock(&create_lock);
  return p;
}

__thread pw__pool_cells pw__pool_cells_last __attribute__((tls_model("initial-exec")));

pw__pool_cells *pw__pool_cells_find(pw__pool *pool) {
  pw__pool_cells found = {
    .pool = pool, .generation = pw__cells_generation,
    .checkouts = pw__cells_mine(&pool->checkouts.cells, sizeof(uint64_t)),
    .checkins = pw__cells_mine(&pool->checkins.cells, sizeof(uint64_t)),
    .wait = pw__histogram_mine(&pool->wait),
    .hold = pw__histogram_mine(&pool->hold),
    .connect = pw__histogram_mine(&pool->connect),
  };
  if (!found.checkouts || !found.checkins || !found.wait || !found.hold || !found.connect)
    return NULL;
  pw__pool_cells_last = found;
  return &pw__pool_cells_last;
}

void pw__pool_set_libpq_size(long size) { atomic_store(&libpq_pool.configured_size, size); }

void pw__pool_metrics_get(pw__pool *p, pw__pool_metrics *m) {
  long open = atomic_load(&p->size);
  m->size = open;
  m->configured_size = atomic_load(&p->configured_size);
  m->max_size = atomic_load(&p->max_size);
  m->peak_size = atomic_load(&p->peak_size);
  if (p->kind == PW__POOL_LIBPQ) {
    m->checked_out = m->size;
    m->peak_checked_out = m->peak_size;
  } else {
    m->checked_out = atomic_load(&p->checked_out);
    m->peak_checked_out = atomic_load(&p->peak_checked_out);
  }
  m->checked_in = open > m->checked_out ? open - m->checked_out : 0;
  /* A language's own pool speaks its library's words (SQLAlchemy's
   * QueuePool): pool.size is its configured size, overflow what the
   * library calls overflow. */
  if (pw__pool_kind_is_library(p->kind) && m->configured_size >= 0) m->size = m->configured_size;
  if (atomic_load(&p->has_library_overflow))
    m->overflow = atomic_load(&p->library_overflow);
  else
    m->overflow = m->configured_size >= 0 && open > m->configured_size
                      ? open - m->configured_size : 0;
  uint64_t waits, waited_ns;
  pw__histogram_totals(&p->wait, &waits, &waited_ns);
  m->wait_time = waits ? (double)waited_ns / (double)waits / 1e9 : 0;
}

void pw__pool_reset_all(void) {
  for (pw__pool *p = atomic_load(&pools_head); p; p = atomic_load(&p->next)) {
    atomic_store(&p->size, 0);
    atomic_store(&p->checked_out, 0);
    atomic_store(&p->peak_size, 0);
    atomic_store(&p->peak_checked_out, 0);
#define PW__COUNTER_RESET(name, kind) pw__counter_reset_##kind(&p->name);
    PW__POOL_COUNTERS(PW__COUNTER_RESET)
#undef PW__COUNTER_RESET
    atomic_store(&p->used, false);
    pw__histogram_reset(&p->wait);
    pw__histogram_reset(&p->hold);
    pw__histogram_reset(&p->connect);
  }
}

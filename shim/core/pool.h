/* Pools and their metrics. A pool is the implicit `libpq` pool, a libzdb
 * ConnectionPool_T, or a pool named through poolwatch.h. Metrics are
 * updated by the thread that causes the event, so no lock is taken on the
 * hot path: the checkout and checkin counts and the wait and hold times
 * in cells per thread (plain adds, summed when read), the rarer counts and
 * the gauges as atomics. Pools are never freed, so pointers to them stay
 * valid. */
#ifndef POOLWATCH_POOL_H
#define POOLWATCH_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/histogram.h"
#include "core/thread_cells.h"

typedef enum pw__pool_kind {
  PW__POOL_LIBPQ,
  PW__POOL_LIBZDB,
  PW__POOL_API,
  PW__POOL_SQLALCHEMY,    /* SQLAlchemy's pools, seen through its pool events */
  PW__POOL_PSYCOPG2,      /* psycopg2.pool's SimpleConnectionPool and ThreadedConnectionPool */
  PW__POOL_PSYCOPG_POOL,  /* psycopg 3's psycopg_pool.ConnectionPool */
  PW__POOL_ACTIVERECORD,  /* ActiveRecord's ConnectionPool (Ruby) */
  PW__POOL_DBI,           /* Perl DBI's connect_cached */
} pw__pool_kind;

/* Each pool's counters, in one list: the field, its key under the
 * report's "counters" and its word in the text report, and how it is
 * kept: `cell` for the hot path's counts (per-thread cells, plain adds,
 * summed when read), `atomic` for the rarer ones. connects counts
 * attempts, failed_connects is a subset of it; checkouts counts successful
 * checkouts, failed_checkouts is counted apart. */
#define PW__POOL_COUNTERS(X)  \
  X(connects, atomic)         \
  X(failed_connects, atomic)  \
  X(closes, atomic)           \
  X(reconnects, atomic)       \
  X(checkouts, cell)          \
  X(failed_checkouts, atomic) \
  X(checkins, cell)

/* The type, reading and reset of each way of keeping a counter. */
typedef _Atomic uint64_t pw__counter_atomic;
typedef pw__counter pw__counter_cell;
static inline uint64_t pw__counter_read_atomic(const pw__counter_atomic *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}
static inline uint64_t pw__counter_read_cell(const pw__counter_cell *c) { return pw__counter_get(c); }
static inline void pw__counter_reset_atomic(pw__counter_atomic *c) { atomic_store(c, 0); }
static inline void pw__counter_reset_cell(pw__counter_cell *c) { pw__counter_zero(c); }

typedef struct pw__pool {
  const void *_Atomic key; /* ConnectionPool_T, or the pool handle for API pools */
  char name[64];
  pw__pool_kind kind;
  _Atomic long configured_size; /* -1: unknown */
  _Atomic long max_size;        /* -1: unknown */
#define PW__COUNTER_FIELD(name, kind) pw__counter_##kind name;
  PW__POOL_COUNTERS(PW__COUNTER_FIELD)
#undef PW__COUNTER_FIELD
  _Atomic bool started, stopped;
  _Atomic bool used;
  _Atomic long held_too_long; /* checkouts over the threshold right now */
  /* pool.overflow as the pool's library defines it (SQLAlchemy's
   * QueuePool.overflow() is negative while the pool is below its size),
   * when the library reports it; else it is derived from the sizes. */
  _Atomic long library_overflow;
  _Atomic bool has_library_overflow;
  pw__histogram wait, hold, connect;
  struct pw__pool *_Atomic next;
  /* The gauges change on every checkout and checkin, from every thread
   * that uses the pool: on a cache line of their own, so that line's
   * trips between cores do not take the fields above with them (every
   * hook reads the key and the cells' list heads). */
  _Alignas(64) _Atomic long size; /* connections holding a server connection */
  _Atomic long checked_out;       /* unused for libpq: every connection is in use */
  _Atomic long peak_size;
  _Atomic long peak_checked_out; /* the struct's size rounds up: nothing follows on the line */
} pw__pool;

/* The calling thread's cells of a pool's hot metrics: the checkout and
 * checkin counts and the wait, hold and connect times. A checkout, a
 * checkin and a connect touch two each; a thread working one pool finds
 * them all with one compare (a lookup in the thread's cell table is about
 * fifteen instructions). */
typedef struct pw__pool_cells {
  const pw__pool *pool;
  unsigned generation; /* pw__cells_generation when found */
  _Atomic uint64_t *checkouts, *checkins;
  pw__histogram_cell *wait, *hold, *connect;
} pw__pool_cells;

extern __thread pw__pool_cells pw__pool_cells_last __attribute__((tls_model("initial-exec")));
/* The miss: the five cells looked up; NULL when memory runs out. */
pw__pool_cells *pw__pool_cells_find(pw__pool *pool);

static inline pw__pool_cells *pw__pool_cells_mine(pw__pool *pool) {
  pw__pool_cells *c = &pw__pool_cells_last;
  if (__builtin_expect(c->pool == pool && c->generation == pw__cells_generation, 1)) return c;
  return pw__pool_cells_find(pool);
}

/* Snapshot of one pool's contract metrics. */
typedef struct pw__pool_metrics {
  long size, checked_out, checked_in, overflow;
  double wait_time; /* mean seconds */
  long configured_size, max_size;
  long peak_size, peak_checked_out;
} pw__pool_metrics;

/* The implicit pool of connections the program opened itself. */
pw__pool *pw__pool_libpq(void);
/* Finds or creates the pool with KEY (never NULL for a non-NULL key unless
 * memory runs out). NAME is used only when creating. */
pw__pool *pw__pool_find(const void *key, pw__pool_kind kind, const char *name);
/* The live pool with KEY, or NULL. */
pw__pool *pw__pool_find_existing(const void *key);
/* KEY's object is gone (libzdb's ConnectionPool_free): the record stays
 * for the report, but a new pool at the same address is a new pool. */
void pw__pool_retire(pw__pool *pool);
/* First pool in creation order; walk with ->next. */
pw__pool *pw__pool_first(void);
/* Used, and some of its events stayed with it: a pool whose every
 * connection was adopted by an annotated pool has nothing to say. */
bool pw__pool_has_events(const pw__pool *p);
const char *pw__pool_kind_name(pw__pool_kind kind);
/* The kind named NAME (as pw__pool_kind_name spells it); false if unknown. */
bool pw__pool_kind_parse(const char *name, pw__pool_kind *kind);
/* Is a pool of KIND still open at exit a bug in its library's own
 * practice? libzdb pools and annotated pools are stopped by their
 * programs; nobody disposes a SQLAlchemy engine or closes a Python pool
 * at exit, and the interpreter's shutdown closes their connections. */
bool pw__pool_kind_must_close(pw__pool_kind kind);
/* Whether KIND is a pool of a language's library (every kind after
 * PW__POOL_API), whose metrics keep that library's meaning. */
bool pw__pool_kind_is_library(pw__pool_kind kind);

void pw__pool_metrics_get(pw__pool *p, pw__pool_metrics *m);
/* Adds DELTA to a gauge and raises its peak. Inline: once a connect. */
static inline void pw__pool_gauge_add(_Atomic long *gauge, _Atomic long *peak, long delta) {
  long now = atomic_fetch_add_explicit(gauge, delta, memory_order_relaxed) + delta;
  long seen = atomic_load_explicit(peak, memory_order_relaxed);
  while (now > seen && !atomic_compare_exchange_weak_explicit(
                           peak, &seen, now, memory_order_relaxed, memory_order_relaxed)) {
  }
}
/* After fork(): the child starts with empty metrics, its inherited
 * connections are the parent's. */
void pw__pool_reset_all(void);
/* The configured size used for libpq's overflow (POOLWATCH_POOL_SIZE). */
void pw__pool_set_libpq_size(long size);

#endif

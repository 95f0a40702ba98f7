/* The annotation API of poolwatch.h: home-grown pools report their own
 * events. These are the versioned entry points the header's weak
 * references bind to when libpoolwatch.so is preloaded. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "hooks/guard.h"
#include "hooks/lifecycle.h"
#include "poolwatch.h"
#include "core/registry.h"
#include "core/source_frames.h"

/* A pw_pool handle is the pw__pool itself. Pools are looked up by name
 * once, at declaration; later calls pass the handle. */
static pthread_mutex_t declare_lock = PTHREAD_MUTEX_INITIALIZER;

static pw__pool *core(pw_pool *pool) { return (pw__pool *)pool; }

static pw_pool *declare(pw__pool_kind kind, const char *name, int size, int max_size) {
  if (!name) return NULL;
  int saved = errno;
  pw__init();
  pthread_mutex_lock(&declare_lock);
  pw__pool *pool = NULL;
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next))
    if (p->kind == kind && strcmp(p->name, name) == 0) pool = p;
  if (!pool) {
    /* The key only has to be unique: the name's own copy serves. */
    char *key = strdup(name);
    pool = key ? pw__pool_find(key, kind, name) : NULL;
    /* Out of memory: the program's calls with a NULL handle are forwarded
     * as no-ops, the same as without poolwatch. */
    if (!pool) free(key);
  }
  pthread_mutex_unlock(&declare_lock);
  if (pool) {
    atomic_store(&pool->configured_size, size >= 0 ? size : -1);
    atomic_store(&pool->max_size, max_size >= 0 ? max_size : -1);
    atomic_store(&pool->started, true);
    atomic_store(&pool->stopped, false);
    atomic_store(&pool->used, true);
  }
  errno = saved;
  return (pw_pool *)pool;
}

PW__EXPORT pw_pool *pw_v1_pool_declare(const char *name, int size, int max_size) {
  return declare(PW__POOL_API, name, size, max_size);
}

/* Only the kinds a language runtime's pools report through this API; the
 * libpq and libzdb pools are poolwatch's own to declare. */
PW__EXPORT pw_pool *pw_v1_pool_declare_kind(const char *kind, const char *name, int size,
                                            int max_size) {
  pw__pool_kind k;
  if (!pw__pool_kind_parse(kind, &k) || k == PW__POOL_LIBPQ || k == PW__POOL_LIBZDB)
    k = PW__POOL_API;
  return declare(k, name, size, max_size);
}

PW__EXPORT void pw_v1_pool_overflow(pw_pool *pool, long overflow) {
  if (!pool) return;
  atomic_store(&core(pool)->library_overflow, overflow);
  atomic_store(&core(pool)->has_library_overflow, true);
}

PW__EXPORT void pw_v1_source_hide(const char *path_prefix) {
  int saved = errno;
  pw__source_hide(path_prefix);
  errno = saved;
}

PW__EXPORT long pw_v1_census(void) {
  int saved = errno;
  long marked = (long)pw__census_take();
  errno = saved;
  return marked;
}

/* Unlike libzdb's stop, a home-grown pool's close cannot take back the
 * connections the program still holds: they stay leaked checkouts. */
PW__EXPORT void pw_v1_pool_close(pw_pool *pool) {
  if (pool) atomic_store(&core(pool)->stopped, true);
}

/* Wait time runs from begin to end on the same thread. */
static __thread uint64_t checkout_started_ns __attribute__((tls_model("initial-exec")));

PW__EXPORT void pw_v1_checkout_begin(pw_pool *pool) {
  if (pool) checkout_started_ns = pw__now_ns();
}

static void checkout_end(pw_pool *pool, const void *conn, uint64_t start, uint64_t end) {
  if (conn)
    pw__checkout_done(core(pool), conn, pw__capture(), start, end);
  else
    pw__checkout_failed(core(pool), pw__capture(), start, end);
}

PW__EXPORT void pw_v1_checkout_end(pw_pool *pool, const void *conn) {
  if (!pool) return;
  int saved = errno;
  uint64_t end = pw__now_ns();
  uint64_t start = checkout_started_ns ? checkout_started_ns : end;
  checkout_started_ns = 0;
  checkout_end(pool, conn, start, end);
  errno = saved;
}

PW__EXPORT void pw_v1_checkout_waited(pw_pool *pool, const void *conn, double waited_seconds) {
  if (!pool) return;
  int saved = errno;
  uint64_t end = pw__now_ns();
  /* Not a NaN, not negative, not before the clock began. */
  double waited = waited_seconds > 0 ? waited_seconds * 1e9 : 0;
  uint64_t waited_ns = waited < (double)end ? (uint64_t)waited : end;
  checkout_end(pool, conn, end - waited_ns, end);
  errno = saved;
}

PW__EXPORT void pw_v1_checkin(pw_pool *pool, const void *conn, int in_transaction) {
  if (!pool || !conn) return;
  int saved = errno;
  /* Like libzdb's checkin: the stack only matters for a finding. */
  pw__checkout_record taken;
  bool found = pw__checkin_take(conn, &taken, NULL);
  const pw__stack *stack = in_transaction || !found ? pw__capture() : NULL;
  pw__checkin_account(core(pool), conn, found ? &taken : NULL, stack, in_transaction != 0);
  errno = saved;
}

PW__EXPORT void pw_v1_conn_opened(pw_pool *pool, const void *conn, int ok) {
  if (!pool) return;
  int saved = errno;
  /* A pool that opens its connections with libpq: poolwatch already
   * tracks that PGconn (as the libpq pool's); it moves to this pool, and
   * PQfinish will close it there. Other connections are counted here. */
  if (conn && pw__conn_adopt(conn, core(pool))) {
    pw__handle_bind(conn, conn, core(pool));
  } else {
    uint64_t now = pw__now_ns();
    pw__pool_conn_opened(core(pool), ok != 0, now, now);
  }
  errno = saved;
}

PW__EXPORT void pw_v1_conn_closed(pw_pool *pool, const void *conn) {
  if (!pool) return;
  int saved = errno;
  const void *bound_conn;
  pw__pool *bound_pool;
  bool checked_out;
  if (conn && pw__handle_lookup(conn, &bound_conn, &bound_pool, &checked_out)) {
    /* An adopted PGconn: PQfinish accounts for its close. */
    if (checked_out) pw__checkout_closed(core(pool), conn, pw__capture());
    pw__handle_unbind(conn);
  } else {
    pw__pool_conn_closed(core(pool), conn, pw__capture());
  }
  errno = saved;
}

/* libzdb's connection pool, interposed (Debian libzdb-dev, 3.1).
 *
 * ConnectionPool_getConnection is a checkout: libzdb 3.1 never blocks in
 * it; it hands out an idle connection, opens a new one while holding the
 * pool's lock, or returns NULL at once when the pool is at its maximum, so
 * wait time is the time inside the call and NULL is an exhausted pool.
 * Connection_close calls ConnectionPool_returnConnection through the PLT:
 * one checkin, not two. libzdb rolls back an open transaction on return,
 * so the transaction state is read before forwarding. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <zdb/zdb.h>

#include "common/clock.h"
#include "hooks/guard.h"
#include "hooks/lifecycle.h"
#include "core/registry.h"
#include "hooks/resolve.h"

/* Not in libzdb's public headers, but exported and called through the
 * PLT by the pool: creating a Connection_T is where its PGconn is opened. */
Connection_T Connection_new(void *pool, char **error);
void Connection_free(Connection_T *connection);

/* libzdb is found wherever it is loaded (NULL: no particular caller); the
 * libpq it uses, in libzdb's own scope. */
PW__REAL(ConnectionPool_start)
PW__REAL(ConnectionPool_stop)
PW__REAL(ConnectionPool_free)
PW__REAL(ConnectionPool_setInitialConnections)
PW__REAL(ConnectionPool_setMaxConnections)
PW__REAL(ConnectionPool_getInitialConnections)
PW__REAL(ConnectionPool_getMaxConnections)
PW__REAL(ConnectionPool_getConnection)
PW__REAL(ConnectionPool_returnConnection)
PW__REAL(Connection_close)
PW__REAL(Connection_new)
PW__REAL(Connection_free)
PW__REAL(PQtransactionStatus)

static const void *libzdb_code_address(void) { return (const void *)real_Connection_close(NULL); }

static _Atomic int pools_seen;

/* The pool's record, or NULL when it cannot be allocated: every hook then
 * forwards the call untouched and records nothing. One failed allocation
 * here once left the hooks writing through a NULL pool (SIGSEGV in 6 of
 * 692 allocation-failure injections). */
static pw__pool *pool_of(ConnectionPool_T p) {
  pw__pool *existing = pw__pool_find_existing(p);
  if (existing) return existing;
  char name[32];
  int n = atomic_fetch_add(&pools_seen, 1) + 1;
  if (n == 1)
    snprintf(name, sizeof(name), "libzdb");
  else
    snprintf(name, sizeof(name), "libzdb-%d", n);
  return pw__pool_find(p, PW__POOL_LIBZDB, name);
}

/* The configured size is libzdb's initial connections, the maximum its
 * max connections; read back from the pool whenever they may change. */
static void read_sizes(ConnectionPool_T p, pw__pool *pool) {
  if (real_ConnectionPool_getInitialConnections(NULL))
    atomic_store(&pool->configured_size, real_ConnectionPool_getInitialConnections(NULL)(p));
  if (real_ConnectionPool_getMaxConnections(NULL))
    atomic_store(&pool->max_size, real_ConnectionPool_getMaxConnections(NULL)(p));
}

/* libzdb's own code. Its internal calls to hooked functions (Connection_close
 * calls ConnectionPool_returnConnection through the PLT) are told from the
 * program's by where they come from: a depth counter would be left wrong
 * by libzdb's exceptions, which longjmp out of a call. A checkin asks
 * twice, so the two code ranges are found once and then compared inline. */
static struct {
  _Atomic bool known;
  uintptr_t libzdb_begin, libzdb_end, own_begin, own_end;
} code;

/* Threads may race to store the same values; `known` is set after them. */
static __attribute__((noinline)) bool find_code(void) {
  uintptr_t zb, ze, ob, oe;
  int saved = errno;
  bool found = pw__text_range((const void *)real_ConnectionPool_getConnection(NULL), &zb, &ze) &&
               pw__text_range((const void *)&find_code, &ob, &oe);
  errno = saved;
  if (!found) return false;
  code.libzdb_begin = zb;
  code.libzdb_end = ze;
  code.own_begin = ob;
  code.own_end = oe;
  atomic_store_explicit(&code.known, true, memory_order_release);
  return true;
}

static inline bool code_known(void) {
  return atomic_load_explicit(&code.known, memory_order_acquire) || find_code();
}

/* A call made inside libzdb's own call: from its code, or (when libzdb
 * tail-calls, as Connection_close does ConnectionPool_returnConnection)
 * seemingly from the poolwatch hook that called it. */
static inline bool internal_call(const void *caller) {
  uintptr_t at = (uintptr_t)caller;
  return code_known() && (at - code.libzdb_begin < code.libzdb_end - code.libzdb_begin ||
                          at - code.own_begin < code.own_end - code.own_begin);
}

/* Runs the pool's own call with connections opened from libzdb's code
 * belonging to POOL. Returns the previous owner, to restore afterwards. */
static inline pw__pool *inside(pw__pool *pool) {
  pw__pool *previous = pw__thread.inside_pool;
  if (!code_known()) return previous; /* no libzdb code to tell apart */
  pw__thread.inside_pool = pool;
  pw__thread.inside_begin = code.libzdb_begin;
  pw__thread.inside_end = code.libzdb_end;
  return previous;
}

PW__EXPORT void ConnectionPool_start(ConnectionPool_T p) {
  if (!real_ConnectionPool_start(NULL)) return;
  int saved = errno;
  pw__init();
  pw__pool *pool = pool_of(p);
  if (!pool) {
    errno = saved;
    real_ConnectionPool_start(NULL)(p);
    return;
  }
  read_sizes(p, pool);
  pw__pool *previous = inside(pool);
  errno = saved;
  real_ConnectionPool_start(NULL)(p);
  inside(previous);
  atomic_store(&pool->started, true);
  atomic_store(&pool->stopped, false);
}

PW__EXPORT void ConnectionPool_stop(ConnectionPool_T p) {
  if (!real_ConnectionPool_stop(NULL)) return;
  int saved = errno;
  pw__init();
  pw__pool *pool = pool_of(p);
  if (!pool) {
    errno = saved;
    real_ConnectionPool_stop(NULL)(p);
    return;
  }
  /* Checkouts still out are closed under the program's feet. */
  if (atomic_load(&pool->started) && !atomic_load(&pool->stopped))
    pw__pool_stopped(pool, pw__capture());
  pw__pool *previous = inside(pool);
  errno = saved;
  real_ConnectionPool_stop(NULL)(p);
  inside(previous);
}

PW__EXPORT void ConnectionPool_free(ConnectionPool_T *p) {
  if (!real_ConnectionPool_free(NULL)) return;
  pw__pool *pool = p && *p ? pw__pool_find_existing(*p) : NULL;
  real_ConnectionPool_free(NULL)(p);
  /* The address may be reused by the next pool, which is a new pool. */
  if (pool) pw__pool_retire(pool);
}

PW__EXPORT void ConnectionPool_setInitialConnections(ConnectionPool_T p, int connections) {
  if (!real_ConnectionPool_setInitialConnections(NULL)) return;
  real_ConnectionPool_setInitialConnections(NULL)(p, connections);
  int saved = errno;
  pw__init();
  pw__pool *pool = pool_of(p);
  if (pool) read_sizes(p, pool);
  errno = saved;
}

PW__EXPORT void ConnectionPool_setMaxConnections(ConnectionPool_T p, int connections) {
  if (!real_ConnectionPool_setMaxConnections(NULL)) return;
  real_ConnectionPool_setMaxConnections(NULL)(p, connections);
  int saved = errno;
  pw__init();
  pw__pool *pool = pool_of(p);
  if (pool) read_sizes(p, pool);
  errno = saved;
}

/* Connection_new opens the PGconn (through PQconnectdb, recorded by the
 * libpq hooks as the pool's); remember which PGconn the Connection_T
 * wraps, to read its transaction state at checkin. */
PW__EXPORT Connection_T Connection_new(void *p, char **error) {
  if (!real_Connection_new(NULL)) return NULL;
  const void *outer_opened = pw__thread.opened;
  pw__thread.opened = NULL;
  Connection_T c = real_Connection_new(NULL)(p, error);
  pw__pool *owner = pw__owning_pool(__builtin_return_address(0));
  int saved = errno;
  if (c && pw__thread.opened && owner) pw__handle_bind(c, pw__thread.opened, owner);
  errno = saved;
  pw__thread.opened = outer_opened;
  return c;
}

PW__EXPORT void Connection_free(Connection_T *c) {
  if (!real_Connection_free(NULL)) return;
  int saved = errno;
  if (c && *c) {
    const void *conn;
    pw__pool *pool = NULL;
    bool checked_out = false;
    if (pw__handle_lookup(*c, &conn, &pool, &checked_out)) {
      if (checked_out) pw__checkout_closed(pool, *c, pw__capture());
      pw__handle_unbind(*c);
    }
  }
  errno = saved;
  real_Connection_free(NULL)(c);
}

PW__EXPORT Connection_T ConnectionPool_getConnection(ConnectionPool_T p) {
  if (!real_ConnectionPool_getConnection(NULL)) return NULL;
  int entry_errno = errno;
  pw__init();
  pw__pool *pool = pool_of(p);
  if (!pool) {
    errno = entry_errno;
    return real_ConnectionPool_getConnection(NULL)(p);
  }
  errno = entry_errno;
  pw__pool *previous = inside(pool);
  uint64_t start = pw__now_ns();
  Connection_T c = real_ConnectionPool_getConnection(NULL)(p);
  uint64_t end = pw__now_ns();
  inside(previous);
  int saved = errno;
  if (c)
    pw__checkout_done(pool, c, pw__capture(), start, end);
  else
    pw__checkout_failed(pool, pw__capture(), start, end);
  errno = saved;
  return c;
}

/* Both checkin paths. The checkin is recorded before forwarding: once
 * returned, the connection can be handed to another thread at once, and
 * its checkout must not be mistaken for this one. POOL is NULL for
 * Connection_close, which does not name its pool. */
static void checkin(pw__pool *pool, Connection_T c) {
  if (!c) return;
  int saved = errno;
  pw__checkout_record taken;
  const void *conn = NULL;
  bool found = pw__checkin_take(c, &taken, &conn);
  bool in_transaction = false;
  if (conn && real_PQtransactionStatus(libzdb_code_address())) {
    PGTransactionStatusType status = real_PQtransactionStatus(libzdb_code_address())((PGconn *)conn);
    in_transaction = status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
  }
  /* The stack is only needed for a finding: skip the capture otherwise. */
  const pw__stack *stack = in_transaction || !found ? pw__capture() : NULL;
  if (!found && !pool) { /* a double Connection_close: name the pool it came from */
    bool checked_out;
    pw__handle_lookup(c, &conn, &pool, &checked_out);
  }
  pw__checkin_account(pool, c, found ? &taken : NULL, stack, in_transaction);
  errno = saved;
}

PW__EXPORT void ConnectionPool_returnConnection(ConnectionPool_T p, Connection_T c) {
  if (!real_ConnectionPool_returnConnection(NULL)) return;
  /* Connection_close's own call, every checkin's second hook: forwarded
   * at once (the check leaves errno alone). */
  if (!internal_call(__builtin_return_address(0))) {
    int saved = errno;
    pw__init();
    pw__pool *pool = pool_of(p);
    if (pool) checkin(pool, c);
    errno = saved;
  }
  real_ConnectionPool_returnConnection(NULL)(p, c);
}

PW__EXPORT void Connection_close(Connection_T c) {
  if (!real_Connection_close(NULL)) return;
  pw__init();
  if (!internal_call(__builtin_return_address(0))) checkin(NULL, c);
  real_Connection_close(NULL)(c);
}
